defmodule Lacca.OutputStream do
  @moduledoc false
  # `Lacca.stream!/3` and `Lacca.stream/3`: a Stream.resource over a Lacca process in `mode: :stream`
  # owned by the enumerating process. A chunk is acknowledged when the consumer asks for the next
  # one, so resin reads the command's stdout only as fast as the consumer takes it (demand maps onto
  # the protocol's credit). The input is fed by a Lacca.Input writer under stdin credit.
  #
  # Ending early (a halt, or an exception in the consumer) stops the command's tree with the
  # shutdown grace and waits for it, stops the writer, and flushes every message of both.
  # Acknowledgements are batched (a quarter window), so at most `:window` bytes are ever held:
  # delivered to this process and not yet consumed.

  require Logger

  alias Lacca.{Error, ExitError, Input, LogLines, Tail}

  @stderr_tail 65_536

  @spec new(String.t(), [String.t()], keyword(), Lacca.Options.stream(), boolean()) ::
          Enumerable.t()
  def new(executable, args, start_opts, opts, raise?) do
    Stream.resource(
      fn -> start(executable, args, start_opts, opts, raise?) end,
      &next/1,
      &finish/1
    )
  end

  defp start(executable, args, start_opts, opts, raise?) do
    grace = Keyword.get(start_opts, :shutdown_grace_ms, Lacca.Options.default_shutdown_grace_ms())
    window = Keyword.get(start_opts, :window, Lacca.Options.default_window())
    start_opts = Keyword.merge(start_opts, mode: :stream, owner: self())

    case Lacca.start(executable, args, start_opts) do
      {:ok, pid} ->
        %{
          pid: pid,
          ref: Process.monitor(pid),
          input: Input.start(pid, opts.input, :input),
          stderr: opts.stderr,
          tail: {[], 0},
          lines: LogLines.new(),
          unacked: 0,
          ack_every: max(div(window, 4), 1),
          consumed: 0,
          grace: grace,
          raise?: raise?,
          done: false
        }

      {:error, error} when raise? ->
        raise error

      {:error, error} ->
        %{done: :error, error: error}
    end
  end

  defp next(%{done: :error, error: error} = state), do: {[{:error, error}], %{state | done: true}}
  defp next(%{done: true} = state), do: {:halt, state}

  defp next(%{pid: pid, ref: ref} = state) do
    state = ack(state)

    receive do
      {:lacca, ^pid, {:stdout, data}} ->
        {[data], %{state | consumed: byte_size(data)}}

      {:lacca, ^pid, {:stderr, data}} ->
        stderr(state, data)

      {:lacca, ^pid, {:exit, exit}} ->
        Process.demonitor(ref, [:flush])
        ended(state, exit)

      {:lacca, ^pid, {:error, error}} ->
        Process.demonitor(ref, [:flush])
        failed(state, error)

      {:DOWN, ^ref, :process, ^pid, reason} ->
        failed(state, Error.new(:noproc, "the Lacca process exited: #{inspect(reason)}"))

      {input_ref, {:input_raised, kind, reason, stack}} when input_ref == state.input.ref ->
        :erlang.raise(kind, reason, stack)
    end
  end

  defp stderr(%{stderr: :stdout} = state, data),
    do: {[data], %{state | consumed: byte_size(data)}}

  defp stderr(%{stderr: :consume} = state, data) do
    {tail, _dropped} = Tail.push(state.tail, data, @stderr_tail)
    next(%{state | tail: tail, consumed: byte_size(data)})
  end

  defp stderr(%{stderr: :logger} = state, data) do
    {lines, partial} = LogLines.push(state.lines, data, 4096)
    Enum.each(lines, &Logger.warning/1)
    next(%{state | lines: partial, consumed: byte_size(data)})
  end

  defp stderr(%{stderr: :discard} = state, data), do: next(%{state | consumed: byte_size(data)})

  # The consumer asked for more, so the chunk it was given is consumed. Acknowledgements go out a
  # quarter window at a time, as the Lacca process grants credit in such batches anyway.
  defp ack(state) do
    unacked = state.unacked + state.consumed

    if unacked >= state.ack_every do
      Lacca.ack(state.pid, unacked)
      %{state | unacked: 0, consumed: 0}
    else
      %{state | unacked: unacked, consumed: 0}
    end
  end

  defp ended(state, exit) do
    if state.stderr == :logger, do: Enum.each(LogLines.flush(state.lines), &Logger.warning/1)
    state = %{state | done: true}

    cond do
      not state.raise? -> {[{:exit, exit}], state}
      Lacca.Exit.success?(exit) -> {:halt, state}
      true -> raise ExitError, exit: exit, stderr: Tail.to_binary(state.tail)
    end
  end

  defp failed(%{raise?: true}, error), do: raise(error)
  defp failed(state, error), do: {[{:error, error}], %{state | done: true}}

  # Called after the last element, on a halt, and when the consumer or next/1 raises.
  defp finish(%{pid: pid, ref: ref} = state) do
    Process.demonitor(ref, [:flush])
    # Stop the command's tree and wait for it (a no-op when it has exited), then the writer.
    _ = Lacca.stop(pid, state.grace)
    Input.stop(state.input)
    flush(pid, state.input.ref)
  end

  defp finish(_state), do: :ok

  defp flush(pid, input_ref) do
    receive do
      {:lacca, ^pid, _} -> flush(pid, input_ref)
      {^input_ref, _} -> flush(pid, input_ref)
    after
      0 -> :ok
    end
  end
end
