defmodule Lacca.Input do
  @moduledoc false
  # Feeds a command's stdin from `run/3`'s `:stdin` or `stream!/3`'s `:input`, in a process of its
  # own: writes block under stdin credit while the caller reads stdout, so reading and writing never
  # deadlock. The writer is linked to the caller (it dies with it), ends by itself once its Lacca
  # process is gone (every write then fails at once), and reports how it ended in one message:
  #
  #   {ref, :input_done}                         all of it written, stdin closed
  #   {ref, {:input_failed, %Lacca.Error{}}}     the command stopped taking it (details.written)
  #   {ref, {:input_raised, kind, reason, stack}} enumerating the input raised

  alias Lacca.{Error, Options}

  defstruct [:pid, :ref]

  @type t :: %__MODULE__{pid: pid(), ref: reference()}

  @spec start(pid(), Lacca.input(), atom()) :: t()
  def start(server, input, option) do
    owner = self()
    ref = make_ref()
    pid = spawn_link(fn -> send(owner, {ref, feed(server, input, option)}) end)
    %__MODULE__{pid: pid, ref: ref}
  end

  @doc "Stops the writer if it still runs, and removes its report from the caller's mailbox."
  @spec stop(t() | nil) :: :ok
  def stop(nil), do: :ok

  def stop(%__MODULE__{pid: pid, ref: ref}) do
    Process.unlink(pid)
    Process.exit(pid, :kill)

    receive do
      {^ref, _} -> :ok
    after
      0 -> :ok
    end
  end

  defp feed(server, input, option) do
    written = write(server, input, option)

    case Lacca.close_stdin(server) do
      :ok -> :input_done
      {:error, error} -> {:input_failed, written_error(error, written)}
    end
  catch
    {:input_failed, error} -> {:input_failed, error}
    kind, reason -> {:input_raised, kind, reason, __STACKTRACE__}
  end

  defp write(_server, nil, _option), do: 0
  defp write(server, binary, _option) when is_binary(binary), do: write_chunk(server, binary, 0)

  defp write(server, fun, _option) when is_function(fun, 1) do
    _ = fun.(Lacca.stdin(server, close: false))
    0
  rescue
    error in Error -> throw({:input_failed, error})
  end

  defp write(server, enumerable, option) do
    if is_list(enumerable) and iodata?(enumerable) do
      write_chunk(server, IO.iodata_to_binary(enumerable), 0)
    else
      # One write is in flight while the next chunk is taken: the Lacca process has the next chunk
      # ready when credit arrives, and the input is read at most one chunk ahead of resin.
      {written, pending} =
        Enum.reduce(enumerable, {0, nil}, fn chunk, {written, pending} ->
          chunk = chunk |> Options.iodata!(option) |> IO.iodata_to_binary()

          request =
            {:gen_server.send_request(server, {:write, chunk, :infinity}), byte_size(chunk)}

          {await_write(pending, written), request}
        end)

      await_write(pending, written)
    end
  end

  defp await_write(nil, written), do: written

  defp await_write({request, size}, written) do
    case :gen_server.wait_response(request, :infinity) do
      {:reply, :ok} ->
        written + size

      {:reply, {:error, error}} ->
        throw({:input_failed, written_error(error, written)})

      {:error, {reason, _server}} ->
        error = Error.new(:noproc, "the Lacca process is not alive", details: %{exit: reason})
        throw({:input_failed, written_error(error, written)})
    end
  end

  defp write_chunk(server, chunk, written) do
    case Lacca.write_stdin(server, chunk) do
      :ok -> written + byte_size(chunk)
      {:error, error} -> throw({:input_failed, written_error(error, written)})
    end
  end

  defp written_error(%Error{details: details} = error, written),
    do: %{error | details: Map.update(details, :written, written, &(&1 + written))}

  defp iodata?(data) do
    _ = IO.iodata_length(data)
    true
  rescue
    ArgumentError -> false
  end
end
