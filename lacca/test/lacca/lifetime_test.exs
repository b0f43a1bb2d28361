defmodule Lacca.LifetimeTest do
  # The point of lacca: an OS process tree never outlives the Erlang process that owns it.
  use ExUnit.Case, async: true

  alias Lacca.{Error, Exit}
  import Lacca.Test.OSProcesses

  # A shell with two background sleeps: a tree of three processes, all carrying `marker`.
  defp tree(marker), do: ["-c", "sleep #{marker} & sleep #{marker} & wait"]

  defp await_tree(marker) do
    eventually(fn -> length(find(marker)) == 3 end, 10_000, "the process tree to start")
  end

  defp await_gone(marker) do
    eventually(fn -> find(marker) == [] end, 10_000, "the process tree to disappear")
  end

  # Starts a tree from a new owner process, which then waits for :exit; returns both pids, with
  # the Lacca process monitored and its tree running.
  defp start_owned(start_fun, marker) do
    test = self()

    owner =
      spawn(fn ->
        {:ok, pid} = start_fun.("sh", tree(marker))
        send(test, {:lacca, pid})
        receive do: (:exit -> :ok)
      end)

    assert_receive {:lacca, lacca}, 15_000
    Process.monitor(lacca)
    await_tree(marker)
    {owner, lacca}
  end

  # start/4 runs the command from a GenServer and then asks it whether the start worked: a command
  # that ends before the question (the asker not yet scheduled) must still answer it, then stop.
  test "a command that ends before its starter asks still reports its start" do
    {:ok, options} = Lacca.Options.validate(mode: :stream)
    {:ok, server} = GenServer.start(Lacca.Server, {"true", [], options})
    ref = Process.monitor(server)

    eventually(
      fn -> match?({:ended_unannounced, _, _}, :sys.get_state(server).session) end,
      10_000,
      "the command to end"
    )

    assert :ok = GenServer.call(server, :await_started)
    assert_receive {:DOWN, ^ref, :process, ^server, :normal}, 5_000
  end

  @tag :capture_log
  test "a linked owner that crashes takes the whole OS process tree with it" do
    marker = marker()
    {owner, lacca} = start_owned(&Lacca.start_link/2, marker)

    Process.exit(owner, :kill)

    assert_receive {:DOWN, _, :process, ^lacca, :killed}, 5_000
    await_gone(marker)
  end

  test "an unlinked Lacca process ends with its owner, like a port" do
    marker = marker()
    {owner, lacca} = start_owned(&Lacca.start/2, marker)

    send(owner, :exit)

    assert_receive {:DOWN, _, :process, ^lacca, {:shutdown, {:owner_exited, :normal}}}, 5_000
    await_gone(marker)
  end

  test "a Lacca process killed outright still takes the tree with it" do
    marker = marker()
    {:ok, lacca} = Lacca.start("sh", tree(marker))
    await_tree(marker)
    Process.exit(lacca, :kill)
    await_gone(marker)
  end

  test "stop/2 ends the whole tree, not only the command" do
    marker = marker()
    {:ok, lacca} = Lacca.start("sh", tree(marker))
    await_tree(marker)
    assert {:ok, %Exit{}} = Lacca.stop(lacca)
    await_gone(marker)
  end

  test "kill -9 of resin: the Lacca process says so and the sandbox is gone" do
    marker = marker()
    {:ok, lacca} = Lacca.start("sh", tree(marker))
    await_tree(marker)
    {:ok, %{resin_os_pid: resin}} = Lacca.info(lacca)

    {_, 0} = System.cmd("kill", ["-9", Integer.to_string(resin)])

    assert {:error, %Error{reason: :resin_crashed, details: %{signal: 9}}} =
             Lacca.await_exit(lacca, 5_000)

    assert {:error, %Error{reason: :resin_crashed}} = Lacca.read_stdout(lacca)

    await_gone(marker)
  end

  @tag :capture_log
  test "with on_exit: :stop the Lacca process ends with the command, abnormally if it failed" do
    # Each command waits for a line, so that the monitor is in place before it exits.
    {:ok, ok} = Lacca.start("sh", ["-c", "read x"], on_exit: :stop)
    ok_ref = Process.monitor(ok)
    :ok = Lacca.write_stdin(ok, "\n")
    assert_receive {:DOWN, ^ok_ref, :process, ^ok, :normal}, 5_000

    {:ok, failed} = Lacca.start("sh", ["-c", "read x; exit 4"], on_exit: :stop)
    failed_ref = Process.monitor(failed)
    :ok = Lacca.write_stdin(failed, "\n")
    assert_receive {:DOWN, ^failed_ref, :process, ^failed, {:exit, %Exit{exit_code: 4}}}, 5_000
  end

  @tag :capture_log
  test "under a supervisor a command is restarted when it dies, and stopped with the tree" do
    marker = marker()
    children = [{Lacca, ["sh", tree(marker), [id: :sleeper]]}]
    {:ok, supervisor} = Supervisor.start_link(children, strategy: :one_for_one)
    [{:sleeper, first, :worker, [Lacca]}] = Supervisor.which_children(supervisor)
    ref = Process.monitor(first)
    await_tree(marker)

    :ok = Lacca.kill(first, :sigkill)

    assert_receive {:DOWN, ^ref, :process, ^first, {:exit, %Exit{reason: :killed, signal: 9}}},
                   5_000

    second =
      eventually(fn ->
        case Supervisor.which_children(supervisor) do
          [{:sleeper, pid, :worker, _}] when is_pid(pid) and pid != first -> pid
          _ -> nil
        end
      end)

    assert {:ok, %{status: :running}} = Lacca.info(second)
    await_tree(marker)

    :ok = Supervisor.stop(supervisor)
    await_gone(marker)
  end

  @tag :slow
  test "kill -9 of the whole BEAM leaves no process of the sandbox behind" do
    marker = marker()
    ebin = Path.dirname(:code.which(Lacca))

    # The VM does not start lacca's application: no pool, the unpooled path (StartProcess).
    # Lacca.PoolTest kills a VM whose start is pooled and whose pool holds prepared sandboxes.
    # The marker reaches the VM through its environment: only the sandboxed tree may carry it.
    script = """
    marker = System.fetch_env!("LACCA_TEST_MARKER")
    {:ok, pid} = Lacca.start("sh", ["-c", "sleep \#{marker} & sleep \#{marker} & wait"])
    {:ok, info} = Lacca.info(pid)
    IO.puts("ready \#{System.pid()} \#{info.resin_os_pid}")
    Process.sleep(:infinity)
    """

    vm =
      Port.open({:spawn_executable, System.find_executable("elixir")}, [
        :binary,
        :exit_status,
        {:line, 1024},
        args: ["-pa", ebin, "-e", script],
        env: [{~c"LACCA_TEST_MARKER", String.to_charlist(marker)}]
      ])

    {:os_pid, vm_os_pid} = Port.info(vm, :os_pid)

    on_exit(fn ->
      System.cmd("kill", ["-9", Integer.to_string(vm_os_pid)], stderr_to_stdout: true)
    end)

    assert_receive {^vm, {:data, {:eol, "ready " <> pids}}}, 30_000
    [beam, resin] = pids |> String.split() |> Enum.map(&String.to_integer/1)
    await_tree(marker)
    assert alive?(resin)

    {_, 0} = System.cmd("kill", ["-9", Integer.to_string(beam)])
    assert_receive {^vm, {:exit_status, 137}}, 5_000

    await_gone(marker)
    eventually(fn -> not alive?(resin) end, 10_000, "resin to exit")
  end
end
