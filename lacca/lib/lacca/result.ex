defmodule Lacca.Result do
  @moduledoc """
  What `Lacca.run/3` returns: the collected output and the exit.

      iex> {:ok, %Lacca.Result{stdout: "hi\\n", stderr: "", exit: %Lacca.Exit{exit_code: 0}}} =
      ...>   Lacca.run("echo", ["hi"])

    * `stdout` — what the `:into` collectable became (a binary by default);
    * `stderr` — stderr as a binary (its last `:stderr_limit` bytes), or `nil` with
      `stderr: :stdout` or `stderr: :discard`;
    * `stderr_dropped` — how many bytes of stderr did not fit in `:stderr_limit`;
    * `stdin` — `:ok` if all of `:stdin` was written and stdin closed, else the
      `%Lacca.Error{}` that stopped it (`:stdin_broken` or `:no_process` when the command exited
      or closed its stdin before reading everything; `details.written` counts what was written);
    * `exit` — the `Lacca.Exit`.
  """

  alias Lacca.{Error, Exit, Input}

  defstruct [:stdout, :stderr, :exit, stderr_dropped: 0, stdin: :ok]

  @typedoc "A finished `Lacca.run/3`: output, stderr's tail, how stdin went, and the exit."
  @type t :: %__MODULE__{
          stdout: Collectable.t(),
          stderr: binary() | nil,
          stderr_dropped: non_neg_integer(),
          stdin: :ok | Error.t(),
          exit: Exit.t()
        }

  @doc false
  # Runs in the caller of Lacca.run/3, the owner of the streaming Lacca process `pid`. Stdin is fed
  # by a writer process (Lacca.Input) under stdin credit while this loop reads stdout. Output is
  # acknowledged in batches of a quarter of the window: one ack per chunk would double the Lacca
  # process's work for nothing, since it grants credit in such batches anyway.
  @spec collect(pid(), Lacca.Options.run(), pos_integer()) :: {:ok, t()} | {:error, Error.t()}
  def collect(pid, opts, window) do
    ref = Process.monitor(pid)
    input = Input.start(pid, opts.stdin, :stdin)
    {acc, into_fun} = Collectable.into(opts.into)

    state = %{
      acc: acc,
      into_fun: into_fun,
      stderr: {[], 0},
      dropped: 0,
      opts: opts,
      unacked: 0,
      ack_every: max(div(window, 4), 1),
      input: input,
      stdin: nil
    }

    try do
      loop(pid, ref, state)
    catch
      kind, reason ->
        Input.stop(input)
        Process.exit(pid, :kill)
        Process.demonitor(ref, [:flush])
        :erlang.raise(kind, reason, __STACKTRACE__)
    end
  end

  defp loop(pid, ref, %{input: %Input{ref: input_ref}} = state) do
    receive do
      {:lacca, ^pid, {stream, data}} when stream in [:stdout, :stderr] ->
        state = state |> take(stream, data) |> ack(pid, byte_size(data))
        loop(pid, ref, state)

      {^input_ref, report} ->
        loop(pid, ref, %{state | stdin: input_report(report)})

      {:lacca, ^pid, {:exit, exit}} ->
        Process.demonitor(ref, [:flush])
        stdin = state.stdin || await_input(state.input)
        stdout = state.into_fun.(state.acc, :done)

        {:ok,
         %__MODULE__{
           stdout: stdout,
           stderr: stderr(state),
           stderr_dropped: state.dropped,
           stdin: stdin,
           exit: exit
         }}

      {:lacca, ^pid, {:error, error}} ->
        Process.demonitor(ref, [:flush])
        Input.stop(state.input)
        state.into_fun.(state.acc, :halt)
        {:error, error}

      {:DOWN, ^ref, :process, ^pid, reason} ->
        Input.stop(state.input)
        state.into_fun.(state.acc, :halt)
        {:error, Error.new(:noproc, "the Lacca process exited: #{inspect(reason)}")}
    end
  end

  # The command has exited, so every write the writer makes now fails at once: its report follows.
  defp await_input(%Input{ref: ref}) do
    receive do
      {^ref, report} -> input_report(report)
    end
  end

  defp input_report(:input_done), do: :ok
  defp input_report({:input_failed, error}), do: error

  defp input_report({:input_raised, kind, reason, stack}), do: :erlang.raise(kind, reason, stack)

  defp stderr(%{opts: %{stderr: :collect}, stderr: {chunks, _}}), do: IO.iodata_to_binary(chunks)
  defp stderr(_state), do: nil

  defp take(state, :stdout, data), do: push(state, data)
  defp take(%{opts: %{stderr: :stdout}} = state, :stderr, data), do: push(state, data)
  defp take(%{opts: %{stderr: :discard}} = state, :stderr, _data), do: state

  defp take(state, :stderr, data) do
    {tail, dropped} = Lacca.Tail.push(state.stderr, data, state.opts.stderr_limit)
    %{state | stderr: tail, dropped: state.dropped + dropped}
  end

  defp push(state, data), do: %{state | acc: state.into_fun.(state.acc, {:cont, data})}

  defp ack(%{unacked: unacked, ack_every: every} = state, pid, bytes)
       when unacked + bytes >= every do
    Lacca.ack(pid, unacked + bytes)
    %{state | unacked: 0}
  end

  defp ack(state, _pid, bytes), do: %{state | unacked: state.unacked + bytes}
end
