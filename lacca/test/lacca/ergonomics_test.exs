defmodule Lacca.ErgonomicsTest do
  # Issue 11: what System.cmd/3 users expect, wrong arguments as ArgumentError in the caller,
  # reads that cannot get stuck, and Lacca processes that do not linger.
  use ExUnit.Case, async: true

  alias Lacca.{Error, Exit, Result}
  import ExUnit.CaptureLog
  import Lacca.Test.OSProcesses

  describe "System.cmd ergonomics" do
    test "cd:, env:, timeout: and stderr_to_stdout: map onto the config" do
      assert {"/usr/bin\n", 0} = Lacca.cmd("pwd", [], cd: "/usr/bin")
      assert {"v\n", 0} = Lacca.cmd("sh", ["-c", "echo $V"], env: [{"V", "v"}])
      assert {"v\n", 0} = Lacca.cmd("sh", ["-c", "echo $V"], env: %{"V" => "v"})

      assert {:ok, %Result{exit: %Exit{reason: :wall_time_limit}}} =
               Lacca.run("sleep", [marker()], timeout: 200)

      assert {:ok, %Result{stdout: "err\n", stderr: nil}} =
               Lacca.run("sh", ["-c", "echo err >&2"], stderr_to_stdout: true)
    end

    test "cd: merges with a config that has its own filesystem section" do
      config = [filesystem: [tmpfs: [[path: "/tmp", size_bytes: 1_048_576]]]]
      assert {"/tmp\n", 0} = Lacca.cmd("pwd", [], cd: "/tmp", config: config)
    end

    test "cmd/3 returns the status like System.cmd/3: 128 + signal for a signal" do
      assert {"", 3} = Lacca.cmd("sh", ["-c", "exit 3"])
      assert {"", 137} = Lacca.cmd("sh", ["-c", "kill -9 $$"])
      assert_raise Error, ~r/executable_not_found/, fn -> Lacca.cmd("no-such-command") end
    end
  end

  describe "wrong arguments raise ArgumentError naming them, in the caller" do
    test "an argv given as one list" do
      assert_raise ArgumentError, ~r/executable must be a string.*second argument/, fn ->
        Lacca.run(["echo", "hi"])
      end

      assert_raise ArgumentError, ~r/args must be a list of strings/, fn ->
        Lacca.start("echo", "hi")
      end
    end

    test "stdin: that is not iodata, nor an Enumerable, nor a writer" do
      assert_raise ArgumentError, ~r/option :stdin must be/, fn ->
        Lacca.run("cat", [], stdin: 42)
      end

      assert_raise ArgumentError, ~r/option :stdin must be/, fn ->
        Lacca.run("cat", [], stdin: [:a, :b])
      end

      assert_raise ArgumentError, ~r/option :data must be iodata/, fn ->
        {:ok, pid} = Lacca.start("cat")
        Lacca.write_stdin(pid, %{not: :iodata})
      end
    end

    test "a Stream as stdin: is fed lazily, it does not crash anything" do
      stdin = Stream.map(1..1000, fn i -> "#{i}\n" end)
      assert {:ok, %Result{stdout: "1000\n"}} = Lacca.run("wc", ["-l"], stdin: stdin)
    end

    test "stop with a negative grace, unknown and mistyped options" do
      {:ok, pid} = Lacca.start("sleep", [marker()])
      assert_raise ArgumentError, ~r/option :grace_ms must be/, fn -> Lacca.stop(pid, -1) end
      assert Process.alive?(pid)

      assert_raise ArgumentError, ~r/option :timeout must be/, fn ->
        Lacca.read_stdout(pid, -5)
      end

      assert_raise ArgumentError, ~r/unknown options: \[:stdin\]/, fn ->
        Lacca.start("x", [], stdin: "")
      end

      assert_raise ArgumentError, ~r/option :cd must be/, fn -> Lacca.cmd("pwd", [], cd: 1) end

      assert_raise ArgumentError, ~r/option :into must be/, fn ->
        Lacca.run("pwd", [], into: 5)
      end

      assert_raise ArgumentError, ~r/ack takes/, fn -> Lacca.ack(pid, -1) end

      assert_raise ArgumentError, ~r/option :shutdown_grace_ms/, fn ->
        Lacca.child_spec(["x", [], [shutdown_grace_ms: -1]])
      end

      assert {:ok, _} = Lacca.stop(pid, 0)
    end
  end

  describe "no stuck reads" do
    test "read_any takes whichever stream has data: a stderr flood cannot block stdout" do
      # 4 MiB of stderr (four windows) before a line of stdout.
      script = "head -c 4194304 /dev/zero >&2; echo done"
      {:ok, pid} = Lacca.start("sh", ["-c", script])
      assert read_any_all(pid, %{stdout: 0, stderr: 0}) == %{stdout: 5, stderr: 4_194_304}
    end

    test "run/3 keeps at most :stderr_limit bytes of stderr, the last ones" do
      script = "printf '%0100000d\\n' 0 >&2; echo end >&2"

      assert {:ok, %Result{stderr: stderr, stderr_dropped: dropped}} =
               Lacca.run("sh", ["-c", script], stderr_limit: 1000)

      assert byte_size(stderr) == 1000
      assert String.ends_with?(stderr, "000\nend\n")
      assert dropped == 100_005 - 1000
    end

    test "a Lacca process whose exit and output have been taken does not linger" do
      {:ok, pid} = Lacca.start("sh", ["-c", "echo out; echo err >&2"])
      ref = Process.monitor(pid)
      assert {:ok, %Exit{exit_code: 0}} = Lacca.await_exit(pid)
      assert {:ok, "out\n"} = Lacca.read_stdout(pid)
      assert :eof = Lacca.read_stdout(pid)
      assert {:ok, "err\n"} = Lacca.read_stderr(pid)
      assert :eof = Lacca.read_stderr(pid)
      assert_receive {:DOWN, ^ref, :process, ^pid, :normal}, 5_000
    end

    test "on_exit: :linger keeps it until stop/2" do
      {:ok, pid} = Lacca.start("true", [], on_exit: :linger)
      assert {:ok, %Exit{}} = Lacca.await_exit(pid)
      assert :eof = Lacca.read_any(pid)
      assert Process.alive?(pid)
      assert {:ok, %Exit{}} = Lacca.stop(pid)
      refute Process.alive?(pid)
    end
  end

  describe "Logger for daemons" do
    test "log_output:, log_stderr:, log_prefix:, lines cut at log_max_line" do
      script = "echo hello; echo oops >&2; printf '%0100d' 0"

      log =
        capture_log(fn ->
          {:ok, pid} =
            Lacca.start("sh", ["-c", script],
              mode: :log,
              log_output: :info,
              log_stderr: :error,
              log_prefix: "[daemon] ",
              log_max_line: 40
            )

          assert {:ok, %Exit{exit_code: 0}} = Lacca.await_exit(pid)
        end)

      assert log =~ ~r/\[info\]\s+\[daemon\] hello/
      assert log =~ ~r/\[error\]\s+\[daemon\] oops/
      # 100 zeros and no newline: two lines of 40, and the rest at the exit.
      assert length(Regex.scan(~r/\[daemon\] 0{40}\n/, log)) == 2
      assert log =~ ~r/\[daemon\] 0{20}\n/
    end

    test "a supervised command's output goes to Logger by default" do
      log =
        capture_log(fn ->
          {:ok, sup} =
            Supervisor.start_link(
              [{Lacca, ["sh", ["-c", "echo from-daemon"], [restart: :temporary]]}],
              strategy: :one_for_one
            )

          # A temporary child that has already ended is no longer listed: echo is quick.
          case Supervisor.which_children(sup) do
            [{_, pid, _, _}] when is_pid(pid) ->
              ref = Process.monitor(pid)
              assert_receive({:DOWN, ^ref, :process, _, _}, 10_000)

            _ended ->
              :ok
          end

          Supervisor.stop(sup)
        end)

      assert log =~ "from-daemon"
    end
  end

  describe "Lacca.Output and Lacca.LogLines" do
    test "read_any readers are served by either stream, oldest first" do
      out = Lacca.Output.new()
      {:wait, out} = Lacca.Output.read(out, [:stdout, :stderr], :a, nil)
      {:wait, out} = Lacca.Output.read(out, [:stdout], :b, nil)
      {[{:reply, :a, nil, {:ok, :stderr, "e"}}], 1, out} = Lacca.Output.push(out, :stderr, "e")
      {[{:reply, :b, nil, {:ok, "o"}}], 1, out} = Lacca.Output.push(out, :stdout, "o")
      {[], 0, out} = Lacca.Output.push(out, :stdout, "x")
      {[], out} = Lacca.Output.finish(out)
      refute Lacca.Output.read_out?(out)
      {:reply, {:ok, "x"}, 1, out} = Lacca.Output.read(out, [:stdout], :c, nil)
      {:reply, :eof, 0, out} = Lacca.Output.read(out, [:stdout, :stderr], :d, nil)
      assert Lacca.Output.read_out?(out)
    end

    test "lines are split, cut at the cap, and the rest flushed" do
      {lines, rest} = Lacca.LogLines.push(Lacca.LogLines.new(), "a\r\nbb\nccccc", 3)
      assert lines == ["a", "bb", "ccc"]
      assert Lacca.LogLines.flush(rest) == ["cc"]
    end
  end

  defp read_any_all(pid, counts) do
    case Lacca.read_any(pid) do
      {:ok, stream, data} ->
        read_any_all(pid, Map.update!(counts, stream, &(&1 + byte_size(data))))

      :eof ->
        counts
    end
  end
end
