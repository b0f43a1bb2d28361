defmodule Lacca.Output do
  @moduledoc false
  # Buffered output (`mode: :buffer`) and the readers waiting for it, as a pure value beside
  # Lacca.Credit: the Lacca process sends the replies it returns and releases the credit of the
  # bytes it hands out.
  #
  # A reader waits for one stream (read_stdout/read_stderr) or for either (read_any). Readers are
  # served oldest first. Once the command has ended, a read of an empty stream is :eof.

  @type stream :: :stdout | :stderr
  @type from :: GenServer.from()
  @type timer :: reference() | nil
  @type reader :: {from(), [stream()], timer()}
  @type reply :: {:ok, binary()} | {:ok, stream(), binary()} | :eof
  @type action :: {:reply, from(), timer(), reply()}

  defstruct buffers: %{stdout: {[], 0}, stderr: {[], 0}},
            readers: [],
            ended: false,
            eof_read: MapSet.new()

  @type t :: %__MODULE__{
          buffers: %{stream() => {iodata(), non_neg_integer()}},
          readers: [reader()],
          ended: boolean(),
          eof_read: MapSet.t(stream())
        }

  @spec new() :: t()
  def new, do: %__MODULE__{}

  @doc "Output arrived: a waiting reader takes it, or it is buffered. Returns the bytes released."
  @spec push(t(), stream(), binary()) :: {[action()], non_neg_integer(), t()}
  def push(%__MODULE__{} = out, stream, data) do
    case Enum.split_while(out.readers, fn {_, streams, _} -> stream not in streams end) do
      {_, []} ->
        {pending, size} = out.buffers[stream]
        buffers = Map.put(out.buffers, stream, {[pending | data], size + byte_size(data)})
        {[], 0, %{out | buffers: buffers}}

      {before, [{from, streams, timer} | rest]} ->
        reply = if length(streams) == 1, do: {:ok, data}, else: {:ok, stream, data}
        {[{:reply, from, timer, reply}], byte_size(data), %{out | readers: before ++ rest}}
    end
  end

  @doc """
  A read of `streams` (one, or both for read_any): `{:reply, reply, released, out}` at once, or
  `{:wait, out}` with the reader queued.
  """
  @spec read(t(), [stream()], from(), timer()) ::
          {:reply, reply(), non_neg_integer(), t()} | {:wait, t()}
  def read(%__MODULE__{} = out, streams, from, timer) do
    case Enum.find(streams, fn stream -> elem(out.buffers[stream], 1) > 0 end) do
      nil when out.ended ->
        {:reply, :eof, 0, %{out | eof_read: MapSet.union(out.eof_read, MapSet.new(streams))}}

      nil ->
        {:wait, %{out | readers: out.readers ++ [{from, streams, timer}]}}

      stream ->
        {pending, size} = out.buffers[stream]
        data = IO.iodata_to_binary(pending)
        reply = if length(streams) == 1, do: {:ok, data}, else: {:ok, stream, data}
        {:reply, reply, size, %{out | buffers: Map.put(out.buffers, stream, {[], 0})}}
    end
  end

  @doc "The command ended: no more output comes, every waiting reader gets :eof."
  @spec finish(t()) :: {[action()], t()}
  def finish(%__MODULE__{} = out) do
    replies = for {from, _streams, timer} <- out.readers, do: {:reply, from, timer, :eof}
    eof = for {_, streams, _} <- out.readers, stream <- streams, into: out.eof_read, do: stream
    {replies, %{out | readers: [], ended: true, eof_read: eof}}
  end

  @doc "A reader's timeout fired: whether it was still waiting, and the output without it."
  @spec time_out(t(), from()) :: {boolean(), t()}
  def time_out(%__MODULE__{} = out, from) do
    case List.keytake(out.readers, from, 0) do
      nil -> {false, out}
      {_, readers} -> {true, %{out | readers: readers}}
    end
  end

  @doc "Whether everything has been read: ended, and both streams read to their :eof."
  @spec read_out?(t()) :: boolean()
  def read_out?(%__MODULE__{} = out), do: out.ended and MapSet.size(out.eof_read) == 2

  @doc "Bytes buffered and not yet read."
  @spec buffered(t()) :: non_neg_integer()
  def buffered(%__MODULE__{buffers: buffers}),
    do: elem(buffers.stdout, 1) + elem(buffers.stderr, 1)
end
