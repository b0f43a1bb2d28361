defmodule Lacca.Server do
  @moduledoc false
  # The Lacca process: a GenServer that owns one port to one resin, which runs one command.
  #
  # Its lifetime is the command's lifetime bound: when this process ends, for whatever reason, the
  # port closes, resin reads end-of-file and kills the command's whole process tree. It also ends
  # when its owner does (a monitor, plus a link for start_link), like a port.
  #
  # Phases: :starting (Hello and StartProcess sent) -> :running (ProcessStarted) -> :exited
  # (ExitStatus: every byte of output has arrived) or :failed (resin died or misbehaved).
  # A start that fails is reported to the :await_started call, after which the process stops
  # normally, so a linked caller is not taken down by a failed start.

  use GenServer

  require Logger

  alias Lacca.{Credit, Error, Exit, Protocol, Resin}

  @stop_margin_ms 5_000

  defstruct [
    :port,
    :owner,
    :owner_ref,
    :mode,
    :credit,
    :on_exit,
    :start_id,
    :start_waiter,
    :start_result,
    :os_pid,
    :outcome,
    :fatal_error,
    :stop_waiter,
    :pending_stop,
    start_awaited: false,
    next_id: 1,
    phase: :starting,
    stdin: :open,
    features: %{},
    buffers: %{stdout: {[], 0}, stderr: {[], 0}},
    readers: %{stdout: [], stderr: []},
    exit_waiters: []
  ]

  ## Starting

  @spec start(String.t(), [String.t()], Lacca.Options.t(), link? :: boolean()) ::
          {:ok, pid()} | {:error, Error.t()}
  def start(executable, args, opts, link?) do
    init_arg = {executable, args, opts}

    with {:ok, pid} <- spawn_server(init_arg, opts, link?) do
      await_started(pid, opts.start_timeout)
    end
  end

  defp spawn_server(init_arg, %{node: node} = opts, link?) when node == node() do
    gen_opts = if opts.name, do: [name: opts.name], else: []

    result =
      if link?,
        do: GenServer.start_link(__MODULE__, init_arg, gen_opts),
        else: GenServer.start(__MODULE__, init_arg, gen_opts)

    noproc_on_error(result)
  end

  # On another node the server is started there, unlinked, and then linked from here if asked: the
  # link exists before the start is awaited, so the failed-start path (a normal exit) is harmless.
  defp spawn_server(init_arg, opts, link?) do
    gen_opts = if opts.name, do: [name: opts.name], else: []

    case :erpc.call(opts.node, GenServer, :start, [__MODULE__, init_arg, gen_opts]) do
      {:ok, pid} ->
        if link?, do: Process.link(pid)
        {:ok, pid}

      other ->
        noproc_on_error(other)
    end
  catch
    kind, reason ->
      {:error,
       Error.new(:noproc, "cannot start lacca on node #{opts.node}: #{inspect({kind, reason})}",
         details: %{node: opts.node}
       )}
  end

  defp noproc_on_error({:ok, pid}), do: {:ok, pid}

  defp noproc_on_error(other),
    do: {:error, Error.new(:noproc, "the Lacca process did not start: #{inspect(other)}")}

  defp await_started(pid, timeout) do
    case GenServer.call(pid, :await_started, timeout) do
      :ok -> {:ok, pid}
      {:error, %Error{}} = error -> error
    end
  catch
    # Unlinked first, so that start_link's caller gets the error, not the kill.
    :exit, {:timeout, _} ->
      Process.unlink(pid)
      Process.exit(pid, :kill)
      {:error, Error.new(:timeout, "the sandbox did not start within #{timeout} ms")}

    :exit, reason ->
      {:error, Error.new(:noproc, "the Lacca process exited while starting: #{inspect(reason)}")}
  end

  ## GenServer

  @impl true
  def init({executable, args, opts}) do
    Process.flag(:trap_exit, true)

    state = %__MODULE__{
      owner: opts.owner,
      owner_ref: Process.monitor(opts.owner),
      mode: opts.mode,
      credit: Credit.new(opts.window),
      on_exit: opts.on_exit
    }

    # A remote owner links here (the caller did Process.link); a local one linked in start_link.
    with {:ok, path} <- Resin.path(opts.resin),
         {:ok, port} <- Resin.open(path) do
      state = %{state | port: port}
      state = send_packet(state, &{:hello, &1, opts.protocol_version})
      state = grant(state)
      state = send_packet(state, &{:start_process, &1, executable, args, opts.config_json})
      {:ok, %{state | start_id: state.next_id - 1}}
    else
      {:error, error} -> {:ok, %{state | phase: :failed, start_result: {:error, error}}}
    end
  end

  @impl true
  def handle_call(:await_started, from, %{start_result: nil} = state),
    do: {:noreply, %{state | start_waiter: from}}

  def handle_call(:await_started, _from, %{start_result: :ok, pending_stop: nil} = state),
    do: {:reply, :ok, %{state | start_awaited: true}}

  # The command ended before its starter asked: it gets its pid, then the stop that was held back.
  def handle_call(:await_started, _from, %{start_result: :ok, pending_stop: reason} = state),
    do: {:stop, reason, :ok, state}

  def handle_call(:await_started, _from, %{start_result: error} = state),
    do: {:stop, :normal, error, state}

  def handle_call({:read, stream, timeout}, from, state), do: read(stream, timeout, from, state)

  def handle_call({:await_exit, timeout}, from, %{outcome: nil} = state) do
    waiter = {from, timer(timeout, {:await_timeout, from})}
    {:noreply, %{state | exit_waiters: [waiter | state.exit_waiters]}}
  end

  def handle_call({:await_exit, _timeout}, _from, state), do: {:reply, state.outcome, state}

  def handle_call({:stop, grace_ms}, from, %{phase: :running} = state) do
    state = send_packet(state, &{:stop_process, &1, grace_ms})
    timer = timer(grace_ms + @stop_margin_ms, :stop_timeout)
    {:noreply, drain(%{state | stop_waiter: {from, timer}})}
  end

  def handle_call({:stop, _grace_ms}, _from, state) do
    outcome = state.outcome || {:error, Error.new(:no_process, "the command never started")}
    {:stop, :normal, outcome, close_port(state)}
  end

  def handle_call({:write, data}, _from, %{phase: :running, stdin: :open} = state) do
    state =
      data
      |> IO.iodata_to_binary()
      |> chunks(Protocol.max_data_in_payload())
      |> Enum.reduce(state, fn chunk, state -> send_packet(state, &{:data_in, &1, chunk}) end)

    {:reply, :ok, state}
  end

  def handle_call({:write, _data}, _from, %{phase: :running, stdin: :closed} = state),
    do: {:reply, {:error, Error.new(:stdin_closed, "stdin is closed")}, state}

  def handle_call({:write, _data}, _from, %{phase: :running, stdin: {:failed, error}} = state),
    do: {:reply, {:error, error}, state}

  def handle_call(:close_stdin, _from, %{phase: :running, stdin: :closed} = state),
    do: {:reply, :ok, state}

  def handle_call(:close_stdin, _from, %{phase: :running} = state) do
    {:reply, :ok, %{send_packet(state, &{:close_stdin, &1}) | stdin: :closed}}
  end

  def handle_call({:kill, signal}, _from, %{phase: :running} = state),
    do: {:reply, :ok, send_packet(state, &{:kill_process, &1, signal})}

  def handle_call({:write, _data}, _from, state), do: not_running(state)
  def handle_call(:close_stdin, _from, state), do: not_running(state)
  def handle_call({:kill, _signal}, _from, state), do: not_running(state)

  def handle_call(:info, _from, state) do
    info = %{
      status: state.phase,
      os_pid: state.os_pid,
      resin_os_pid: state.port && Resin.os_pid(state.port),
      mode: state.mode,
      features: state.features,
      owner: state.owner,
      pending_output: state.credit.held
    }

    {:reply, info, state}
  end

  @impl true
  def handle_cast({:ack, bytes}, state) do
    {:noreply, grant(%{state | credit: Credit.release(state.credit, bytes)})}
  end

  @impl true
  def handle_info({port, {:data, packet}}, %{port: port} = state) do
    case Protocol.decode(packet) do
      {:ok, decoded} ->
        handle_packet(decoded, state)

      {:error, code, message} ->
        fail(state, Error.new(code, "resin sent a packet lacca cannot decode: #{message}"))
    end
  end

  def handle_info({port, {:exit_status, status}}, %{port: port} = state) do
    resin_gone(%{state | port: nil}, Resin.exit_error(status))
  end

  def handle_info({:EXIT, port, reason}, %{port: port} = state) do
    resin_gone(%{state | port: nil}, port_closed_error(reason))
  end

  # The port of a resin already handled (its exit status came first).
  def handle_info({:EXIT, port, _reason}, state) when is_port(port), do: {:noreply, state}

  def handle_info({:DOWN, ref, :process, _owner, reason}, %{owner_ref: ref} = state),
    do: {:stop, {:shutdown, {:owner_exited, reason}}, state}

  def handle_info({:read_timeout, stream, from}, state) do
    readers = time_out(state.readers[stream], from, "read")
    {:noreply, put_in(state.readers[stream], readers)}
  end

  def handle_info({:await_timeout, from}, state),
    do: {:noreply, %{state | exit_waiters: time_out(state.exit_waiters, from, "await_exit")}}

  def handle_info(:stop_timeout, %{stop_waiter: {from, _}} = state) do
    GenServer.reply(from, {:error, timeout_error("stop")})
    {:stop, :normal, close_port(state)}
  end

  # A linked remote owner exited (a local one is the GenServer's parent, handled by GenServer).
  def handle_info({:EXIT, _pid, reason}, state),
    do: {:stop, {:shutdown, {:owner_exited, reason}}, state}

  def handle_info(_stale, state), do: {:noreply, state}

  ## Packets from resin

  defp handle_packet({:data_out, _id, stream, data}, state) do
    size = byte_size(data)
    state = %{state | credit: Credit.received(state.credit, size)}

    state =
      case state.mode do
        :buffer -> buffer(state, stream, data, size)
        :stream -> send_owner(state, {stream, data})
        :discard -> %{state | credit: Credit.release(state.credit, size)}
      end

    {:noreply, grant(state)}
  end

  defp handle_packet({:process_started, id, os_pid}, %{start_id: id} = state) do
    state = %{state | phase: :running, os_pid: os_pid}
    {:noreply, start_done(state, :ok)}
  end

  # ExitStatus is resin's last word: lacca closes the port, which is what ends a resin that waits
  # for it. (A resin that exits on its own after ExitStatus races with any packet lacca is writing
  # then: an Erlang port that meets EPIPE closes at once and drops what it has not read yet.)
  defp handle_packet({:exit_status, id, status}, %{start_id: id} = state) do
    exited(close_port(state), {:ok, Exit.from_status(status, state.os_pid)})
  end

  defp handle_packet({:hello_reply, _id, version, features}, state) do
    if version == Protocol.version() do
      {:noreply, %{state | features: Map.new(features)}}
    else
      message = "resin speaks protocol version #{version}, lacca #{Protocol.version()}"
      fail(state, Error.new(:version_mismatch, message, details: %{resin_version: version}))
    end
  end

  defp handle_packet({:error_report, _id, report}, %{phase: :starting} = state) do
    fail(state, Error.from_report(report))
  end

  defp handle_packet({:error_report, _id, %{fatal: true} = report}, state) do
    {:noreply, %{state | fatal_error: Error.from_report(report)}}
  end

  # resin dropped a DataIn (or refused one after CloseStdin): the stdin stream has a hole, so every
  # later write fails with this error.
  defp handle_packet({:error_report, _id, %{code: code} = report}, %{stdin: stdin} = state)
       when code in [:stdin_overflow, :stdin_closed] do
    stdin = if match?({:failed, _}, stdin), do: stdin, else: {:failed, Error.from_report(report)}
    {:noreply, %{state | stdin: stdin}}
  end

  # A request that raced with the command's exit; its outcome is on the way.
  defp handle_packet({:error_report, _id, %{code: :no_process}}, state), do: {:noreply, state}

  defp handle_packet({:error_report, id, report}, state) do
    Logger.error(
      "resin refused lacca's request #{id}: #{Exception.message(Error.from_report(report))}"
    )

    {:noreply, state}
  end

  defp handle_packet(packet, state) do
    fail(
      state,
      Error.new(:unexpected_packet, "resin sent an unexpected packet: #{inspect(packet)}")
    )
  end

  ## Output

  defp buffer(state, stream, data, size) do
    case state.readers[stream] do
      [] ->
        {pending, pending_size} = state.buffers[stream]
        put_in(state.buffers[stream], {[pending | data], pending_size + size})

      readers ->
        {{from, timer}, rest} = List.pop_at(readers, -1)
        cancel(timer)
        GenServer.reply(from, {:ok, data})
        state = put_in(state.readers[stream], rest)
        %{state | credit: Credit.release(state.credit, size)}
    end
  end

  defp read(_stream, _timeout, _from, %{mode: mode} = state) when mode != :buffer do
    error = Error.new(:not_buffered, "output is not buffered in #{inspect(mode)} mode")
    {:reply, {:error, error}, state}
  end

  defp read(stream, timeout, from, state) do
    case state.buffers[stream] do
      {_, 0} when state.outcome != nil ->
        {:reply, end_of_output(state.outcome), state}

      {_, 0} ->
        timer = timer(timeout, {:read_timeout, stream, from})
        {:noreply, update_in(state.readers[stream], &[{from, timer} | &1])}

      {pending, size} ->
        state = put_in(state.buffers[stream], {[], 0})
        state = grant(%{state | credit: Credit.release(state.credit, size)})
        {:reply, {:ok, IO.iodata_to_binary(pending)}, state}
    end
  end

  defp end_of_output({:ok, %Exit{}}), do: :eof
  defp end_of_output({:error, _} = error), do: error

  defp send_owner(state, message) do
    send(state.owner, {:lacca, self(), message})
    state
  end

  # Output nobody will read (after stop/2) is let through and dropped, so the exit can arrive.
  defp drain(state), do: grant(%{state | mode: :discard, credit: Credit.drain(state.credit)})

  defp grant(%{port: port, phase: phase} = state)
       when port != nil and phase in [:starting, :running] do
    case Credit.grant(state.credit) do
      {0, _} -> state
      {bytes, credit} -> send_packet(%{state | credit: credit}, &{:grant_credit, &1, bytes})
    end
  end

  defp grant(state), do: state

  ## Requests

  defp not_running(state) do
    error = Error.new(:no_process, "the command is not running (#{state.phase})")
    {:reply, {:error, error}, state}
  end

  # A port that has just died raises here; its exit status is already on its way to this process.
  defp send_packet(state, packet_fun) do
    packet = packet_fun.(state.next_id)

    try do
      Port.command(state.port, Protocol.encode_iodata(packet))
    rescue
      ArgumentError -> :ok
    end

    %{state | next_id: state.next_id + 1}
  end

  defp chunks(<<>>, _size), do: []
  defp chunks(binary, size) when byte_size(binary) <= size, do: [binary]

  defp chunks(binary, size) do
    <<chunk::binary-size(size), rest::binary>> = binary
    [chunk | chunks(rest, size)]
  end

  ## Ending

  # The BEAM closes a port at once when a write to it fails, dropping what it has not read yet.
  defp port_closed_error(:epipe) do
    Error.new(
      :resin_exited,
      "resin exited while lacca was writing to it (epipe); output it sent last may be lost",
      details: %{port_exit: :epipe}
    )
  end

  defp port_closed_error(reason) do
    Error.new(:resin_exited, "the port to resin closed: #{inspect(reason)}",
      details: %{port_exit: reason}
    )
  end

  defp start_done(%{start_waiter: nil} = state, result), do: %{state | start_result: result}

  defp start_done(%{start_waiter: from} = state, result) do
    GenServer.reply(from, result)
    %{state | start_result: result, start_waiter: nil, start_awaited: true}
  end

  # A command can end before start/4's caller has asked :await_started (it runs in another process
  # that may not have been scheduled yet): stopping then would answer it with a dead pid.
  defp stop_once_start_awaited(%{start_awaited: false} = state, reason),
    do: {:noreply, %{state | pending_stop: reason}}

  defp stop_once_start_awaited(state, reason), do: {:stop, reason, state}

  # The command ended (ExitStatus) or can no longer be followed (resin gone or misbehaving).
  defp exited(state, outcome) do
    state = %{
      state
      | outcome: outcome,
        phase: if(match?({:ok, _}, outcome), do: :exited, else: :failed)
    }

    for {from, timer} <- state.exit_waiters do
      cancel(timer)
      GenServer.reply(from, outcome)
    end

    for stream <- [:stdout, :stderr], {from, timer} <- state.readers[stream] do
      cancel(timer)
      GenServer.reply(from, end_of_output(outcome))
    end

    state = %{state | exit_waiters: [], readers: %{stdout: [], stderr: []}}

    if state.mode == :stream, do: send_owner(state, stream_message(outcome))

    cond do
      state.stop_waiter != nil ->
        {from, timer} = state.stop_waiter
        cancel(timer)
        GenServer.reply(from, outcome)
        {:stop, :normal, state}

      state.on_exit == :stop ->
        stop_once_start_awaited(state, exit_reason(outcome))

      # Nothing is left to serve: the owner has the exit.
      state.mode == :stream ->
        stop_once_start_awaited(state, :normal)

      true ->
        {:noreply, state}
    end
  end

  defp stream_message({:ok, exit}), do: {:exit, exit}
  defp stream_message({:error, error}), do: {:error, error}

  defp exit_reason({:ok, %Exit{} = exit}),
    do: if(Exit.success?(exit), do: :normal, else: {:exit, exit})

  defp exit_reason({:error, error}), do: {:error, error}

  defp resin_gone(%{phase: :starting} = state, error) do
    fail(state, state.fatal_error || error)
  end

  defp resin_gone(%{phase: :running} = state, error),
    do: exited(state, {:error, state.fatal_error || error})

  defp resin_gone(state, _error), do: {:noreply, state}

  # Something went wrong that ends the session: before the start, the start fails; after it, the
  # process's outcome is the error. Closing the port makes resin kill whatever it runs.
  defp fail(%{phase: :starting} = state, error) do
    state = close_port(%{state | phase: :failed, outcome: {:error, error}})

    case state.start_waiter do
      nil ->
        {:noreply, %{state | start_result: {:error, error}}}

      from ->
        GenServer.reply(from, {:error, error})
        {:stop, :normal, state}
    end
  end

  defp fail(%{phase: :running} = state, error), do: exited(close_port(state), {:error, error})
  defp fail(state, _error), do: {:noreply, state}

  defp close_port(%{port: nil} = state), do: state

  defp close_port(%{port: port} = state) do
    Port.close(port)
    %{state | port: nil}
  catch
    :error, :badarg -> %{state | port: nil}
  end

  ## Timers

  defp timer(:infinity, _message), do: nil
  defp timer(ms, message), do: Process.send_after(self(), message, ms)

  defp cancel(nil), do: :ok
  defp cancel(timer), do: Process.cancel_timer(timer)

  defp timeout_error(call), do: Error.new(:timeout, "#{call} timed out")

  # A waiter's timer fired: unless it was served meanwhile, it gets a timeout.
  defp time_out(waiters, from, call) do
    case List.keytake(waiters, from, 0) do
      nil ->
        waiters

      {_waiter, rest} ->
        GenServer.reply(from, {:error, timeout_error(call)})
        rest
    end
  end
end
