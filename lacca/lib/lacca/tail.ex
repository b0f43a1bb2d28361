defmodule Lacca.Tail do
  @moduledoc false
  # The last `limit` bytes of a stream (stderr kept for a result or an error), as a pure value.

  @type t :: {iodata(), non_neg_integer()}

  @doc "Appends `data`, keeping the last `limit` bytes; returns the tail and the bytes dropped."
  @spec push(t(), binary(), non_neg_integer()) :: {t(), non_neg_integer()}
  def push({chunks, size}, data, limit) do
    size = size + byte_size(data)

    if size <= limit do
      {{[chunks | data], size}, 0}
    else
      whole = IO.iodata_to_binary([chunks | data])
      drop = size - limit
      {{binary_part(whole, drop, limit), limit}, drop}
    end
  end

  @spec to_binary(t()) :: binary()
  def to_binary({chunks, _}), do: IO.iodata_to_binary(chunks)
end
