defmodule Lacca.Credit do
  @moduledoc false
  # Output flow control: how many bytes of output resin may send (the protocol's GrantCredit).
  #
  # Output is either in flight (granted to resin, not yet received) or held (received, not yet
  # released by the consumer: buffered unread, or delivered to the owner and not acked). lacca keeps
  # in_flight + held <= window, so a consumer that does not keep up stops resin from reading the
  # command's pipes — the command blocks in write(2) — instead of growing the BEAM's memory.

  import Bitwise

  @max_grant 0xFFFFFFFF

  defstruct window: 0, in_flight: 0, held: 0

  @type t :: %__MODULE__{
          window: pos_integer(),
          in_flight: non_neg_integer(),
          held: non_neg_integer()
        }

  @doc "The largest window: one GrantCredit's worth."
  @spec max_window() :: pos_integer()
  def max_window, do: @max_grant

  @spec new(pos_integer()) :: t()
  def new(window) when window in 1..@max_grant, do: %__MODULE__{window: window}

  @doc "Output arrived from resin: it is no longer in flight and is held until released."
  @spec received(t(), non_neg_integer()) :: t()
  def received(%__MODULE__{} = credit, bytes) do
    %{credit | in_flight: max(credit.in_flight - bytes, 0), held: credit.held + bytes}
  end

  @doc "The consumer is done with `bytes` of held output."
  @spec release(t(), non_neg_integer()) :: t()
  def release(%__MODULE__{} = credit, bytes), do: %{credit | held: max(credit.held - bytes, 0)}

  @doc """
  How many bytes to grant now (0 for none) and the credit after granting them.

  Grants wait until a quarter of the window is free, so a consumer that reads in small pieces does
  not cause one GrantCredit per piece.
  """
  @spec grant(t()) :: {non_neg_integer(), t()}
  def grant(%__MODULE__{window: window, in_flight: in_flight, held: held} = credit) do
    room = window - in_flight - held

    if room > 0 and room >= max(window >>> 2, 1) do
      {room, %{credit | in_flight: in_flight + room}}
    else
      {0, credit}
    end
  end

  @doc "Stops holding anything and opens the window fully: output is drained and dropped."
  @spec drain(t()) :: t()
  def drain(%__MODULE__{} = credit), do: %{credit | window: @max_grant, held: 0}
end
