defmodule Lacca.Server do
  @moduledoc false
  # The Lacca process: a GenServer that owns one port to one resin, which runs one command.
  #
  # Its lifetime bounds the command's: when this process ends, for whatever reason, the command's
  # tree is stopped — gracefully (StopProcess: SIGTERM, the grace, then SIGKILL) from terminate/2
  # when it can run, and by resin itself when the port closes under it (the same TERM, grace and
  # KILL, with the grace lacca sent in SetShutdownGrace). It also ends when its owner does.
  #
  # Where the session is lives in one value, `session`:
  #
  #   {:starting, id, starter}        Hello and StartProcess (or a pooled resin's Start) sent, as
  #                                   request `id`; `starter` is the start/4 call waiting for the
  #                                   answer, or nil if not asked yet
  #   {:start_failed, error}          the start failed before its starter asked
  #   {:running, id, announced?}      ProcessStarted arrived; announced? once the starter has its pid
  #   {:stopping, id, from, timer}    stop/2 sent StopProcess; `from` gets the exit
  #   {:ended_unannounced, outcome, stop_reason}
  #                                   the command ended before its starter asked (start/4 runs in
  #                                   another process); a stop reason, if any, is held until then
  #   {:ended, outcome}               the command ended (ExitStatus), or resin failed
  #
  # Output is under Lacca.Credit; buffered output and its readers are a Lacca.Output; stdin is a
  # Lacca.StdinQueue under resin's StdinCredit.

  use GenServer

  require Logger

  alias Lacca.{Credit, Error, Exit, LogLines, Output, Protocol, Resin, StdinQueue}

  @stop_margin_ms 5_000

  @type outcome :: {:ok, Exit.t()} | {:error, Error.t()}
  @type session ::
          {:starting, Protocol.request_id(), GenServer.from() | nil}
          | {:start_failed, Error.t()}
          | {:running, Protocol.request_id(), announced? :: boolean()}
          | {:stopping, Protocol.request_id(), GenServer.from(), reference()}
          | {:ended_unannounced, outcome(), stop_reason :: term()}
          | {:ended, outcome()}

  defstruct [
    :port,
    :owner,
    :owner_ref,
    :opts,
    :mode,
    :credit,
    :session,
    :os_pid,
    :fatal_error,
    # The Lacca.Pool.Entry this process took its resin from, or nil if it opened its own.
    :pooled,
    # {executable, args}, kept to start again if a pooled resin was dead on arrival.
    :command,
    next_id: 1,
    features: %{},
    output: Output.new(),
    stdin: StdinQueue.new(0),
    logs: %{stdout: LogLines.new(), stderr: LogLines.new()},
    exit_waiters: [],
    exit_taken: false
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
      opts: opts,
      mode: opts.mode,
      credit: Credit.new(opts.window),
      # A v1 resin has no stdin credit: its 16 MiB queue is the only bound.
      stdin: StdinQueue.new(if Protocol.version() >= 2, do: 0, else: :infinity)
    }

    # A remote owner links here (the caller did Process.link); a local one linked in start_link.
    with {:ok, path} <- Resin.path(opts.resin),
         {:ok, state} <- connect_resin(state, path) do
      Lacca.Cluster.track(self())
      {:ok, launch(%{state | command: {executable, args}}, nil)}
    else
      {:error, error} -> {:ok, %{state | session: {:start_failed, error}}}
    end
  end

  # A resin from this node's Lacca.Pool (its HelloReply and Prepared already read: resin is in
  # `prepared` and sends nothing until asked), else one of its own, greeted here.
  defp connect_resin(state, path) do
    case Lacca.Pool.checkout(path, state.opts) do
      {:ok, entry} ->
        {:ok,
         %{
           state
           | port: entry.port,
             features: entry.features,
             next_id: entry.next_id,
             pooled: entry
         }}

      :empty ->
        with {:ok, port} <- Resin.open(path),
             do: {:ok, send_packet(%{state | port: port}, &{:hello, &1, Protocol.version()})}
    end
  end

  defp launch(state, starter) do
    {executable, args} = state.command
    state = set_shutdown_grace(state, state.opts.shutdown_grace_ms)
    state = grant(state)
    state = send_packet(state, &start_packet(state, &1, {executable, args}))
    %{state | session: {:starting, state.next_id - 1, starter}}
  end

  # Its own resin builds the sandbox of the whole config (`:cd` and `:env` included); a pooled one
  # has built the prepared config's and takes `:cd` and `:env` in `Start`.
  defp start_packet(%{pooled: nil, opts: opts}, id, {executable, args}),
    do: {:start_process, id, executable, args, opts.config_json}

  defp start_packet(%{pooled: entry, opts: opts}, id, command),
    do: Lacca.Pool.Entry.start_packet(entry, id, command, opts)

  @impl true
  def handle_call(:await_started, from, %{session: session} = state) do
    case session do
      {:starting, id, nil} ->
        {:noreply, %{state | session: {:starting, id, from}}}

      {:start_failed, error} ->
        {:stop, :normal, {:error, error}, state}

      {:running, id, false} ->
        {:reply, :ok, %{state | session: {:running, id, true}}}

      {:ended_unannounced, outcome, nil} ->
        {:reply, :ok, %{state | session: {:ended, outcome}}}

      {:ended_unannounced, _outcome, reason} ->
        {:stop, reason, :ok, state}
    end
  end

  def handle_call({:read, streams, timeout}, from, state), do: read(streams, timeout, from, state)

  def handle_call({:await_exit, _timeout}, from, %{session: {:ended, outcome}} = state),
    do: maybe_end({:reply, outcome, %{state | exit_taken: true}}, from)

  def handle_call({:await_exit, timeout}, from, state) do
    waiter = {from, timer(timeout, {:await_timeout, from})}
    {:noreply, %{state | exit_waiters: [waiter | state.exit_waiters]}}
  end

  def handle_call({:stop, grace_ms}, from, %{session: {:running, id, _}} = state) do
    state = send_packet(state, &{:stop_process, &1, grace_ms})
    timer = timer(grace_ms + @stop_margin_ms, :stop_timeout)
    {:noreply, drain(%{state | session: {:stopping, id, from, timer}})}
  end

  # A second stop while the first runs gets the same exit.
  def handle_call({:stop, _grace_ms}, from, %{session: {:stopping, _, _, _}} = state),
    do: {:noreply, %{state | exit_waiters: [{from, nil} | state.exit_waiters]}}

  def handle_call({:stop, _grace_ms}, _from, state) do
    outcome = outcome(state) || {:error, Error.new(:no_process, "the command never started")}
    {:stop, :normal, outcome, close_port(state)}
  end

  def handle_call({:write, data, timeout}, from, %{session: {:running, _, _}} = state) do
    timer = timer(timeout, {:write_timeout, from})
    {actions, stdin} = StdinQueue.write(state.stdin, from, data, timer)
    {:noreply, stdin_actions(%{state | stdin: stdin}, actions)}
  end

  def handle_call(:close_stdin, from, %{session: {:running, _, _}} = state) do
    {actions, stdin} = StdinQueue.close(state.stdin, from)
    {:noreply, stdin_actions(%{state | stdin: stdin}, actions)}
  end

  def handle_call({:kill, signal}, _from, %{session: {:running, _, _}} = state),
    do: {:reply, :ok, send_packet(state, &{:kill_process, &1, signal})}

  def handle_call({:write, _data, _timeout}, _from, state), do: not_running(state)
  def handle_call(:close_stdin, _from, state), do: not_running(state)
  def handle_call({:kill, _signal}, _from, state), do: not_running(state)

  def handle_call(:info, _from, state) do
    info = %{
      status: status(state.session),
      os_pid: state.os_pid,
      resin_os_pid: state.port && Resin.os_pid(state.port),
      mode: state.mode,
      features: state.features,
      owner: state.owner,
      node: node(),
      pooled: state.pooled != nil,
      pending_output: state.credit.held,
      pending_stdin: StdinQueue.pending(state.stdin)
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

  def handle_info({:read_timeout, from}, state) do
    case Output.time_out(state.output, from) do
      {true, output} ->
        GenServer.reply(from, {:error, timeout_error("read")})
        {:noreply, %{state | output: output}}

      {false, _} ->
        {:noreply, state}
    end
  end

  def handle_info({:write_timeout, from}, state) do
    {actions, stdin} = StdinQueue.time_out(state.stdin, from)
    {:noreply, stdin_actions(%{state | stdin: stdin}, actions)}
  end

  def handle_info({:await_timeout, from}, state),
    do: {:noreply, %{state | exit_waiters: time_out(state.exit_waiters, from, "await_exit")}}

  def handle_info(:stop_timeout, %{session: {:stopping, _, from, _}} = state) do
    GenServer.reply(from, {:error, timeout_error("stop")})
    {:stop, :normal, close_port(state)}
  end

  # A linked remote owner exited (a local one is the GenServer's parent, handled by GenServer).
  def handle_info({:EXIT, _pid, reason}, state),
    do: {:stop, {:shutdown, {:owner_exited, reason}}, state}

  def handle_info(_stale, state), do: {:noreply, state}

  # Every way this process ends while the command runs — its supervisor's shutdown, its owner's
  # exit, a crash — stops the command gracefully: SIGTERM to the tree, the grace, then SIGKILL.
  # Only after it is gone (or the grace and a margin have passed) does the port close.
  @impl true
  def terminate(_reason, %{port: port, session: session} = state) when port != nil do
    # Output still flows (and in `mode: :log` is logged: a daemon's last words), so the exit can come.
    state = grant(%{state | credit: Credit.drain(state.credit)})

    state =
      case session do
        {:running, _, _} ->
          grace = state.opts.shutdown_grace_ms
          state = send_packet(state, &{:stop_process, &1, grace})
          await_gone(state, deadline(grace + @stop_margin_ms))

        {:stopping, _, _, _} ->
          await_gone(state, deadline(state.opts.shutdown_grace_ms + @stop_margin_ms))

        _ ->
          state
      end

    # However the wait ended (ExitStatus, resin gone, the deadline), a last line without its
    # newline is logged too.
    flush_logs(state)
    close_port(state)
    :ok
  end

  def terminate(_reason, _state), do: :ok

  defp set_shutdown_grace(state, grace_ms) do
    if Protocol.version() >= 2,
      do: send_packet(state, &{:set_shutdown_grace, &1, grace_ms}),
      else: state
  end

  defp deadline(ms), do: System.monotonic_time(:millisecond) + ms

  # Returns the state, its log lines still to flush.
  defp await_gone(%{port: port} = state, deadline) do
    left = max(deadline - System.monotonic_time(:millisecond), 0)

    receive do
      {^port, {:data, packet}} ->
        case Protocol.decode(packet) do
          {:ok, {:exit_status, _, _}} ->
            state

          {:ok, {:data_out, _, stream, data}} ->
            size = byte_size(data)
            state = if state.mode == :log, do: log(state, stream, data), else: state
            credit = state.credit |> Credit.received(size) |> Credit.release(size)
            await_gone(grant(%{state | credit: credit}), deadline)

          _ ->
            await_gone(state, deadline)
        end

      {^port, {:exit_status, _}} ->
        state

      {:EXIT, ^port, _} ->
        state
    after
      left -> state
    end
  end

  ## Packets from resin

  defp handle_packet({:data_out, _id, stream, data}, state) do
    stream = if stream == :stderr and state.opts.stderr_to_stdout, do: :stdout, else: stream
    size = byte_size(data)
    state = %{state | credit: Credit.received(state.credit, size)}

    state =
      case state.mode do
        :buffer ->
          {actions, released, output} = Output.push(state.output, stream, data)
          Enum.each(actions, &output_reply(&1, state))
          release(%{state | output: output}, released)

        :stream ->
          send_owner(state, {stream, data})

        :discard ->
          release(state, size)

        :log ->
          release(log(state, stream, data), size)
      end

    {:noreply, grant(state)}
  end

  defp handle_packet({:process_started, id, os_pid}, %{session: {:starting, id, starter}} = state) do
    if starter, do: GenServer.reply(starter, :ok)
    {:noreply, %{state | session: {:running, id, starter != nil}, os_pid: os_pid}}
  end

  # ExitStatus is resin's last word: lacca closes the port, which is what ends a resin that waits
  # for it. (A resin that exits on its own after ExitStatus races with any packet lacca is writing
  # then: an Erlang port that meets EPIPE closes at once and drops what it has not read yet.)
  defp handle_packet({:exit_status, id, status}, %{session: session} = state)
       when elem(session, 0) in [:running, :stopping] and elem(session, 1) == id do
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

  defp handle_packet({:stdin_credit, _id, bytes}, state) do
    {actions, stdin} = StdinQueue.grant(state.stdin, bytes)
    {:noreply, stdin_actions(%{state | stdin: stdin}, actions)}
  end

  defp handle_packet({:error_report, _id, report}, %{session: {:starting, _, _}} = state) do
    fail(state, Error.from_report(report))
  end

  defp handle_packet({:error_report, _id, %{fatal: true} = report}, state) do
    {:noreply, %{state | fatal_error: Error.from_report(report)}}
  end

  # The command's stdin can take nothing more (it closed it or exited), or resin refused a DataIn:
  # every pending and later write fails with this error.
  defp handle_packet({:error_report, _id, %{code: code} = report}, state)
       when code in [:stdin_broken, :stdin_overflow, :stdin_closed] do
    {actions, stdin} = StdinQueue.fail(state.stdin, Error.from_report(report))
    {:noreply, stdin_actions(%{state | stdin: stdin}, actions)}
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

  defp read(_streams, _timeout, _from, %{mode: mode} = state) when mode != :buffer do
    error = Error.new(:not_buffered, "output is not buffered in #{inspect(mode)} mode")
    {:reply, {:error, error}, state}
  end

  defp read(streams, timeout, from, state) do
    timer = timer(timeout, {:read_timeout, from})

    case Output.read(state.output, streams, from, timer) do
      {:wait, output} ->
        {:noreply, %{state | output: output}}

      {:reply, reply, released, output} ->
        cancel(timer)
        state = grant(release(%{state | output: output}, released))
        maybe_end({:reply, output_reply_value(reply, state), state}, from)
    end
  end

  defp output_reply({:reply, from, timer, reply}, state) do
    cancel(timer)
    GenServer.reply(from, output_reply_value(reply, state))
  end

  defp output_reply_value(:eof, state) do
    case outcome(state) do
      {:error, _} = error -> error
      _ -> :eof
    end
  end

  defp output_reply_value(reply, _state), do: reply

  defp release(state, bytes), do: %{state | credit: Credit.release(state.credit, bytes)}

  defp send_owner(state, message) do
    send(state.owner, {:lacca, self(), message})
    state
  end

  defp log(state, stream, data) do
    level = if stream == :stdout, do: state.opts.log_output, else: state.opts.log_stderr

    if level do
      {lines, partial} = LogLines.push(state.logs[stream], data, state.opts.log_max_line)
      Enum.each(lines, &log_line(state, level, &1))
      put_in(state.logs[stream], partial)
    else
      state
    end
  end

  defp flush_logs(%{mode: :log} = state) do
    for stream <- [:stdout, :stderr],
        level = if(stream == :stdout, do: state.opts.log_output, else: state.opts.log_stderr),
        level != nil,
        line <- LogLines.flush(state.logs[stream]),
        do: log_line(state, level, line)

    %{state | logs: %{stdout: LogLines.new(), stderr: LogLines.new()}}
  end

  defp flush_logs(state), do: state

  # Logger takes text: a line that is not UTF-8 (a binary-speaking daemon) is logged inspected.
  defp log_line(state, level, line) do
    line = if String.valid?(line), do: line, else: inspect(line, binaries: :as_binaries)
    Logger.log(level, [state.opts.log_prefix, line], lacca_os_pid: state.os_pid)
  end

  # Output nobody will read (after stop/2) is let through and dropped, so the exit can arrive.
  defp drain(state), do: grant(%{state | mode: :discard, credit: Credit.drain(state.credit)})

  defp grant(%{port: port} = state) when port != nil do
    case Credit.grant(state.credit) do
      {0, _} -> state
      {bytes, credit} -> send_packet(%{state | credit: credit}, &{:grant_credit, &1, bytes})
    end
  end

  defp grant(state), do: state

  ## Stdin

  defp stdin_actions(state, actions) do
    Enum.reduce(actions, state, fn
      {:send, piece}, state ->
        send_packet(state, &{:data_in, &1, piece})

      :send_close, state ->
        send_packet(state, &{:close_stdin, &1})

      {:reply, from, timer, reply}, state ->
        cancel(timer)
        GenServer.reply(from, reply)
        state
    end)
  end

  ## Requests

  defp not_running(state) do
    error = Error.new(:no_process, "the command is not running (#{status(state.session)})")
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

  defp status({:starting, _, _}), do: :starting
  defp status({:start_failed, _}), do: :failed
  defp status({:running, _, _}), do: :running
  defp status({:stopping, _, _, _}), do: :running
  defp status({:ended_unannounced, outcome, _}), do: status({:ended, outcome})
  defp status({:ended, {:ok, _}}), do: :exited
  defp status({:ended, {:error, _}}), do: :failed

  defp outcome(%{session: {:ended, outcome}}), do: outcome
  defp outcome(%{session: {:ended_unannounced, outcome, _}}), do: outcome
  defp outcome(%{session: {:start_failed, error}}), do: {:error, error}
  defp outcome(_state), do: nil

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

  # The command ended (ExitStatus) or can no longer be followed (resin gone or misbehaving).
  defp exited(state, outcome) do
    previous = state.session
    # A daemon's last partial lines are logged before anyone hears of the exit.
    state = flush_logs(state)

    for {from, timer} <- state.exit_waiters do
      cancel(timer)
      GenServer.reply(from, outcome)
    end

    {replies, output} = Output.finish(state.output)
    state = %{state | output: output, session: {:ended, outcome}}
    Enum.each(replies, &output_reply(&1, state))

    stdin_error =
      case outcome do
        {:ok, _} -> Error.new(:no_process, "the command exited before reading all of its stdin")
        {:error, error} -> error
      end

    {actions, stdin} = StdinQueue.fail(state.stdin, stdin_error)
    state = stdin_actions(%{state | stdin: stdin}, actions)
    state = %{state | exit_taken: state.exit_waiters != [], exit_waiters: []}

    if state.mode == :stream, do: send_owner(state, stream_message(outcome))

    case previous do
      {:stopping, _, from, timer} ->
        cancel(timer)
        GenServer.reply(from, outcome)
        {:stop, :normal, state}

      {:running, _, announced?} ->
        reason = stop_reason(state, outcome)

        cond do
          announced? and reason != nil -> {:stop, reason, state}
          announced? -> maybe_end({:noreply, state}, nil)
          true -> {:noreply, %{state | session: {:ended_unannounced, outcome, reason}}}
        end
    end
  end

  # Why the process ends as soon as its command does, or nil if it stays for its readers.
  defp stop_reason(state, outcome) do
    cond do
      state.opts.on_exit == :stop -> exit_reason(outcome)
      # Nothing is left to serve: the owner has the exit.
      state.mode == :stream -> :normal
      true -> nil
    end
  end

  # Under `on_exit: :auto` the process ends once its exit has been taken and its output read.
  defp maybe_end(result, _from) do
    state = elem(result, tuple_size(result) - 1)

    done? =
      state.opts.on_exit == :auto and match?({:ended, _}, state.session) and state.exit_taken and
        (state.mode != :buffer or Output.read_out?(state.output))

    case {done?, result} do
      {false, _} -> result
      {true, {:reply, reply, state}} -> {:stop, :normal, reply, state}
      {true, {:noreply, state}} -> {:stop, :normal, state}
    end
  end

  defp stream_message({:ok, exit}), do: {:exit, exit}
  defp stream_message({:error, error}), do: {:error, error}

  defp exit_reason({:ok, %Exit{} = exit}),
    do: if(Exit.success?(exit), do: :normal, else: {:exit, exit})

  defp exit_reason({:error, error}), do: {:error, error}

  # A pooled resin gone before it answered Start (killed while idle, its exit racing with the
  # hand-over): the start is tried once more, on a resin of this process's own (StartProcess).
  defp resin_gone(
         %{session: {:starting, _, starter}, pooled: %{}, fatal_error: nil} = state,
         error
       ) do
    fresh = %{
      state
      | pooled: nil,
        features: %{},
        next_id: 1,
        credit: Credit.new(state.opts.window)
    }

    with {:ok, path} <- Resin.path(state.opts.resin),
         {:ok, port} <- Resin.open(path) do
      fresh = send_packet(%{fresh | port: port}, &{:hello, &1, Protocol.version()})
      {:noreply, launch(fresh, starter)}
    else
      {:error, _} -> fail(state, error)
    end
  end

  defp resin_gone(%{session: {:starting, _, _}} = state, error),
    do: fail(state, state.fatal_error || error)

  defp resin_gone(%{session: session} = state, error)
       when elem(session, 0) in [:running, :stopping],
       do: exited(state, {:error, state.fatal_error || error})

  defp resin_gone(state, _error), do: {:noreply, state}

  # Something went wrong that ends the session: before the start, the start fails; after it, the
  # process's outcome is the error. Closing the port makes resin stop whatever it runs.
  defp fail(%{session: {:starting, _, starter}} = state, error) do
    state = close_port(%{state | session: {:start_failed, error}})

    case starter do
      nil ->
        {:noreply, state}

      from ->
        GenServer.reply(from, {:error, error})
        {:stop, :normal, state}
    end
  end

  defp fail(%{session: session} = state, error) when elem(session, 0) in [:running, :stopping],
    do: exited(close_port(state), {:error, error})

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
