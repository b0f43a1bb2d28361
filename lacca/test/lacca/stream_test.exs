defmodule Lacca.StreamTest do
  # Issue 11: a command as a lazy Elixir Stream, fed from any Enumerable, halted cleanly.
  use ExUnit.Case, async: true

  alias Lacca.{Error, Exit, ExitError}
  import ExUnit.CaptureLog
  import Lacca.Test.OSProcesses

  test "stdout chunks, lazily: nothing runs until enumerated" do
    marker = marker()
    stream = Lacca.stream!("sh", ["-c", "echo #{marker}; sleep #{marker}"])
    assert find(marker) == []
    assert [line] = stream |> Stream.flat_map(&String.split(&1, "\n", trim: true)) |> Enum.take(1)
    assert line == marker
  end

  test "input: iodata, an Enumerable, a writer function" do
    assert Lacca.stream!("cat", [], input: ["a", ?b, "c"]) |> Enum.join() == "abc"

    assert Lacca.stream!("cat", [], input: Stream.map(1..3, &"#{&1}\n")) |> Enum.join() ==
             "1\n2\n3\n"

    writer = fn sink -> Enum.into(["x", "y"], sink) end
    assert Lacca.stream!("cat", [], input: writer) |> Enum.join() == "xy"
  end

  test "an endless input into a command that reads part of it" do
    input = Stream.repeatedly(fn -> "line\n" end)
    assert Lacca.stream!("head", ["-n", "3"], input: input) |> Enum.join() == "line\nline\nline\n"
  end

  test "writing never deadlocks against reading (input much larger than every window)" do
    data = :crypto.strong_rand_bytes(8 * 1_048_576)
    input = for <<chunk::binary-size(65_536) <- data>>, do: chunk
    assert Lacca.stream!("cat", [], input: input) |> Enum.join() == data
  end

  test "stream! raises ExitError with the exit and the stderr tail" do
    error =
      assert_raise ExitError, fn ->
        Lacca.stream!("sh", ["-c", "echo partial; echo broken >&2; exit 5"]) |> Enum.to_list()
      end

    assert %ExitError{exit: %Exit{exit_code: 5}, stderr: "broken\n"} = error
    assert Exception.message(error) == "the command exited with status 5: broken"
  end

  test "stream ends with the exit instead of raising" do
    assert ["out\n", {:exit, %Exit{exit_code: 1}}] =
             Lacca.stream("sh", ["-c", "echo out; exit 1"]) |> Enum.to_list()

    assert [{:error, %Error{reason: :executable_not_found}}] =
             Lacca.stream("no-such-command") |> Enum.to_list()

    assert_raise Error, fn -> Lacca.stream!("no-such-command") |> Enum.to_list() end
  end

  test "stderr: :stdout, :discard, :logger" do
    script = "echo out; echo err >&2"

    out = Lacca.stream!("sh", ["-c", script], stderr: :stdout) |> Enum.join()
    assert Enum.sort(String.split(out)) == ["err", "out"]

    assert Lacca.stream!("sh", ["-c", script], stderr: :discard) |> Enum.join() == "out\n"

    log =
      capture_log(fn ->
        assert Lacca.stream!("sh", ["-c", script], stderr: :logger) |> Enum.join() == "out\n"
      end)

    assert log =~ "err"
  end

  test "halting early stops the command's tree and leaks no process or message" do
    marker = marker()
    links = Process.info(self(), :links)
    monitors = Process.info(self(), :monitors)

    chunks =
      Lacca.stream!("sh", ["-c", "sleep #{marker} & while :; do echo y; done"],
        input: Stream.repeatedly(fn -> "z" end)
      )
      |> Enum.take(2)

    assert length(chunks) == 2
    assert find(marker) == []
    # The writer was linked, the Lacca process monitored and started from here: all gone.
    assert Process.info(self(), :links) == links
    assert Process.info(self(), :monitors) == monitors
    assert started_here() == []
    refute_received _
  end

  test "an exception in the consumer stops the command's tree too" do
    marker = marker()

    assert_raise RuntimeError, "consumer failed", fn ->
      Lacca.stream!("sh", ["-c", "sleep #{marker} & yes"])
      |> Stream.each(fn _ -> raise "consumer failed" end)
      |> Stream.run()
    end

    assert find(marker) == []
    refute_received _
  end

  test "an input that raises: the error reaches the consumer, the command is stopped" do
    marker = marker()

    input =
      Stream.map([1, 2], fn
        1 -> "a"
        2 -> raise "bad input"
      end)

    assert_raise RuntimeError, "bad input", fn ->
      Lacca.stream!("sh", ["-c", "cat; sleep #{marker}"], input: input) |> Stream.run()
    end

    assert find(marker) == []
  end

  test "a non-iodata element of the input raises ArgumentError naming :input" do
    assert_raise ArgumentError, ~r/:input/, fn ->
      Lacca.stream!("cat", [], input: Stream.map([1], fn _ -> :not_iodata end)) |> Stream.run()
    end
  end

  test "Lacca.stdin/2 is a Collectable for a running process's stdin" do
    {:ok, pid} = Lacca.start("cat", [])
    data = for i <- 1..100, do: :binary.copy(<<i>>, 50_000)
    reader = Task.async(fn -> read_all(pid, []) end)
    Enum.into(data, Lacca.stdin(pid))
    assert Task.await(reader, 30_000) == IO.iodata_to_binary(data)
  end

  defp started_here do
    for pid <- Process.list(),
        {:dictionary, dictionary} <- [Process.info(pid, :dictionary)],
        self() in Keyword.get(dictionary, :"$ancestors", []),
        do: pid
  end

  defp read_all(pid, acc) do
    case Lacca.read_stdout(pid) do
      {:ok, data} -> read_all(pid, [acc | data])
      :eof -> IO.iodata_to_binary(acc)
      {:error, error} -> raise error
    end
  end
end
