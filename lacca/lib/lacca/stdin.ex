defmodule Lacca.Stdin do
  @moduledoc """
  A running command's stdin as a `Collectable`, made by `Lacca.stdin/2`.

  Each element (iodata) is written with `Lacca.write_stdin/3`, which waits for stdin credit, so
  collecting a large or endless enumerable into it never holds more than one element in lacca.
  When the collection is done stdin is closed, unless `close: false`. A write that fails raises
  `Lacca.Error`.

      iex> {:ok, pid} = Lacca.start("wc", ["-c"])
      iex> Enum.into(["a", "b", "c"], Lacca.stdin(pid))
      iex> Lacca.read_stdout(pid)
      {:ok, "3\\n"}
  """

  @enforce_keys [:server]
  defstruct [:server, close: true]

  @typedoc "A command's stdin as a `Collectable`; `close` says whether stdin is closed when done."
  @type t :: %__MODULE__{server: Lacca.server(), close: boolean()}

  defimpl Collectable do
    def into(%Lacca.Stdin{server: server, close: close} = stdin) do
      fun = fn
        stdin, {:cont, data} ->
          case Lacca.write_stdin(server, data) do
            :ok -> stdin
            {:error, error} -> raise error
          end

        stdin, :done ->
          if close do
            case Lacca.close_stdin(server) do
              :ok -> stdin
              {:error, error} -> raise error
            end
          else
            stdin
          end

        _stdin, :halt ->
          :ok
      end

      {stdin, fun}
    end
  end
end
