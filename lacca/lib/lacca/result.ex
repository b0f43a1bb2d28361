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
  # Runs in the caller of Lacca.run/3, the owner of the streaming Lacca process `pid`.
  @spec collect(pid(), iodata(), Collectable.t(), :collect | :stdout | :discard) ::
          {:ok, t()} | {:error, Error.t()}
  def collect(pid, stdin, into, stderr_mode) do
    ref = Process.monitor(pid)
    # A command may exit without reading its stdin, as with System.cmd/3; what it leaves unread is
    # dropped and the errors that says so (`:no_process`, or `:noproc` once the exit is delivered)
    # are not the run's.
    _ = Lacca.write_stdin(pid, stdin)
    _ = Lacca.close_stdin(pid)
    {acc, into_fun} = Collectable.into(into)

    try do
      loop(pid, ref, {acc, into_fun}, [], stderr_mode)
    catch
      kind, reason ->
        Process.exit(pid, :kill)
        :erlang.raise(kind, reason, __STACKTRACE__)
    end
  end

  defp loop(pid, ref, {acc, into_fun} = out, err, stderr_mode) do
    receive do
      {:lacca, ^pid, {:stdout, data}} ->
        acc = push(acc, into_fun, data)
        Lacca.ack(pid, data)
        loop(pid, ref, {acc, into_fun}, err, stderr_mode)

      {:lacca, ^pid, {:stderr, data}} ->
        Lacca.ack(pid, data)

        case stderr_mode do
          :collect -> loop(pid, ref, out, [err | data], stderr_mode)
          :stdout -> loop(pid, ref, {push(acc, into_fun, data), into_fun}, err, stderr_mode)
          :discard -> loop(pid, ref, out, err, stderr_mode)
        end

      {:lacca, ^pid, {:exit, exit}} ->
        Process.demonitor(ref, [:flush])
        stderr = if stderr_mode == :collect, do: IO.iodata_to_binary(err)
        {:ok, %__MODULE__{stdout: into_fun.(acc, :done), stderr: stderr, exit: exit}}

      {:lacca, ^pid, {:error, error}} ->
        Process.demonitor(ref, [:flush])
        into_fun.(acc, :halt)
        {:error, error}

      {:DOWN, ^ref, :process, ^pid, reason} ->
        into_fun.(acc, :halt)
        {:error, Error.new(:noproc, "the Lacca process exited: #{inspect(reason)}")}
    end
  end

  defp push(acc, into_fun, data), do: into_fun.(acc, {:cont, data})
end
