defmodule Lacca.FlowControlTest do
  # Output is demand-driven: a consumer that does not keep up blocks the command, and the BEAM holds
  # at most :window bytes of its output. And nothing is ever lost.
  use ExUnit.Case, async: true

  alias Lacca.{Exit, Result}
  alias Lacca.Test.Digest
  import Lacca.Test.OSProcesses

  @window 256 * 1024
  @mib 1024 * 1024

  test "streamed: no more than the window arrives until it is acknowledged" do
    {:ok, pid} =
      Lacca.start("head", ["-c", "#{64 * @mib}", "/dev/zero"], mode: :stream, window: @window)

    # Take what arrives without acknowledging: a whole window, and then nothing more.
    received = receive_unacked(pid, 0)
    assert received == @window
    refute_receive {:lacca, ^pid, {:stdout, _}}, 300
    assert {:ok, %{status: :running, pending_output: @window}} = Lacca.info(pid)

    Lacca.ack(pid, received)
    assert receive_all(pid, received) == 64 * @mib
  end

  test "buffered: unread output stops at the window and the command waits" do
    {:ok, pid} = Lacca.start("head", ["-c", "#{64 * @mib}", "/dev/zero"], window: @window)

    eventually(fn -> match?({:ok, %{pending_output: @window}}, Lacca.info(pid)) end)
    # The command cannot finish while its output is unread...
    assert {:error, %Lacca.Error{reason: :timeout}} = Lacca.await_exit(pid, 200)
    assert {:ok, %{pending_output: @window}} = Lacca.info(pid)

    # ...and every byte is there once it is read.
    assert read_count(pid, 0) == 64 * @mib
    assert {:ok, %Exit{exit_code: 0}} = Lacca.await_exit(pid)
  end

  test "a slow consumer keeps the BEAM's memory bounded" do
    {:ok, pid} =
      Lacca.start("head", ["-c", "#{256 * @mib}", "/dev/zero"], mode: :stream, window: @window)

    {bytes, peak_mailbox} = slow_consume(pid, 0, 0)
    assert bytes == 256 * @mib
    assert peak_mailbox <= @window
  end

  @tag :slow
  test "1 GiB of output arrives byte-exact" do
    size = 1024 * @mib
    # stdout: 1 GiB of random bytes; stderr: their MD5, computed inside the sandbox. (A fifo, as
    # the sandboxed user may not reopen its stdio pipes through /dev/fd.)
    script =
      "mkfifo /tmp/copy; md5sum </tmp/copy >&2 & " <>
        "head -c #{size} /dev/urandom | tee /tmp/copy; wait"

    assert {:ok, %Result{stdout: %Digest{} = digest, stderr: md5sum, exit: exit}} =
             Lacca.run("sh", ["-c", script], into: Digest.new())

    assert %Exit{reason: :exited, exit_code: 0} = exit
    assert digest.bytes == size
    assert [digest.md5, "-"] == String.split(md5sum)
  end

  defp receive_unacked(_pid, received) when received >= @window, do: received

  defp receive_unacked(pid, received) do
    receive do
      {:lacca, ^pid, {:stdout, data}} -> receive_unacked(pid, received + byte_size(data))
    after
      10_000 -> received
    end
  end

  defp receive_all(pid, received) do
    receive do
      {:lacca, ^pid, {:stdout, data}} ->
        Lacca.ack(pid, data)
        receive_all(pid, received + byte_size(data))

      {:lacca, ^pid, {:exit, %Exit{exit_code: 0}}} ->
        received

      {:lacca, ^pid, {:error, error}} ->
        raise error
    end
  end

  defp read_count(pid, count) do
    case Lacca.read_stdout(pid) do
      {:ok, data} -> read_count(pid, count + byte_size(data))
      :eof -> count
      {:error, error} -> raise error
    end
  end

  # Acknowledges each chunk only after a message round trip to another process, while measuring
  # how much output waits in this process's mailbox.
  defp slow_consume(pid, bytes, peak) do
    {:messages, messages} = Process.info(self(), :messages)

    waiting =
      for {:lacca, ^pid, {:stdout, data}} <- messages,
          reduce: 0,
          do: (acc -> acc + byte_size(data))

    receive do
      {:lacca, ^pid, {:stdout, data}} ->
        task = Task.async(fn -> :erlang.md5(data) end)
        Task.await(task)
        Lacca.ack(pid, data)
        slow_consume(pid, bytes + byte_size(data), max(peak, waiting))

      {:lacca, ^pid, {:exit, _}} ->
        {bytes, max(peak, waiting)}

      {:lacca, ^pid, {:error, error}} ->
        raise error
    end
  end
end
