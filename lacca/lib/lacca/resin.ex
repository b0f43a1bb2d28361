defmodule Lacca.Resin do
  @moduledoc false
  # Finds the resin executable and opens the port to it.
  #
  # resin speaks the protocol on fds 3 and 4 (`:nouse_stdio`), `{:packet, 4}` framing. Its own
  # stderr is the BEAM's, so its rare diagnostics reach the console or the release's log.

  alias Lacca.Error

  @doc "The resin to run: the `:resin` option, else `config :lacca, :resin_path`, else priv/resin."
  @spec path(String.t() | nil) :: {:ok, String.t()} | {:error, Error.t()}
  def path(explicit) do
    cond do
      explicit -> {:ok, explicit}
      configured = Application.get_env(:lacca, :resin_path) -> {:ok, Path.expand(configured)}
      true -> priv_path()
    end
  end

  defp priv_path do
    case :code.priv_dir(:lacca) do
      {:error, _} ->
        {:error, Error.new(:resin_not_found, "lacca's priv directory is not in the code path")}

      priv ->
        {:ok, Path.join(priv, "resin")}
    end
  end

  # resin exits right after ExitStatus, closing its end of the request pipe (fd 3) while lacca may
  # still be writing a packet (a GrantCredit, a CloseStdin, a StopProcess). A write to a pipe with
  # no reader fails with EPIPE, and an Erlang port that meets EPIPE closes at once, dropping the
  # output and the ExitStatus it has not read yet. So resin runs under this shell, which keeps fd 3
  # open after a clean exit and reads it until lacca closes the port, as it does on ExitStatus.
  # Any other exit is passed on at once, so a crash is seen as one. The shell holds no pipe end
  # resin needs to see closed: end-of-file on fd 3 still reaches resin when the BEAM goes away.
  # cat reopens the pipe through /proc because resin left the shared description non-blocking.
  # The shell is a no-op with a resin that waits for the port to close (see the lacca report).
  @port_shim """
  "$0" --port
  status=$?
  [ "$status" -eq 0 ] && exec cat /proc/self/fd/3 >/dev/null
  exit "$status"
  """

  @doc "Opens a port to `resin --port` (through the shell above)."
  @spec open(String.t()) :: {:ok, port()} | {:error, Error.t()}
  def open(path) do
    with :ok <- executable(path) do
      port =
        Port.open({:spawn_executable, "/bin/sh"}, [
          :binary,
          :exit_status,
          :nouse_stdio,
          {:packet, 4},
          args: ["-c", @port_shim, path]
        ])

      {:ok, port}
    end
  end

  defp executable(path) do
    case File.stat(path) do
      {:ok, %File.Stat{type: :regular, mode: mode}} when Bitwise.band(mode, 0o111) != 0 ->
        :ok

      {:ok, _} ->
        not_found(path, :eacces)

      {:error, reason} ->
        not_found(path, reason)
    end
  end

  defp not_found(path, reason) do
    {:error,
     Error.new(:resin_not_found, "cannot run resin at #{path}: #{:file.format_error(reason)}",
       details: %{path: path, error: reason}
     )}
  end

  @doc "The pid of resin itself, the only child of the shell the port runs, if it is alive."
  @spec os_pid(port()) :: non_neg_integer() | nil
  def os_pid(port) do
    with {:os_pid, shell} <- Port.info(port, :os_pid),
         {:ok, children} <- File.read("/proc/#{shell}/task/#{shell}/children"),
         [resin | _] <- String.split(children) do
      String.to_integer(resin)
    else
      _ -> nil
    end
  end

  @doc "Maps resin's exit status (it had sent no ExitStatus) to an error."
  @spec exit_error(non_neg_integer()) :: Error.t()
  def exit_error(status) when status > 128 do
    signal = status - 128

    Error.new(
      :resin_crashed,
      "resin was killed by signal #{signal} (#{Lacca.Signal.name(signal)}); its sandbox is gone",
      details: %{signal: signal, exit_status: status}
    )
  end

  def exit_error(status) do
    Error.new(:resin_exited, "resin exited with status #{status} before the command ended",
      details: %{exit_status: status}
    )
  end
end
