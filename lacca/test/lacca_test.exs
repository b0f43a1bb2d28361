defmodule LaccaTest do
  use ExUnit.Case, async: true

  alias Lacca.{Error, Exit, Result}
  import Lacca.Test.OSProcesses

  test "the seed's example works as written" do
    {:ok, pid} = Lacca.start("echo", ["hello, world."])
    assert Lacca.read_stdout(pid) == {:ok, "hello, world.\n"}
    # echo may not have exited yet, in which case stop/2 ends it.
    assert {:ok, %Exit{reason: reason}} = Lacca.stop(pid)
    assert reason in [:exited, :killed]
    refute Process.alive?(pid)
  end

  describe "reading buffered output" do
    test "a read takes what arrived since the previous read" do
      {:ok, pid} = Lacca.start("sh", ["-c", "echo one; read go; echo two"])
      assert Lacca.read_stdout(pid) == {:ok, "one\n"}
      :ok = Lacca.write_stdin(pid, "go\n")
      assert Lacca.read_stdout(pid) == {:ok, "two\n"}
      assert {:ok, %Exit{exit_code: 0}} = Lacca.await_exit(pid)
      assert Lacca.read_stdout(pid) == :eof
      assert Lacca.read_stderr(pid) == :eof
    end

    test "stdout and stderr are kept apart" do
      {:ok, pid} = Lacca.start("sh", ["-c", "echo out; echo err >&2; exit 7"])
      assert {:ok, %Exit{reason: :exited, exit_code: 7, signal: nil}} = Lacca.await_exit(pid)
      assert Lacca.read_stderr(pid) == {:ok, "err\n"}
      assert Lacca.read_stdout(pid) == {:ok, "out\n"}
    end

    test "output left unread is still there after the exit" do
      {:ok, pid} = Lacca.start("sh", ["-c", "printf 'a'; printf 'b'; printf 'c'"])
      assert {:ok, %Exit{}} = Lacca.await_exit(pid)
      assert Lacca.read_stdout(pid) == {:ok, "abc"}
      assert Lacca.read_stdout(pid) == :eof
    end

    test "a read times out without losing what comes later" do
      {:ok, pid} = Lacca.start("sh", ["-c", "read go; echo late"])
      assert {:error, %Error{reason: :timeout}} = Lacca.read_stdout(pid, 50)
      :ok = Lacca.write_stdin(pid, "\n")
      assert Lacca.read_stdout(pid) == {:ok, "late\n"}
    end

    test "reads are refused when output is streamed" do
      {:ok, pid} = Lacca.start("cat", [], mode: :stream)
      assert {:error, %Error{reason: :not_buffered}} = Lacca.read_stdout(pid)
      Lacca.stop(pid)
    end
  end

  describe "stdin" do
    test "round trip through cat, with close_stdin for end-of-file" do
      data = :rand.bytes(3 * 1024 * 1024 + 17)
      {:ok, pid} = Lacca.start("cat")
      :ok = Lacca.write_stdin(pid, data)
      :ok = Lacca.close_stdin(pid)
      assert read_all(pid, []) == data
      assert {:ok, %Exit{reason: :exited, exit_code: 0}} = Lacca.await_exit(pid)
    end

    test "writing after close_stdin is an error" do
      {:ok, pid} = Lacca.start("sleep", [marker()])
      :ok = Lacca.close_stdin(pid)
      assert {:error, %Error{reason: :stdin_closed}} = Lacca.write_stdin(pid, "late")
      assert :ok = Lacca.close_stdin(pid)
      Lacca.stop(pid, 0)
    end

    defp read_all(pid, acc) do
      case Lacca.read_stdout(pid) do
        {:ok, data} -> read_all(pid, [acc | data])
        :eof -> IO.iodata_to_binary(acc)
        {:error, error} -> raise error
      end
    end
  end

  describe "signals and stopping" do
    test "kill delivers any signal, by name or number" do
      for {signal, number} <- [sigusr1: 10, term: 15, sighup: 1] do
        {:ok, pid} = Lacca.start("sleep", [marker()])
        :ok = Lacca.kill(pid, signal)

        assert {:ok, %Exit{reason: :killed, signal: ^number, exit_code: nil}} =
                 Lacca.await_exit(pid)
      end

      {:ok, pid} = Lacca.start("sleep", [marker()])
      :ok = Lacca.kill(pid, 40)
      assert {:ok, %Exit{reason: :killed, signal: 40}} = Lacca.await_exit(pid)
    end

    test "kill refuses what is not a signal, and a process that has exited" do
      {:ok, pid} = Lacca.start("true")
      assert {:error, %Error{reason: :invalid_request}} = Lacca.kill(pid, :sigfoo)
      assert {:error, %Error{reason: :invalid_request}} = Lacca.kill(pid, 65)
      assert {:ok, %Exit{exit_code: 0}} = Lacca.await_exit(pid)
      assert {:error, %Error{reason: :no_process}} = Lacca.kill(pid, :sigterm)
    end

    test "stop sends SIGTERM, which ends a command that does not ignore it" do
      {:ok, pid} = Lacca.start("sleep", [marker()])
      assert {:ok, %Exit{reason: :killed, signal: 15}} = Lacca.stop(pid)
      refute Process.alive?(pid)
    end

    test "stop sends SIGKILL after the grace period to a command that ignores SIGTERM" do
      {:ok, pid} =
        Lacca.start("sh", ["-c", "trap '' TERM; echo ready; while :; do sleep 1; done"])

      assert Lacca.read_stdout(pid) == {:ok, "ready\n"}
      started = System.monotonic_time(:millisecond)
      assert {:ok, %Exit{reason: :killed, signal: 9}} = Lacca.stop(pid, 300)
      assert System.monotonic_time(:millisecond) - started >= 300
    end

    test "await_exit times out and can be called again" do
      {:ok, pid} = Lacca.start("sleep", [marker()])
      assert {:error, %Error{reason: :timeout}} = Lacca.await_exit(pid, 50)
      :ok = Lacca.kill(pid)
      assert {:ok, %Exit{reason: :killed, signal: 9}} = Lacca.await_exit(pid, 5_000)
    end

    test "calls on a Lacca process that has ended return :noproc" do
      {:ok, pid} = Lacca.start("true")
      {:ok, _} = Lacca.stop(pid)
      assert {:error, %Error{reason: :noproc}} = Lacca.read_stdout(pid)
      assert {:error, %Error{reason: :noproc}} = Lacca.stop(pid)
      assert {:error, %Error{reason: :noproc}} = Lacca.info(pid)
    end
  end

  describe "exit reports" do
    test "carry the usage of the process tree and its host pid" do
      {:ok, pid} = Lacca.start("sh", ["-c", "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done"])
      {:ok, %{os_pid: os_pid}} = Lacca.info(pid)
      assert {:ok, %Exit{os_pid: ^os_pid, usage: usage}} = Lacca.await_exit(pid)
      assert usage.wall_us > 0
      assert usage.cpu_user_us + usage.cpu_system_us > 0
      assert usage.peak_processes == nil or usage.peak_processes >= 1
    end

    test "name the limit that ended the command" do
      config = [limits: [wall_time_ms: 200]]
      {:ok, pid} = Lacca.start("sleep", [marker()], config: config)
      assert {:ok, %Exit{reason: :wall_time_limit, signal: 9}} = Lacca.await_exit(pid, 10_000)
    end
  end

  describe "run/3" do
    test "collects stdout, stderr and the exit" do
      assert {:ok, %Result{stdout: "out\n", stderr: "err\n", exit: %Exit{exit_code: 3}}} =
               Lacca.run("sh", ["-c", "echo out; echo err >&2; exit 3"])
    end

    test "feeds stdin and merges stderr into stdout on request" do
      assert {:ok, %Result{stdout: "3\n", stderr: ""}} =
               Lacca.run("wc", ["-l"], stdin: ["a\n", "b\n", "c\n"])

      assert {:ok, %Result{stdout: out, stderr: nil}} =
               Lacca.run("sh", ["-c", "echo 1; echo 2 >&2"], stderr: :stdout)

      assert Enum.sort(String.split(out)) == ["1", "2"]
    end

    test "collects into any Collectable" do
      assert {:ok, %Result{stdout: chunks}} = Lacca.run("echo", ["x"], into: [])
      assert is_list(chunks) and Enum.join(chunks) == "x\n"
    end

    test "requests sent as a command exits never cost its exit" do
      # run/3 closes stdin and stop/2 sends StopProcess just as these commands exit: a packet that
      # reaches resin as it exits must not close the port under the output not yet read.
      for _ <- 1..50 do
        assert {:ok, %Result{stdout: "x\n", exit: %Exit{exit_code: 0}}} = Lacca.run("echo", ["x"])
        {:ok, pid} = Lacca.start("true")
        assert {:ok, %Exit{}} = Lacca.stop(pid)
      end
    end

    test "returns the start's error" do
      assert {:error, %Error{reason: :executable_not_found}} = Lacca.run("no-such-command-here")
    end
  end

  test "info reports the status, pids and the host's enforcement" do
    {:ok, pid} = Lacca.start("sleep", [marker()])
    {:ok, info} = Lacca.info(pid)
    assert info.status == :running
    assert info.owner == self()
    assert is_integer(info.os_pid) and alive?(info.os_pid)
    assert is_integer(info.resin_os_pid) and alive?(info.resin_os_pid)
    assert %{"resin.version" => _, "limits.wall_time_ms" => _} = info.features
    Lacca.stop(pid, 0)
  end
end
