defmodule Lacca.Cluster do
  @moduledoc """
  Where a `node: :auto` start runs: on the connected node running lacca with the most headroom.

  Each node where the lacca application runs has one `Lacca.Cluster` process, a member of the
  `:lacca_nodes` group of lacca's own `:pg` scope (`:lacca_pg`, started in lacca's supervision
  tree). It counts the Lacca processes running on its node and answers `load/0`:

    * `:capacity` — how many sandboxes this node means to run at once: `config :lacca,
      :capacity`, default 500 per online scheduler (1 000 on a 2-core box: the number of
      concurrent sandboxes issue 14 asks one such box to sustain). It is a weight for placement,
      not a limit: a node beyond it still starts what it is asked to.
    * `:running` — Lacca processes alive on the node (started, running or ended but not yet gone).
    * `:stock` — ready resins in its `Lacca.Pool`.

  `node: :auto` asks every member for its load (in parallel, at most 1 s) and starts on the node
  with the largest `capacity - running`; a tie goes to the local node, then to the larger pool
  stock. With no other member, or if the chosen node cannot start the Lacca process (it left,
  or runs no lacca: `:noproc`), the start runs on the local node. The node chosen is the `:node`
  of `Lacca.info/1`.

      iex> {:ok, pid} = Lacca.start("sleep", ["1"], node: :auto)
      iex> {:ok, %{node: node}} = Lacca.info(pid)
      iex> {:ok, _} = Lacca.stop(pid)
      iex> node in [node() | Node.list()]
      true

  A node that leaves takes its sandboxes with it: their Lacca processes end with the node, or, if
  only the connection is lost, when their (remote) owner's monitor reports `:noconnection`; and
  resin stops its tree when its port closes.
  """

  use GenServer

  alias Lacca.{Error, Server}

  @scope :lacca_pg
  @group :lacca_nodes
  @load_timeout 1_000

  @typedoc "What a node advertises: see the module doc."
  @type load :: %{
          node: node(),
          capacity: non_neg_integer(),
          running: non_neg_integer(),
          stock: non_neg_integer()
        }

  @doc "The name of lacca's `:pg` scope."
  @spec scope() :: atom()
  def scope, do: @scope

  @doc "This node's capacity: `config :lacca, :capacity`, else 500 × online schedulers."
  @spec capacity() :: non_neg_integer()
  def capacity do
    case Application.get_env(:lacca, :capacity, 500 * System.schedulers_online()) do
      n when is_integer(n) and n >= 0 ->
        n

      other ->
        raise ArgumentError,
              "config :lacca, :capacity must be a non-negative integer, got: #{inspect(other)}"
    end
  end

  @doc false
  @spec start_link(keyword()) :: GenServer.on_start()
  def start_link(_opts \\ []), do: GenServer.start_link(__MODULE__, capacity(), name: __MODULE__)

  @doc false
  @spec child_spec(keyword()) :: Supervisor.child_spec()
  def child_spec(opts), do: %{id: __MODULE__, start: {__MODULE__, :start_link, [opts]}}

  @doc "Counts `pid`, a Lacca process of this node, until it ends (no-op without the application)."
  @spec track(pid()) :: :ok
  def track(pid), do: GenServer.cast(__MODULE__, {:track, pid})

  @doc """
  This node's load, or `nil` if the lacca application does not run here.

      iex> %{node: node, capacity: capacity} = Lacca.Cluster.load()
      iex> {node, capacity == Lacca.Cluster.capacity()}
      {node(), true}
  """
  @spec load() :: load() | nil
  def load do
    if Process.whereis(__MODULE__), do: GenServer.call(__MODULE__, :load, @load_timeout)
  catch
    :exit, _ -> nil
  end

  @doc """
  The load of every member that answered within 1 s (all asked at once), the local node's
  included if the application runs here.
  """
  @spec loads() :: [load()]
  def loads do
    members =
      try do
        :pg.get_members(@scope, @group)
      catch
        _, _ -> []
      end

    deadline = System.monotonic_time(:millisecond) + @load_timeout

    members
    |> Enum.map(&:gen_server.send_request(&1, :load))
    |> Enum.flat_map(fn request ->
      left = max(deadline - System.monotonic_time(:millisecond), 0)

      case :gen_server.receive_response(request, left) do
        {:reply, load} ->
          [load]

        :timeout ->
          # A late answer must not land in the caller's mailbox: its alias goes with the monitor
          # (OTP 25's receive_response/2 already abandons the request; this holds on any OTP).
          if is_reference(request), do: Process.demonitor(request, [:flush])
          []

        {:error, _} ->
          []
      end
    end)
  end

  @doc "The node a `node: :auto` start goes to now (see the module doc)."
  @spec pick() :: node()
  def pick do
    local = node()

    case loads() do
      [] ->
        local

      loads ->
        loads
        |> Enum.max_by(&{&1.capacity - &1.running, &1.node == local, &1.stock})
        |> Map.fetch!(:node)
    end
  end

  @doc false
  # Lacca.start/3's placement: `node: :auto` resolved, with the local fallback.
  @spec start(String.t(), [String.t()], Lacca.Options.t(), boolean()) ::
          {:ok, pid()} | {:error, Error.t()}
  def start(executable, args, %{node: :auto} = opts, link?) do
    case pick() do
      local when local == node() ->
        Server.start(executable, args, %{opts | node: local}, link?)

      remote ->
        case Server.start(executable, args, %{opts | node: remote}, link?) do
          {:error, %Error{reason: :noproc}} ->
            Server.start(executable, args, %{opts | node: node()}, link?)

          other ->
            other
        end
    end
  end

  def start(executable, args, opts, link?), do: Server.start(executable, args, opts, link?)

  ## GenServer

  @impl true
  def init(capacity) do
    :ok = :pg.join(@scope, @group, self())
    {:ok, %{capacity: capacity, running: %{}}}
  end

  @impl true
  def handle_call(:load, _from, state) do
    load = %{
      node: node(),
      capacity: state.capacity,
      running: map_size(state.running),
      stock: Lacca.Pool.stock()
    }

    {:reply, load, state}
  end

  @impl true
  def handle_cast({:track, pid}, state) do
    ref = Process.monitor(pid)
    {:noreply, %{state | running: Map.put(state.running, ref, pid)}}
  end

  @impl true
  def handle_info({:DOWN, ref, :process, _pid, _reason}, state),
    do: {:noreply, %{state | running: Map.delete(state.running, ref)}}
end
