defmodule Lacca.StdinCreditTest do
  # Issue 11: stdin under resin's credit (protocol v2). Nothing is lost, nothing is queued beyond the
  # window, and a command that does not read makes its writer wait: nothing reports success.
  use ExUnit.Case, async: true

  alias Lacca.{Error, Exit, Result, StdinQueue}
  import Lacca.Test.OSProcesses

  @mib 1_048_576

  @tag :slow
  @tag timeout: 300_000
  test "1 GiB through cat, in and out at once: SHA-256 equal, BEAM memory bounded" do
    test = self()
    block = :crypto.strong_rand_bytes(65_532)
    chunks = 16_384

    # Generated lazily in the writer, hashed as it goes: the input is never held whole.
    input =
      Stream.transform(
        1..chunks,
        fn -> :crypto.hash_init(:sha256) end,
        fn i, hash ->
          chunk = <<i::32, block::binary>>
          {[chunk], :crypto.hash_update(hash, chunk)}
        end,
        fn hash -> send(test, {:input_sha256, :crypto.hash_final(hash)}) end
      )

    :erlang.garbage_collect()
    baseline = :erlang.memory(:total)

    {bytes, hash, peak} =
      Lacca.stream!("cat", [], input: input, config: :trusted)
      |> Enum.reduce({0, :crypto.hash_init(:sha256), 0}, fn data, {bytes, hash, peak} ->
        {bytes + byte_size(data), :crypto.hash_update(hash, data),
         max(peak, :erlang.memory(:total))}
      end)

    assert bytes == chunks * 65_536
    assert_receive {:input_sha256, input_sha256}
    assert :crypto.hash_final(hash) == input_sha256

    # The bound: the output window (1 MiB) + resin's stdin window (1 MiB) in flight, one input
    # chunk, and the garbage of the chunks in between collections: 64 MiB over the baseline.
    assert peak - baseline < 64 * @mib, "BEAM memory grew by #{div(peak - baseline, @mib)} MiB"
  end

  test "run/3 delivers 24 MiB of stdin to cat whole (v1 dropped 5 MiB of it)" do
    data = :crypto.strong_rand_bytes(24 * @mib)

    assert {:ok, %Result{stdout: ^data, stdin: :ok, exit: %Exit{exit_code: 0}}} =
             Lacca.run("cat", [], stdin: data, config: :trusted)
  end

  test "a command that never reads stdin: the writer blocks, then times out with what went in" do
    {:ok, pid} = Lacca.start("sleep", [marker()])
    data = :binary.copy("x", 8 * @mib)

    assert {:error, %Error{reason: :timeout, details: %{written: written}}} =
             Lacca.write_stdin(pid, data, 500)

    # resin's window (1 MiB) plus what the pipe took (resin sizes it to 1 MiB), in 64 KiB pieces.
    assert written <= 2 * @mib
    assert rem(written, StdinQueue.piece_size()) == 0
    assert {:ok, %{pending_stdin: 0}} = Lacca.info(pid)

    # A small write is all or nothing: it times out having written nothing.
    assert {:error, %Error{reason: :timeout, details: %{written: 0}}} =
             Lacca.write_stdin(pid, "y", 100)

    Lacca.stop(pid, 0)
  end

  test "run/3 with a command that never reads: nothing reports success" do
    data = :binary.copy("x", 24 * @mib)

    assert {:ok, %Result{stdin: %Error{details: %{written: written}}, exit: exit}} =
             Lacca.run("sleep", ["0.3"], stdin: data)

    assert %Exit{exit_code: 0} = exit
    assert written < 24 * @mib
  end

  test "a command that closes its stdin: the blocked writer fails, later writes fail too" do
    {:ok, pid} = Lacca.start("sh", ["-c", "exec 0<&-; echo closed; exec sleep #{marker()}"])
    assert {:ok, "closed\n"} = Lacca.read_stdout(pid)

    assert {:error, %Error{reason: reason}} = Lacca.write_stdin(pid, :binary.copy("x", 4 * @mib))
    assert reason in [:stdin_broken, :stdin_overflow]
    assert {:error, %Error{reason: ^reason}} = Lacca.write_stdin(pid, "more")
    Lacca.stop(pid, 0)
  end

  test "writes keep their order and are all delivered while another process reads" do
    {:ok, pid} = Lacca.start("cat", [])
    pieces = for i <- 1..40, do: :binary.copy(<<i>>, 100_000)
    # Read concurrently: 4 MB is more than every window, and cat blocks once stdout is full.
    reader = Task.async(fn -> read_all(pid, []) end)

    for piece <- pieces, do: :ok = Lacca.write_stdin(pid, piece)
    :ok = Lacca.close_stdin(pid)
    assert Task.await(reader, 30_000) == IO.iodata_to_binary(pieces)
  end

  describe "Lacca.StdinQueue" do
    test "as much as the credit allows goes in one packet, in whole 64 KiB units" do
      q = StdinQueue.new(1_048_576 + 1000)

      {[{:send, first}, {:send, second}], q} =
        StdinQueue.write(q, :a, :binary.copy("x", 3_000_000), nil)

      # One packet holds at most 15 whole units; the credit left covers one more.
      assert byte_size(first) == 15 * 65_536
      assert byte_size(second) == 65_536
      assert q.credit == 1000
    end

    test "never sends beyond the credit, in whole pieces, and replies once all is sent" do
      q = StdinQueue.new(100_000)
      {actions, q} = StdinQueue.write(q, :a, :binary.copy("x", 200_000), nil)
      assert [{:send, piece}] = actions
      assert byte_size(piece) == 65_536
      assert q.credit == 100_000 - 65_536

      {actions, q} = StdinQueue.grant(q, 60_000)
      assert [{:send, _}] = actions
      assert q.credit == 100_000 + 60_000 - 2 * 65_536
      {actions, q} = StdinQueue.grant(q, 100_000)
      assert [{:send, last}, {:reply, :a, nil, :ok}] = actions
      assert byte_size(last) == 200_000 - 2 * 65_536
      assert StdinQueue.pending(q) == 0
    end

    test "a close waits behind the writes; a timed out write reports what was written" do
      q = StdinQueue.new(70_000)
      {_, q} = StdinQueue.write(q, :a, :binary.copy("x", 150_000), nil)
      {[], q} = StdinQueue.close(q, :b)
      # The timed out write leaves, and the close behind it goes out.
      assert {[
                {:reply, :a, nil,
                 {:error, %Error{reason: :timeout, details: %{written: 65_536}}}},
                :send_close,
                {:reply, :b, nil, :ok}
              ], q} = StdinQueue.time_out(q, :a)

      assert q.state == :closed
    end

    test "whatever the order of events: never beyond the credit, every write whole and in order" do
      :rand.seed(:exsss, {11, 12, 13})

      Enum.reduce(1..5_000, {StdinQueue.new(0), 0, 0, %{}, []}, fn _,
                                                                   {q, granted, sent, writes, log} ->
        {q, granted, writes, actions} =
          case :rand.uniform(3) do
            1 ->
              from = make_ref()
              data = :binary.copy(<<:rand.uniform(255)>>, :rand.uniform(200_000))
              {actions, q} = StdinQueue.write(q, from, data, nil)
              {q, granted, Map.put(writes, from, data), actions}

            2 ->
              bytes = :rand.uniform(100_000)
              {actions, q} = StdinQueue.grant(q, bytes)
              {q, granted + bytes, writes, actions}

            3 ->
              case Map.keys(writes) do
                [] ->
                  {q, granted, writes, []}

                froms ->
                  {actions, q} = StdinQueue.time_out(q, Enum.random(froms))
                  {q, granted, writes, actions}
              end
          end

        {sent, writes, log} =
          Enum.reduce(actions, {sent, writes, log}, fn
            {:send, piece}, {sent, writes, log} ->
              assert byte_size(piece) <= Lacca.Protocol.max_data_in_payload()
              {sent + byte_size(piece), writes, [piece | log]}

            {:reply, from, nil, :ok}, {sent, writes, log} ->
              # A completed write went out whole, as the last pieces sent.
              data = Map.fetch!(writes, from)
              assert log |> Enum.reverse() |> IO.iodata_to_binary() |> String.ends_with?(data)
              {sent, Map.delete(writes, from), []}

            {:reply, from, nil, {:error, %Error{details: %{written: written}}}}, acc ->
              {sent, writes, log} = acc
              assert rem(written, StdinQueue.piece_size()) == 0
              {sent, Map.delete(writes, from), log}
          end)

        assert sent <= granted
        assert q.credit == granted - sent
        {q, granted, sent, writes, log}
      end)
    end

    test "a failure answers every waiter" do
      q = StdinQueue.new(0)
      {[], q} = StdinQueue.write(q, :a, "abc", nil)
      error = Error.new(:stdin_broken, "gone")

      {[{:reply, :a, nil, {:error, %Error{reason: :stdin_broken}}}], q} =
        StdinQueue.fail(q, error)

      assert {[{:reply, :c, nil, {:error, %Error{reason: :stdin_broken}}}], _} =
               StdinQueue.write(q, :c, "x", nil)
    end
  end

  defp read_all(pid, acc) do
    case Lacca.read_stdout(pid) do
      {:ok, data} -> read_all(pid, [acc | data])
      :eof -> IO.iodata_to_binary(acc)
      {:error, error} -> raise error
    end
  end
end
