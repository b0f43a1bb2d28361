defmodule Lacca.Test.Digest do
  @moduledoc false
  # A Collectable that keeps only the size and the MD5 of what it is given: large outputs can be
  # checked byte for byte without being kept.
  defstruct bytes: 0, md5: nil

  @type t :: %__MODULE__{bytes: non_neg_integer(), md5: binary() | nil}

  @spec new() :: t()
  def new, do: %__MODULE__{}

  @spec update(t() | {non_neg_integer(), term()}, binary()) :: {non_neg_integer(), term()}
  def update({bytes, context}, data),
    do: {bytes + byte_size(data), :erlang.md5_update(context, data)}

  @spec init() :: {non_neg_integer(), term()}
  def init, do: {0, :erlang.md5_init()}

  @spec finish({non_neg_integer(), term()}) :: t()
  def finish({bytes, context}) do
    %__MODULE__{bytes: bytes, md5: context |> :erlang.md5_final() |> Base.encode16(case: :lower)}
  end

  defimpl Collectable do
    def into(_digest) do
      collector = fn
        state, {:cont, data} -> Lacca.Test.Digest.update(state, data)
        state, :done -> Lacca.Test.Digest.finish(state)
        _state, :halt -> :ok
      end

      {Lacca.Test.Digest.init(), collector}
    end
  end
end
