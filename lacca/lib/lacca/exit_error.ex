defmodule Lacca.ExitError do
  @moduledoc """
  Raised by `Lacca.stream!/3` when the command does not exit with code 0.

  `exit` is the `Lacca.Exit`; `stderr` is the last bytes of stderr (up to 64 KiB) when the stream
  consumed it (`stderr: :consume`, the default), else `""`.

      iex> try do
      ...>   Lacca.stream!("sh", ["-c", "echo no >&2; exit 4"]) |> Enum.to_list()
      ...> rescue
      ...>   e in Lacca.ExitError -> {e.exit.exit_code, e.stderr}
      ...> end
      {4, "no\\n"}
  """

  defexception [:exit, stderr: ""]

  @typedoc "The exception: how the command ended, and the tail of its stderr."
  @type t :: %__MODULE__{exit: Lacca.Exit.t(), stderr: binary()}

  @impl true
  @spec message(t()) :: String.t()
  def message(%__MODULE__{exit: exit, stderr: stderr}) do
    how =
      case exit do
        %Lacca.Exit{reason: :exited, exit_code: code} -> "exited with status #{code}"
        %Lacca.Exit{reason: reason, signal: signal} -> "ended (#{reason}, signal #{signal})"
      end

    case String.trim(stderr) do
      "" -> "the command #{how}"
      tail -> "the command #{how}: #{tail}"
    end
  end
end
