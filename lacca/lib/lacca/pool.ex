defmodule Lacca.Pool do
  @moduledoc """
  A small pool of prepared sandboxes, so that a start does not wait for resin to start nor for
  its sandbox to be built.

  Starting a command costs spawning `resin --port`, its `Hello`/`HelloReply`, building the sandbox
  (namespaces, mount tree, cgroups, network, identity), then the command (`docs/performance.md`).
  The pool pays all but the last ahead: it keeps resins that have answered `Hello` and `Prepare`
  (protocol 3) and wait, sandbox built, for their command; it refills them in the background.
  `Lacca.start/3` takes one when it can (the port is handed to the new Lacca process with
  `Port.connect/2`, which sends `Start` with the command, its `:env` and its `:cd`). When its stock
  is empty but a sandbox for it is being prepared that no other start waits for, it waits for that
  one (at most 2 s): one partly built is ready sooner than one built from nothing. Otherwise it
  opens its own resin and sends `StartProcess` as it always did: an empty, disabled or absent pool
  only means the slower path. Both paths give the
  command the same sandbox, environment and working directory, and the same exit: wall time and
  usage count from the command's start, not from when its sandbox was built.

  Ownership does not change: once taken, a resin belongs to its Lacca process exactly like one it
  opened itself (the port is linked to it and no longer to the pool), so a dying owner, a dying
  Lacca process or a dying BEAM stops its sandbox as before. An idle entry runs no command, but it
  holds a whole sandbox (resin, the sandbox's init, its cgroup): the pool owns its port, and when
  the pool dies (or the BEAM does) the port closes and resin tears the sandbox down and exits.

  ## Stocks

  Entries are grouped in stocks by `{resin_path, Lacca.Pool.Entry.key(config_json)}`: one stock
  per config, each holding sandboxes built for it. The config is the start's config with its
  `:timeout` (which is a limit of the sandbox) but without its `:cd` and `:env`, which `Start`
  carries: starts that differ only in those draw from the same stock.

  A stock exists (is *armed*) for the `:prewarm` configs from the start, and for any other config
  from its first start. A stock whose config has not been started for `:idle_timeout_ms` is
  closed and not refilled until the next start that needs it. When `:max_total` is reached, a
  stock that wants entries takes one from a stock holding at least two more, and an empty stock
  takes one from any stock drawn from less recently than itself: every config in use gets a
  share, and the configs in use displace those that are not.

  A config that binds host paths of its own (any `filesystem.mounts`) or extends a profile file by
  its path is never pooled: a sandbox prepared ahead would bind the directories, and read the
  profile, as they were when it was prepared, and a job directory made again since (or a profile
  edited since) would be missed. Such starts take the unpooled path. The shipped profiles, by name,
  with limits, env, cwd or timeout of their own, are pooled.

  If resin refuses to prepare a config (it is invalid, or this host cannot enforce it), that stock
  is disarmed: its entries are closed, and for a minute starts with that config take the unpooled
  path, where `StartProcess` reports the refusal to the caller as it always did; other stocks are
  not affected. `info/0` lists such stocks under `:refused`.

  Starts with an explicit `resin:` option, or `pool: false`, never use the pool.

  ## Configuration

  `config :lacca, :pool, ...` (read when the application starts):

    * `:enabled` — `true` (default) or `false` (no pool process at all).
    * `:max_per_config` — prepared sandboxes kept per stock. Default 2.
    * `:max_total` — prepared and preparing sandboxes kept in all, over every stock. Default 8.
    * `:idle_timeout_ms` — a stock not drawn from for this long is closed. Default 300 000
      (5 minutes); `:infinity` keeps it for ever.
    * `:prewarm` — configs (anything `:config` takes) whose stocks exist from the start. Default:
      the shipped profiles, `[:default, :trusted, :build, :"network-client"]`.
    * `:retry_ms` — after a resin fails to start or to answer `Hello`, the pool waits this long
      before it tries again, twice as long after each further failure in a row (at most a
      minute); it logs a warning at the first. Default 1000.
    * `:refill_delay_ms` — after a start takes a sandbox from a stock that still holds another,
      the pool waits this long before it prepares a replacement, so that building it does not
      compete with the start for the CPU; a stock left empty is refilled at once. 0: always at
      once. Default 20.

      iex> Lacca.Pool.info().enabled
      true
      iex> {:ok, _} = Lacca.run("true")
      iex> Lacca.Pool.info().max_total
      8
  """

  use GenServer

  require Logger

  alias Lacca.{Config, Resin}
  alias Lacca.Pool.Entry

  @defaults [
    enabled: true,
    max_per_config: 2,
    max_total: 8,
    idle_timeout_ms: 300_000,
    prewarm: [:default, :trusted, :build, :"network-client"],
    retry_ms: 1_000,
    refill_delay_ms: 20
  ]

  @checkout_timeout 5_000
  # How long a start waits for a sandbox of its config that is being prepared when none is ready:
  # one nearly built beats building another from nothing, which takes as long as a whole preparation.
  @wait_for_preparing_ms 2_000
  @max_retry_ms 60_000
  @refusal_ms 60_000

  @typedoc "A stock: the resin executable and `Lacca.Pool.Entry.key/1` of the config."
  @type stock_id :: {String.t(), Entry.key()}

  @typedoc "The pool's configuration (see the module doc)."
  @type config :: %{
          enabled: boolean(),
          max_per_config: non_neg_integer(),
          max_total: non_neg_integer(),
          idle_timeout_ms: timeout(),
          prewarm: [Config.t()],
          retry_ms: non_neg_integer(),
          refill_delay_ms: non_neg_integer()
        }

  @typedoc "What `info/0` reports."
  @type info :: %{
          enabled: boolean(),
          ready: %{stock_id() => non_neg_integer()},
          starting: non_neg_integer(),
          resin_os_pids: [non_neg_integer()],
          refused: [stock_id()],
          max_per_config: non_neg_integer(),
          max_total: non_neg_integer()
        }

  ## API

  @doc "The pool's configuration: `config :lacca, :pool` over the defaults; raises if invalid."
  @spec config() :: config()
  def config do
    given = Application.get_env(:lacca, :pool, [])

    unless Keyword.keyword?(given) do
      raise ArgumentError, "config :lacca, :pool must be a keyword list, got: #{inspect(given)}"
    end

    case Keyword.keys(given) -- Keyword.keys(@defaults) do
      [] -> :ok
      unknown -> raise ArgumentError, "unknown keys in config :lacca, :pool: #{inspect(unknown)}"
    end

    config = Map.new(Keyword.merge(@defaults, given))
    Enum.each(config, &check!/1)
    config
  end

  defp check!({:enabled, value}) when is_boolean(value), do: :ok
  defp check!({:prewarm, value}) when is_list(value), do: :ok
  defp check!({:idle_timeout_ms, :infinity}), do: :ok

  defp check!({key, value})
       when key in [:max_per_config, :max_total, :idle_timeout_ms, :retry_ms, :refill_delay_ms] and
              is_integer(value) and value >= 0,
       do: :ok

  defp check!({key, value}),
    do: raise(ArgumentError, "config :lacca, :pool, #{key}: invalid value #{inspect(value)}")

  @doc false
  @spec start_link(keyword()) :: GenServer.on_start()
  def start_link(opts \\ []) do
    {name, opts} = Keyword.pop(opts, :name, __MODULE__)
    GenServer.start_link(__MODULE__, Map.merge(config(), Map.new(opts)), name: name)
  end

  @doc false
  @spec child_spec(keyword()) :: Supervisor.child_spec()
  def child_spec(opts), do: %{id: __MODULE__, start: {__MODULE__, :start_link, [opts]}}

  @doc """
  Takes a prepared sandbox for a start with `opts` (validated `Lacca.Options`) from this node's pool,
  connecting its port to the caller; `:empty` if there is none, the pool is not running, or the
  start asked for its own `resin:` or `pool: false`. Called by the Lacca process as it starts.
  """
  @spec checkout(String.t(), Lacca.Options.t(), GenServer.server()) :: {:ok, Entry.t()} | :empty
  def checkout(path, opts, pool \\ __MODULE__)

  def checkout(path, %{resin: nil, pool: true, prepared_json: json}, pool) do
    if Entry.poolable?(json) and GenServer.whereis(pool),
      do: GenServer.call(pool, {:checkout, path, json}, @checkout_timeout),
      else: :empty
  catch
    :exit, _ -> :empty
  end

  def checkout(_path, _opts, _pool), do: :empty

  @doc """
  What the pool holds: prepared sandboxes per stock, resins still preparing, the OS pids of all
  of their resins, the stocks disarmed because resin refused their config,
  and its bounds. `%{enabled: false}` (and nothing held) if no pool runs on this node.
  """
  @spec info(GenServer.server()) :: info()
  def info(pool \\ __MODULE__) do
    if GenServer.whereis(pool),
      do: GenServer.call(pool, :info),
      else: %{enabled: false, ready: %{}, starting: 0, resin_os_pids: [], refused: []}
  catch
    :exit, _ -> %{enabled: false, ready: %{}, starting: 0, resin_os_pids: [], refused: []}
  end

  @doc "How many prepared sandboxes this node's pool holds, over every stock (0 without a pool)."
  @spec stock(GenServer.server()) :: non_neg_integer()
  def stock(pool \\ __MODULE__), do: info(pool).ready |> Map.values() |> Enum.sum()

  ## GenServer

  defstruct [
    :config,
    # stock_id => %{ready: :queue.queue(Entry.t()), last_take: ms}
    stocks: %{},
    # port => Entry.t(), for resins that have not answered Hello yet
    starting: %{},
    # port => stock_id, for ready resins
    ready: %{},
    # stock_id => when resin refused to prepare its config (monotonic ms): not armed again before
    # @refusal_ms have passed
    refused: %{},
    refill_scheduled: false,
    retry_at: nil,
    # failures in a row: the pause before the next try doubles with each, up to @max_retry_ms
    failures: 0,
    # stock_id => :queue of {from, ref}: checkouts waiting for a sandbox being prepared
    waiters: %{}
  ]

  @impl true
  def init(config) do
    Process.flag(:trap_exit, true)
    state = %__MODULE__{config: config}
    state = Enum.reduce(config.prewarm, state, &prewarm/2)
    schedule_sweep(config)
    {:ok, schedule_refill(state)}
  end

  defp prewarm(config, state) do
    with {:ok, path} <- Resin.path(nil),
         {:ok, json} <- Config.to_json(config) do
      arm(state, {path, Entry.key(json)})
    else
      {:error, error} ->
        Logger.warning(
          "lacca pool: not prewarming #{inspect(config)}: #{Exception.message(error)}"
        )

        state
    end
  end

  @impl true
  def handle_call({:checkout, path, json}, {pid, _} = from, state) do
    id = {path, Entry.key(json)}

    case state.stocks do
      %{^id => stock} ->
        if :queue.is_empty(stock.ready) and waiting(state, id) < preparing(state, id) do
          {:noreply, wait_for_preparing(state, id, from)}
        else
          {reply, state} = take(state, id, pid)
          {:reply, reply, schedule_refill_after_take(state, id)}
        end

      %{} ->
        if refused?(state, id),
          do: {:reply, :empty, state},
          else: {:reply, :empty, schedule_refill(arm(state, id))}
    end
  end

  def handle_call(:info, _from, state) do
    ready = Map.new(state.stocks, fn {id, stock} -> {id, :queue.len(stock.ready)} end)

    pids =
      Enum.map(Map.values(state.starting), & &1.os_pid) ++
        Enum.flat_map(
          Map.values(state.stocks),
          &Enum.map(:queue.to_list(&1.ready), fn e -> e.os_pid end)
        )

    {:reply,
     %{
       enabled: true,
       ready: ready,
       starting: map_size(state.starting),
       resin_os_pids: Enum.reject(pids, &is_nil/1),
       refused: state.refused |> Map.keys() |> Enum.filter(&refused?(state, &1)),
       max_per_config: state.config.max_per_config,
       max_total: state.config.max_total
     }, state}
  end

  @impl true
  def handle_info({port, {:data, packet}}, %{starting: starting} = state)
      when is_map_key(starting, port) do
    {entry, starting} = Map.pop(starting, port)
    state = %{state | starting: starting}

    case Entry.handle_packet(entry, packet) do
      {:waiting, entry} ->
        {:noreply, %{state | starting: Map.put(starting, port, entry)}}

      {:ready, entry} ->
        state = add_ready(%{state | failures: 0}, entry)
        {:noreply, schedule_refill(serve_waiters(state, {entry.path, entry.key}))}

      {:refused, error} ->
        Entry.close(entry)
        state = disarm(%{state | failures: 0}, {entry.path, entry.key}, error)
        {:noreply, schedule_refill(release_waiters(state))}

      {:error, error} ->
        Entry.close(entry)
        {:noreply, release_waiters(failed(state, error))}
    end
  end

  def handle_info({:waiter_timeout, id, ref}, state) do
    queue = Map.get(state.waiters, id, :queue.new())

    case Enum.split_with(:queue.to_list(queue), fn {_from, r} -> r == ref end) do
      {[{from, _}], rest} ->
        GenServer.reply(from, :empty)
        {:noreply, put_waiters(state, id, :queue.from_list(rest))}

      _ ->
        {:noreply, state}
    end
  end

  # A ready resin sends nothing until asked: anything from it means it cannot be used.
  def handle_info({port, message}, state) when is_port(port) do
    {:noreply, schedule_refill(release_waiters(discard(state, port, message)))}
  end

  def handle_info({:EXIT, port, reason}, state) when is_port(port),
    do: {:noreply, schedule_refill(release_waiters(discard(state, port, {:exit, reason})))}

  def handle_info(:refill, state), do: {:noreply, refill(%{state | refill_scheduled: false})}
  def handle_info(:deferred_refill, state), do: {:noreply, schedule_refill(state)}

  def handle_info(:sweep, state) do
    schedule_sweep(state.config)
    {:noreply, sweep(state)}
  end

  def handle_info(_other, state), do: {:noreply, state}

  @impl true
  def terminate(_reason, state) do
    Enum.each(Map.values(state.starting), &Entry.close/1)

    for {_, stock} <- state.stocks, entry <- :queue.to_list(stock.ready), do: Entry.close(entry)

    :ok
  end

  ## Stocks

  defp arm(state, id) do
    stock = %{ready: :queue.new(), last_take: now()}
    %{state | stocks: Map.put_new(state.stocks, id, stock)}
  end

  # resin refused to prepare this stock's config (invalid, or not enforceable on this host): the
  # stock and its entries go, and starts with that config take the unpooled path, where
  # StartProcess reports the same refusal, for @refusal_ms. Other stocks are not affected.
  defp disarm(state, id, error) do
    Logger.debug("lacca pool: resin refused to prepare #{inspect(id)}: #{describe(error)}")

    {stock, stocks} = Map.pop(state.stocks, id)
    closed = if stock, do: :queue.to_list(stock.ready), else: []
    Enum.each(closed, &Entry.close/1)
    now = now()
    refused = for {id, at} <- state.refused, now - at < @refusal_ms, into: %{}, do: {id, at}

    %{
      state
      | stocks: stocks,
        ready: Map.drop(state.ready, Enum.map(closed, & &1.port)),
        refused: Map.put(refused, id, now)
    }
  end

  ## Waiting for a sandbox being prepared

  # One waiter per sandbox being prepared: a start beyond those builds its own at once, so that a
  # burst is not served one preparation at a time.
  defp preparing(state, id),
    do: Enum.count(Map.values(state.starting), &({&1.path, &1.key} == id))

  defp waiting(state, id), do: :queue.len(Map.get(state.waiters, id, :queue.new()))

  defp wait_for_preparing(state, id, from) do
    ref = make_ref()
    Process.send_after(self(), {:waiter_timeout, id, ref}, @wait_for_preparing_ms)
    queue = Map.get(state.waiters, id, :queue.new())
    put_waiters(state, id, :queue.in({from, ref}, queue))
  end

  defp put_waiters(state, id, queue) do
    if :queue.is_empty(queue),
      do: %{state | waiters: Map.delete(state.waiters, id)},
      else: %{state | waiters: Map.put(state.waiters, id, queue)}
  end

  # A sandbox of stock `id` is ready: the longest waiting start whose process still lives takes it.
  defp serve_waiters(state, id) do
    with %{^id => queue} <- state.waiters,
         {{:value, {{pid, _} = from, _ref} = waiter}, rest} <- :queue.out(queue) do
      state = put_waiters(state, id, rest)

      if Process.alive?(pid) do
        case take(state, id, pid) do
          {{:ok, _} = reply, state} ->
            GenServer.reply(from, reply)
            serve_waiters(schedule_refill_after_take(state, id), id)

          {:empty, state} ->
            put_waiters(state, id, :queue.in_r(waiter, rest))
        end
      else
        serve_waiters(state, id)
      end
    else
      _ -> state
    end
  end

  # Waiters for a stock nothing is being prepared for any more (resin refused its config, or failed)
  # take their own path now rather than at their timeout.
  defp release_waiters(state) do
    Enum.reduce(state.waiters, state, fn {id, queue}, state ->
      if preparing(state, id) > 0 do
        state
      else
        for {from, _ref} <- :queue.to_list(queue), do: GenServer.reply(from, :empty)
        put_waiters(state, id, :queue.new())
      end
    end)
  end

  defp refused?(state, id) do
    case state.refused do
      %{^id => at} -> now() - at < @refusal_ms
      %{} -> false
    end
  end

  # Hands over the first ready entry whose resin is still there: connected to `pid`, unlinked
  # from the pool. Its exit, if it came meanwhile, is in this mailbox: such an entry is dropped.
  defp take(state, id, pid) do
    stock = state.stocks[id]
    state = put_in(state.stocks[id].last_take, now())

    case :queue.out(stock.ready) do
      {:empty, _} ->
        {:empty, state}

      {{:value, entry}, rest} ->
        state = %{
          put_in(state.stocks[id].ready, rest)
          | ready: Map.delete(state.ready, entry.port)
        }

        case hand_over(entry, pid) do
          :ok -> {{:ok, entry}, state}
          :dead -> take(state, id, pid)
        end
    end
  end

  defp hand_over(%Entry{port: port} = entry, pid) do
    if exited?(port) do
      Entry.close(entry)
      :dead
    else
      Port.connect(port, pid)
      Process.unlink(port)
      # An exit that raced with the connect: the new owner ignores a port it was never given.
      if exited?(port), do: dead(entry), else: :ok
    end
  rescue
    ArgumentError -> dead(entry)
  end

  defp dead(entry) do
    Entry.close(entry)
    :dead
  end

  defp exited?(port) do
    receive do
      {^port, {:exit_status, _}} -> true
      {:EXIT, ^port, _} -> true
      {^port, {:data, _}} -> true
    after
      0 -> Port.info(port) == nil
    end
  end

  defp add_ready(state, %Entry{path: path, key: key, port: port} = entry) do
    id = {path, key}

    case state.stocks do
      %{^id => stock} ->
        if :queue.len(stock.ready) < state.config.max_per_config do
          stocks = Map.put(state.stocks, id, %{stock | ready: :queue.in(entry, stock.ready)})
          %{state | stocks: stocks, ready: Map.put(state.ready, port, id)}
        else
          Entry.close(entry)
          state
        end

      %{} ->
        Entry.close(entry)
        state
    end
  end

  defp discard(state, port, message) do
    cond do
      Map.has_key?(state.starting, port) ->
        {entry, starting} = Map.pop(state.starting, port)
        Entry.close(entry)
        failed(%{state | starting: starting}, {:resin_exited, message})

      id = state.ready[port] ->
        ready = :queue.filter(&(&1.port != port), state.stocks[id].ready)
        Entry.close(%Entry{port: port})
        %{put_in(state.stocks[id].ready, ready) | ready: Map.delete(state.ready, port)}

      true ->
        state
    end
  end

  # A resin that cannot start (not built, wrong version) fails every time: the pool waits longer
  # after each failure in a row, and says so once, not at every try.
  defp failed(state, error) do
    failures = state.failures + 1
    pause = min(state.config.retry_ms * Integer.pow(2, min(failures - 1, 16)), @max_retry_ms)

    if failures == 1,
      do: Logger.warning("lacca pool: a resin could not be readied: #{describe(error)}")

    %{state | retry_at: now() + pause, failures: failures}
  end

  defp describe(%{__exception__: true} = error), do: Exception.message(error)
  defp describe(other), do: inspect(other)

  # Opens one resin for the armed stock below its bound that holds the fewest, then asks for
  # another round: each message opens one, so a checkout waits for at most one spawn. When the
  # total bound is reached, a stock gives up its oldest entry to one that wants (the least
  # recently drawn from first) if it holds two more, or if the wanting one holds nothing and was
  # drawn from more recently: every config in use gets its share, a config in use displaces one
  # that is not, and entries move only as takes change which was drawn from last.
  defp refill(%{retry_at: retry_at} = state) when retry_at != nil do
    left = retry_at - now()

    if left > 0 do
      Process.send_after(self(), :refill, left)
      %{state | refill_scheduled: true}
    else
      refill(%{state | retry_at: nil})
    end
  end

  defp refill(state) do
    held = map_size(state.starting) + map_size(state.ready)
    starting_per = Enum.frequencies_by(Map.values(state.starting), &{&1.path, &1.key})

    count = fn {id, stock} -> :queue.len(stock.ready) + Map.get(starting_per, id, 0) end

    wanting =
      state.stocks
      |> Enum.filter(&(count.(&1) < state.config.max_per_config))
      |> Enum.min_by(count, fn -> nil end)

    case wanting do
      nil ->
        state

      {{path, key}, _} when held < state.config.max_total ->
        case Entry.open(path, key) do
          {:ok, entry} ->
            schedule_refill(%{state | starting: Map.put(state.starting, entry.port, entry)})

          {:error, error} ->
            failed(state, error)
        end

      {_id, _} = wanting ->
        case evict(state, wanting, count.(wanting)) do
          {:ok, state} -> refill(state)
          :none -> state
        end
    end
  end

  # A victim holds two more than the wanting stock, or the wanting stock holds nothing and the
  # victim, holding something, was drawn from less recently.
  defp evict(state, {wanting_id, wanting}, wanting_count) do
    victims =
      for {id, stock} <- state.stocks,
          id != wanting_id,
          held = :queue.len(stock.ready),
          held >= wanting_count + 2 or
            (wanting_count == 0 and held >= 1 and stock.last_take < wanting.last_take),
          do: {id, stock}

    case victims do
      [] ->
        :none

      _ ->
        {id, stock} = Enum.min_by(victims, fn {_, stock} -> stock.last_take end)
        {{:value, entry}, rest} = :queue.out(stock.ready)
        Entry.close(entry)

        {:ok,
         %{put_in(state.stocks[id].ready, rest) | ready: Map.delete(state.ready, entry.port)}}
    end
  end

  # A start has just taken a sandbox and runs its command: preparing the next one (spawning resin,
  # building a sandbox) now would compete with it for the CPU and the kernel. While its stock still
  # holds one, the refill waits `:refill_delay_ms`; an emptied stock is refilled at once.
  defp schedule_refill_after_take(state, id) do
    delay = state.config.refill_delay_ms

    case state.stocks do
      %{^id => %{ready: ready}} when delay > 0 ->
        if :queue.is_empty(ready) do
          schedule_refill(state)
        else
          Process.send_after(self(), :deferred_refill, delay)
          state
        end

      %{} ->
        schedule_refill(state)
    end
  end

  defp schedule_refill(%{refill_scheduled: true} = state), do: state

  defp schedule_refill(state) do
    send(self(), :refill)
    %{state | refill_scheduled: true}
  end

  ## Idle stocks

  defp schedule_sweep(%{idle_timeout_ms: :infinity}), do: :ok

  defp schedule_sweep(%{idle_timeout_ms: ms}),
    do: Process.send_after(self(), :sweep, max(div(ms, 2), 100))

  defp sweep(%{config: %{idle_timeout_ms: :infinity}} = state), do: state

  defp sweep(state) do
    cutoff = now() - state.config.idle_timeout_ms

    {idle, active} =
      Enum.split_with(state.stocks, fn {_id, stock} -> stock.last_take < cutoff end)

    closed =
      for {_id, stock} <- idle, entry <- :queue.to_list(stock.ready) do
        Entry.close(entry)
        entry.port
      end

    %{state | stocks: Map.new(active), ready: Map.drop(state.ready, closed)}
  end

  defp now, do: System.monotonic_time(:millisecond)
end
