defmodule Lacca.GracefulTest do
  # Issue 11: every way a Lacca process ends stops its command gracefully — SIGTERM to the tree,
  # the grace, then SIGKILL — and so does resin when its port closes without a stop (the VM died).
  use ExUnit.Case, async: true

  import ExUnit.CaptureLog
  import Lacca.Test.OSProcesses

  # Says "ready", then on SIGTERM says "graceful <marker>" and exits 0; `sleep` keeps it running.
  defp handles_term(marker),
    do: ["-c", "trap 'echo graceful #{marker}; exit 0' TERM; echo ready; sleep #{marker} & wait"]

  # Ignores SIGTERM (and so does its sleep, which inherits the ignored disposition).
  defp ignores_term(marker),
    do: ["-c", "trap '' TERM; echo ready; sleep #{marker} & wait; sleep #{marker}"]

  defp await_gone(marker),
    do: eventually(fn -> find(marker) == [] end, 15_000, "the process tree to disappear")

  # Waits until the script has set its trap, so that the SIGTERM a test sends next meets it. The
  # shell carries the marker in its `-c` script from its exec on, before it has run a line of it, so
  # `find(marker)` would be too early (a SIGTERM then kills the shell untrapped: nothing logged, and
  # no grace waited). The scripts start `sleep <marker>` after the trap: its exec proves the trap.
  defp await_trapped(marker),
    do: eventually(fn -> find_argv(["sleep", marker]) != [] end, 10_000, "the trap to be set")

  describe "supervisor shutdown" do
    @tag :capture_log
    test "child_spec derives :shutdown from :shutdown_grace_ms, and logs output by default" do
      spec = Lacca.child_spec(["true", [], [shutdown_grace_ms: 2_000, id: :x]])
      assert %{id: :x, shutdown: 3_000} = spec
      {Lacca, :start_link, [_, _, opts]} = spec.start
      assert opts[:mode] == :log and opts[:on_exit] == :stop
      assert %{shutdown: 6_000} = Lacca.child_spec(["true"])
    end

    test "a command that handles SIGTERM gets to finish, and its last words are logged" do
      marker = marker()

      log =
        capture_log(fn ->
          {:ok, sup} =
            Supervisor.start_link([{Lacca, ["sh", handles_term(marker), []]}],
              strategy: :one_for_one
            )

          await_trapped(marker)
          Supervisor.stop(sup)
          assert find(marker) == []
        end)

      assert log =~ "ready"
      assert log =~ "graceful #{marker}"
    end

    @tag :capture_log
    test "a command that ignores SIGTERM is killed after the grace" do
      marker = marker()
      child = {Lacca, ["sh", ignores_term(marker), [shutdown_grace_ms: 300]]}
      {:ok, sup} = Supervisor.start_link([child], strategy: :one_for_one)
      await_trapped(marker)

      started = System.monotonic_time(:millisecond)
      Supervisor.stop(sup)
      assert System.monotonic_time(:millisecond) - started >= 300
      assert find(marker) == []
    end
  end

  describe "owner exit" do
    test "sends SIGTERM first: a command that handles it finishes" do
      marker = marker()
      test = self()

      log =
        capture_log(fn ->
          owner =
            spawn(fn ->
              {:ok, pid} = Lacca.start("sh", handles_term(marker), mode: :log, log_output: :info)
              send(test, {:lacca, pid})
              receive do: (:exit -> :ok)
            end)

          assert_receive {:lacca, lacca}, 15_000
          ref = Process.monitor(lacca)
          await_trapped(marker)
          send(owner, :exit)

          assert_receive {:DOWN, ^ref, :process, ^lacca, {:shutdown, {:owner_exited, :normal}}},
                         15_000

          assert find(marker) == []
        end)

      assert log =~ "graceful #{marker}"
    end

    test "a last line without its newline is logged even if resin dies during the grace" do
      marker = marker()
      test = self()

      script =
        "trap '' TERM; printf 'last words #{marker}'; sleep #{marker} & wait; sleep #{marker}"

      log =
        capture_log(fn ->
          owner =
            spawn(fn ->
              {:ok, pid} =
                Lacca.start("sh", ["-c", script],
                  mode: :log,
                  log_output: :info,
                  shutdown_grace_ms: 60_000
                )

              send(test, {:lacca, pid})
              receive do: (:exit -> :ok)
            end)

          assert_receive {:lacca, lacca}, 15_000
          ref = Process.monitor(lacca)
          {:ok, %{resin_os_pid: resin}} = Lacca.info(lacca)
          await_trapped(marker)
          # The partial line has reached the Lacca process, which holds it for its newline.
          eventually(fn -> :sys.get_state(lacca).logs.stdout != Lacca.LogLines.new() end)

          # terminate/2 sends StopProcess and waits out the grace, which the command ignores; resin
          # dies meanwhile (its sandbox with it), so no ExitStatus comes.
          send(owner, :exit)
          waiting = {:current_function, {Lacca.Server, :await_gone, 2}}
          eventually(fn -> Process.info(lacca, :current_function) == waiting end)
          System.cmd("kill", ["-KILL", Integer.to_string(resin)])

          assert_receive {:DOWN, ^ref, :process, ^lacca, {:shutdown, {:owner_exited, :normal}}},
                         15_000

          await_gone(marker)
        end)

      assert log =~ "last words #{marker}"
    end

    test "a command that ignores SIGTERM is killed after the grace" do
      marker = marker()
      test = self()

      owner =
        spawn(fn ->
          {:ok, pid} = Lacca.start("sh", ignores_term(marker), shutdown_grace_ms: 200)
          send(test, {:lacca, pid})
          receive do: (:exit -> :ok)
        end)

      assert_receive {:lacca, lacca}, 15_000
      ref = Process.monitor(lacca)
      await_trapped(marker)

      started = System.monotonic_time(:millisecond)
      send(owner, :exit)
      assert_receive {:DOWN, ^ref, :process, ^lacca, _}, 15_000
      assert System.monotonic_time(:millisecond) - started >= 200
      assert find(marker) == []
    end
  end

  describe "stop/2" do
    test "a command that handles SIGTERM exits on its own terms" do
      marker = marker()
      {:ok, pid} = Lacca.start("sh", handles_term(marker))
      assert {:ok, "ready\n"} = Lacca.read_stdout(pid)
      assert {:ok, %Lacca.Exit{}} = Lacca.stop(pid, 5_000)
      assert find(marker) == []
    end
  end

  describe "the port closes without a stop (the VM died)" do
    test "resin sends SIGTERM and gives the grace: a command that handles it finishes" do
      marker = marker()
      # Somewhere the command's unprivileged user can write.
      dir = Path.join(System.tmp_dir!(), "lacca-graceful-#{System.unique_integer([:positive])}")
      File.mkdir_p!(dir)
      File.chmod!(dir, 0o777)
      on_exit(fn -> File.rm_rf!(dir) end)
      file = Path.join(dir, "last-words")
      script = "trap 'echo graceful > #{file}; exit 0' TERM; echo ready; sleep #{marker} & wait"
      {:ok, lacca} = Lacca.start("sh", ["-c", script], config: :trusted)
      assert {:ok, "ready\n"} = Lacca.read_stdout(lacca)

      # :kill skips terminate/2: only the port's closing tells resin.
      Process.exit(lacca, :kill)
      await_gone(marker)
      assert File.read!(file) == "graceful\n"
    end

    test "a command that ignores SIGTERM is gone after the grace lacca sent" do
      marker = marker()
      {:ok, lacca} = Lacca.start("sh", ignores_term(marker), shutdown_grace_ms: 300)
      assert {:ok, "ready\n"} = Lacca.read_stdout(lacca)
      Process.exit(lacca, :kill)
      await_gone(marker)
    end
  end
end
