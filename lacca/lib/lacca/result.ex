defmodule Lacca.Result do
  @moduledoc """
  What `Lacca.run/3` returns: the collected output and the exit.

      {:ok, %Lacca.Result{stdout: "hi\\n", stderr: "", exit: %Lacca.Exit{exit_code: 0}}} =
        Lacca.run("echo", ["hi"])

    * `stdout` — what the `:into` collectable became (a binary by default);
    * `stderr` — stderr as a binary, or `nil` with `stderr: :stdout` or `stderr: :discard`;
    * `exit` — the `Lacca.Exit`.
  """

  alias Lacca.{Error, Exit}

  defstruct [:stdout, :stderr, :exit]

  @type t :: %__MODULE__{stdout: Collectable.t(), stderr: binary() | nil, exit: Exit.t()}

  @doc false
  # Runs in the caller of Lacca.run/3, the owner of the streaming Lacca process `pid`. Output is
  # acknowledged in batches of a quarter of the window: one ack per chunk would double the Lacca
  # process's work for nothing, since it grants credit in such batches anyway.
  @spec collect(pid(), iodata(), Collectable.t(), :collect | :stdout | :discard, pos_integer()) ::
          {:ok, t()} | {:error, Error.t()}
  def collect(pid, stdin, into, stderr_mode, window) do
    ref = Process.monitor(pid)
    # A command may exit without reading its stdin, as with System.cmd/3; what it leaves unread is
    # dropped, and the errors that say so (`:no_process`, or `:noproc` once the exit is delivered)
    # are not the run's.
    _ = Lacca.write_stdin(pid, stdin)
    _ = Lacca.close_stdin(pid)
    {acc, into_fun} = Collectable.into(into)

    state = %{
      acc: acc,
      into_fun: into_fun,
      stderr: [],
      stderr_mode: stderr_mode,
      unacked: 0,
      ack_every: max(div(window, 4), 1)
    }

    try do
      loop(pid, ref, state)
    catch
      kind, reason ->
        Process.exit(pid, :kill)
        :erlang.raise(kind, reason, __STACKTRACE__)
    end
  end

  defp loop(pid, ref, state) do
    receive do
      {:lacca, ^pid, {stream, data}} when stream in [:stdout, :stderr] ->
        state = state |> take(stream, data) |> ack(pid, byte_size(data))
        loop(pid, ref, state)

      {:lacca, ^pid, {:exit, exit}} ->
        Process.demonitor(ref, [:flush])
        stderr = if state.stderr_mode == :collect, do: IO.iodata_to_binary(state.stderr)
        stdout = state.into_fun.(state.acc, :done)
        {:ok, %__MODULE__{stdout: stdout, stderr: stderr, exit: exit}}

      {:lacca, ^pid, {:error, error}} ->
        Process.demonitor(ref, [:flush])
        state.into_fun.(state.acc, :halt)
        {:error, error}

      {:DOWN, ^ref, :process, ^pid, reason} ->
        state.into_fun.(state.acc, :halt)
        {:error, Error.new(:noproc, "the Lacca process exited: #{inspect(reason)}")}
    end
  end

  defp take(state, :stdout, data), do: push(state, data)
  defp take(%{stderr_mode: :stdout} = state, :stderr, data), do: push(state, data)
  defp take(%{stderr_mode: :discard} = state, :stderr, _data), do: state
  defp take(state, :stderr, data), do: %{state | stderr: [state.stderr | data]}

  defp push(state, data), do: %{state | acc: state.into_fun.(state.acc, {:cont, data})}

  defp ack(%{unacked: unacked, ack_every: every} = state, pid, bytes)
       when unacked + bytes >= every do
    Lacca.ack(pid, unacked + bytes)
    %{state | unacked: 0}
  end

  defp ack(state, _pid, bytes), do: %{state | unacked: state.unacked + bytes}
end
