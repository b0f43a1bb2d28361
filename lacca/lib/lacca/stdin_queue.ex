defmodule Lacca.StdinQueue do
  @moduledoc false
  # Stdin flow control (protocol v2's StdinCredit), as a pure value: the Lacca process turns its
  # actions into DataIn packets and replies.
  #
  # resin grants credit as the command's stdin pipe drains; lacca never sends beyond it. A write
  # waits in the queue until credit lets it through, so its caller is blocked (backpressure) rather
  # than resin's queue growing or refusing. A write goes out in as few DataIn packets as the credit
  # allows, each a whole number of @piece units but the write's last: a write of up to @piece bytes
  # is all or nothing, and a write that times out has had `written` bytes (a multiple of @piece)
  # sent.
  # A v1 session has no credit: it is :infinity, and resin's 16 MiB queue is the only bound.

  alias Lacca.Error

  @piece 65_536
  # The largest DataIn payload, in whole pieces.
  @max_payload Lacca.Protocol.max_data_in_payload() -
                 rem(Lacca.Protocol.max_data_in_payload(), @piece)

  @type from :: GenServer.from()
  @type timer :: reference() | nil
  @type entry ::
          {:write, from(), rest :: binary(), written :: non_neg_integer(), timer()}
          | {:close, from()}
  @type action :: {:send, binary()} | :send_close | {:reply, from(), timer(), term()}

  defstruct credit: 0, queue: :queue.new(), state: :open

  @type t :: %__MODULE__{
          credit: non_neg_integer() | :infinity,
          queue: :queue.queue(entry()),
          state: :open | :closing | :closed | {:failed, Error.t()}
        }

  @spec piece_size() :: pos_integer()
  def piece_size, do: @piece

  @spec new(non_neg_integer() | :infinity) :: t()
  def new(credit), do: %__MODULE__{credit: credit}

  @doc "Queues a write; it is sent as credit allows and replied to once all of it is sent."
  @spec write(t(), from(), binary(), timer()) :: {[action()], t()}
  def write(%__MODULE__{state: :open} = q, from, data, timer) do
    pump(%{q | queue: :queue.in({:write, from, data, 0, timer}, q.queue)}, [])
  end

  def write(%__MODULE__{} = q, from, _data, timer), do: {[{:reply, from, timer, refusal(q)}], q}

  @doc "Queues the end of stdin behind every pending write."
  @spec close(t(), from()) :: {[action()], t()}
  def close(%__MODULE__{state: :open} = q, from),
    do: pump(%{q | queue: :queue.in({:close, from}, q.queue), state: :closing}, [])

  def close(%__MODULE__{state: :closing} = q, from),
    do: {[], %{q | queue: :queue.in({:close, from}, q.queue)}}

  def close(%__MODULE__{state: :closed} = q, from), do: {[{:reply, from, nil, :ok}], q}
  def close(%__MODULE__{} = q, from), do: {[{:reply, from, nil, refusal(q)}], q}

  @doc "resin granted `bytes` more."
  @spec grant(t(), non_neg_integer()) :: {[action()], t()}
  def grant(%__MODULE__{credit: :infinity} = q, _bytes), do: {[], q}
  def grant(%__MODULE__{} = q, bytes), do: pump(%{q | credit: q.credit + bytes}, [])

  @doc "stdin can take nothing more (resin's stdin_broken, or the command ended): every waiter fails."
  @spec fail(t(), Error.t()) :: {[action()], t()}
  def fail(%__MODULE__{state: {:failed, _}} = q, _error), do: {[], q}

  def fail(%__MODULE__{} = q, error) do
    replies =
      for entry <- :queue.to_list(q.queue) do
        case entry do
          {:write, from, _rest, written, timer} ->
            {:reply, from, timer, {:error, with_written(error, written)}}

          {:close, from} ->
            {:reply, from, nil, {:error, error}}
        end
      end

    {replies, %{q | queue: :queue.new(), state: {:failed, error}}}
  end

  @doc "A write's timeout fired: it leaves the queue, with what of it was sent."
  @spec time_out(t(), from()) :: {[action()], t()}
  def time_out(%__MODULE__{} = q, from) do
    {timed_out, rest} =
      q.queue |> :queue.to_list() |> Enum.split_with(&match?({:write, ^from, _, _, _}, &1))

    case timed_out do
      [] ->
        {[], q}

      [{:write, _, _, written, _}] ->
        error =
          Error.new(:timeout, "write_stdin timed out: the command did not read its stdin",
            details: %{written: written}
          )

        pump(%{q | queue: :queue.from_list(rest)}, [{:reply, from, nil, {:error, error}}])
    end
  end

  @doc "Bytes waiting to be sent."
  @spec pending(t()) :: non_neg_integer()
  def pending(%__MODULE__{queue: queue}) do
    queue
    |> :queue.to_list()
    |> Enum.reduce(0, fn
      {:write, _, rest, _, _}, sum -> sum + byte_size(rest)
      _, sum -> sum
    end)
  end

  defp pump(q, actions) do
    case :queue.out(q.queue) do
      {:empty, _} ->
        {Enum.reverse(actions), q}

      {{:value, {:write, from, <<>>, _written, timer}}, queue} ->
        pump(%{q | queue: queue}, [{:reply, from, timer, :ok} | actions])

      {{:value, {:write, from, rest, written, timer}}, queue} ->
        case piece_size(byte_size(rest), q.credit) do
          0 ->
            {Enum.reverse(actions), q}

          size ->
            <<piece::binary-size(size), rest::binary>> = rest
            credit = if q.credit == :infinity, do: :infinity, else: q.credit - size
            entry = {:write, from, rest, written + size, timer}
            q = %{q | queue: :queue.in_r(entry, queue), credit: credit}
            pump(q, [{:send, piece} | actions])
        end

      {{:value, {:close, from}}, queue} ->
        actions = if q.state == :closing, do: [:send_close | actions], else: actions
        pump(%{q | queue: queue, state: :closed}, [{:reply, from, nil, :ok} | actions])
    end
  end

  # The next piece of a write with `left` bytes to go: all of it if the credit (and one packet)
  # covers it, else as many whole @piece units as fit; 0 to wait for credit. So a write of up to
  # @piece bytes is sent whole or not at all, and a larger one in multiples of @piece but its last.
  defp piece_size(left, credit) do
    room = if credit == :infinity, do: @max_payload, else: min(credit, @max_payload)

    if left <= room, do: left, else: room - rem(room, @piece)
  end

  defp refusal(%__MODULE__{state: {:failed, error}}), do: {:error, error}
  defp refusal(%__MODULE__{}), do: {:error, Error.new(:stdin_closed, "stdin is closed")}

  defp with_written(error, written),
    do: %{error | details: Map.put(error.details, :written, written)}
end
