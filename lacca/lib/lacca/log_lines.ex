defmodule Lacca.LogLines do
  @moduledoc false
  # Splits a command's output into lines for Logger (`log_output:`, `log_stderr:`), as a pure value.
  # A line longer than the cap is logged in pieces of the cap, so one command that never writes a
  # newline cannot make lacca hold an unbounded line.

  @type t :: {iodata(), non_neg_integer()}

  @spec new() :: t()
  def new, do: {[], 0}

  @doc "Adds output; returns the complete lines (without their newline) and what is left."
  @spec push(t(), binary(), pos_integer()) :: {[binary()], t()}
  def push({partial, size}, data, max) do
    {lines, rest} = split(IO.iodata_to_binary([partial, data]), max, [])
    _ = size
    {lines, {rest, byte_size(rest)}}
  end

  @doc "The output ended: what is left is a last line, if any."
  @spec flush(t()) :: [binary()]
  def flush({_partial, 0}), do: []
  def flush({partial, _}), do: [IO.iodata_to_binary(partial)]

  defp split(data, max, acc) do
    case :binary.match(data, "\n") do
      {at, 1} when at <= max ->
        <<line::binary-size(at), ?\n, rest::binary>> = data
        split(rest, max, [String.trim_trailing(line, "\r") | acc])

      _ when byte_size(data) > max ->
        <<line::binary-size(max), rest::binary>> = data
        split(rest, max, [line | acc])

      _ ->
        {Enum.reverse(acc), data}
    end
  end
end
