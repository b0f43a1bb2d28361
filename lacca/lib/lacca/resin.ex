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

  @doc """
  Opens a port to `resin --port`. After the ExitStatus resin waits for the port to close, so the
  Lacca process closes it as soon as it has the ExitStatus.
  """
  @spec open(String.t()) :: {:ok, port()} | {:error, Error.t()}
  def open(path) do
    with :ok <- executable(path) do
      port =
        Port.open({:spawn_executable, path}, [
          :binary,
          :exit_status,
          :nouse_stdio,
          {:packet, 4},
          args: ["--port"]
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

  @doc "The pid of resin itself, if the port is open."
  @spec os_pid(port()) :: non_neg_integer() | nil
  def os_pid(port) do
    case Port.info(port, :os_pid) do
      {:os_pid, pid} -> pid
      nil -> nil
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
