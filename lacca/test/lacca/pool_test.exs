defmodule Lacca.PoolTest do
  # Lacca.Pool: starts take handshaken resins; ownership and lifetime are those of any start.
  # Not async: the tests read and kill the node's pool, which async tests would draw from.
  use ExUnit.Case, async: false

  alias Lacca.{Error, Exit, Pool}
  import Lacca.Test.OSProcesses

  # A fresh pool, holding only its prewarmed stocks: the configs other tests started (each arms
  # a stock) do not take its places.
  setup do
    :ok = Supervisor.terminate_child(Lacca.Supervisor, Pool)
    {:ok, _} = Supervisor.restart_child(Lacca.Supervisor, Pool)
    :ok
  end

  defp tree(marker), do: ["-c", "sleep #{marker} & sleep #{marker} & wait"]

  defp await_tree(marker),
    do: eventually(fn -> length(find(marker)) == 3 end, 10_000, "the process tree to start")

  defp await_gone(marker),
    do: eventually(fn -> find(marker) == [] end, 10_000, "the process tree to disappear")

  # The pool's idle resins (all alive, all resin), once its stock of the default config holds
  # `count` and nothing is being prepared.
  defp await_stock(count \\ 2, pool \\ Pool) do
    {:ok, path} = Lacca.Resin.path(nil)
    {:ok, json} = Lacca.Config.to_json(nil)
    default = {path, Lacca.Pool.Entry.key(json)}

    eventually(
      fn ->
        info = Pool.info(pool)
        Map.get(info.ready, default, 0) >= count and info.starting == 0 and info.resin_os_pids
      end,
      10_000,
      "the pool to hold #{count} resins"
    )
  end

  defp resin?(pid), do: File.read!("/proc/#{pid}/cmdline") |> String.contains?("resin")

  # Starts from a fresh owner process that waits for :exit; the start must be pooled. Returns the
  # owner, the Lacca process, and the OS pids of its resin and of everything under it (the
  # prepared sandbox's init and the command's tree).
  defp start_owned(start_fun, marker) do
    test = self()
    idle = await_stock()

    owner =
      spawn(fn ->
        {:ok, pid} = start_fun.("sh", tree(marker))
        send(test, {:lacca, pid})
        receive do: (:exit -> :ok)
      end)

    assert_receive {:lacca, lacca}, 15_000
    Process.monitor(lacca)
    {:ok, info} = Lacca.info(lacca)
    assert info.pooled
    assert info.resin_os_pid in idle
    await_tree(marker)
    {owner, lacca, [info.resin_os_pid | descendants(info.resin_os_pid)]}
  end

  defp await_all_gone(pids),
    do:
      eventually(fn -> not Enum.any?(pids, &alive?/1) end, 10_000, "resin and its sandbox to go")

  test "a start takes an idle resin from the pool, which refills in the background" do
    idle = await_stock()
    assert Enum.all?(idle, &(alive?(&1) and resin?(&1)))

    {:ok, pid} = Lacca.start("cat")
    {:ok, info} = Lacca.info(pid)
    assert %{pooled: true, node: node, status: :running} = info
    assert node == node()
    assert info.resin_os_pid in idle
    # The features of the pool's HelloReply travel with the port: those of an unpooled start.
    {:ok, unpooled} = Lacca.start("true", [], pool: false)
    {:ok, %{features: features, pooled: false}} = Lacca.info(unpooled)
    assert info.features == features and is_map_key(features, "syscalls")

    # Nothing lost in either direction through the handed-over port.
    data = :crypto.strong_rand_bytes(300_000)
    :ok = Lacca.write_stdin(pid, data)
    :ok = Lacca.close_stdin(pid)
    assert read_all(pid, "") == data
    assert {:ok, %Exit{exit_code: 0}} = Lacca.await_exit(pid, 5_000)

    refilled = await_stock()
    refute info.resin_os_pid in refilled
  end

  test "every start, not only the first: 20 in a row are pooled and all succeed" do
    for i <- 1..20 do
      await_stock(1)
      assert {:ok, %Lacca.Result{stdout: out}} = Lacca.run("echo", ["#{i}"])
      assert out == "#{i}\n"
    end
  end

  test "pool: false and an explicit resin: take today's path" do
    await_stock()
    {:ok, a} = Lacca.start("cat", [], pool: false)
    {:ok, resin} = Lacca.Resin.path(nil)
    {:ok, b} = Lacca.start("cat", [], resin: resin)
    assert {:ok, %{pooled: false}} = Lacca.info(a)
    assert {:ok, %{pooled: false}} = Lacca.info(b)
    # Both still work as before.
    :ok = Lacca.write_stdin(a, "x")
    assert {:ok, "x"} = Lacca.read_stdout(a)
    for pid <- [a, b], do: {:ok, _} = Lacca.stop(pid)
  end

  @tag :capture_log
  test "a linked owner that crashes takes a pooled sandbox's tree and resin with it" do
    marker = marker()
    {owner, lacca, resin_tree} = start_owned(&Lacca.start_link/2, marker)
    Process.exit(owner, :kill)
    assert_receive {:DOWN, _, :process, ^lacca, :killed}, 5_000
    await_gone(marker)
    await_all_gone(resin_tree)
  end

  test "an unlinked pooled Lacca process ends with its owner" do
    marker = marker()
    {owner, lacca, resin_tree} = start_owned(&Lacca.start/2, marker)
    send(owner, :exit)
    assert_receive {:DOWN, _, :process, ^lacca, {:shutdown, {:owner_exited, :normal}}}, 5_000
    await_gone(marker)
    await_all_gone(resin_tree)
  end

  test "a pooled Lacca process killed outright takes the tree with it" do
    marker = marker()
    {_owner, lacca, resin_tree} = start_owned(&Lacca.start/2, marker)
    Process.exit(lacca, :kill)
    await_gone(marker)
    await_all_gone(resin_tree)
  end

  test "kill -9 of a pooled resin: the Lacca process says so and the sandbox is gone" do
    marker = marker()
    {_owner, lacca, [resin | _] = resin_tree} = start_owned(&Lacca.start/2, marker)
    {_, 0} = System.cmd("kill", ["-9", Integer.to_string(resin)])

    assert {:error, %Error{reason: :resin_crashed, details: %{signal: 9}}} =
             Lacca.await_exit(lacca, 5_000)

    await_gone(marker)
    await_all_gone(resin_tree)
  end

  @tag :capture_log
  test "a dying pool leaves no resin running, and takes nothing it handed out" do
    marker = marker()
    {_owner, lacca, resin_tree} = start_owned(&Lacca.start/2, marker)
    idle = await_stock()
    # Each idle resin holds a prepared sandbox: its init at least.
    idle_sandboxes = Enum.flat_map(idle, &descendants/1)
    assert length(idle_sandboxes) >= length(idle)
    pool = Process.whereis(Pool)
    ref = Process.monitor(pool)

    Process.exit(pool, :kill)
    assert_receive {:DOWN, ^ref, :process, ^pool, :killed}

    eventually(
      fn -> not Enum.any?(idle ++ idle_sandboxes, &alive?/1) end,
      10_000,
      "the idle resins and their sandboxes to go"
    )

    # The start it handed out belongs to its Lacca process, not to the pool.
    assert length(find(marker)) == 3
    assert Enum.all?(resin_tree, &alive?/1)
    assert {:ok, %{status: :running}} = Lacca.info(lacca)
    assert {:ok, %Exit{signal: 15}} = Lacca.stop(lacca)
    await_gone(marker)
    await_all_gone(resin_tree)

    # The supervisor starts a new pool, which stocks new resins.
    eventually(fn -> Process.whereis(Pool) not in [nil, pool] end)
    assert MapSet.disjoint?(MapSet.new(await_stock()), MapSet.new(idle))
  end

  @tag :capture_log
  test "an idle resin that died is discarded, never handed out" do
    idle = await_stock()
    assert length(idle) >= 2

    for pid <- idle, do: {_, 0} = System.cmd("kill", ["-9", Integer.to_string(pid)])
    # The control: the pool held them, and now they are dead.
    eventually(fn -> not Enum.any?(idle, &alive?/1) end)

    # At once: every start works, on a live resin (a dead one the pool had not yet heard of is
    # replaced by a resin of the Lacca process's own before StartProcess is answered).
    for _ <- 1..6, do: assert_start_works(idle)

    # Once the pool has heard, the dead ones are gone from it and starts are pooled again.
    eventually(fn -> not Enum.any?(Pool.info().resin_os_pids, &(&1 in idle)) end)
    await_stock()
    assert %{pooled: true} = assert_start_works(idle)
  end

  defp assert_start_works(dead) do
    assert {:ok, pid} = Lacca.start("cat")
    {:ok, info} = Lacca.info(pid)
    refute info.resin_os_pid in dead
    :ok = Lacca.write_stdin(pid, "ok")
    assert {:ok, "ok"} = Lacca.read_stdout(pid)
    {:ok, _} = Lacca.stop(pid)
    info
  end

  test "a start that finds its stock empty while a sandbox is being prepared for it waits for that one" do
    name = :"pool_#{System.unique_integer([:positive])}"
    {:ok, resin} = Lacca.Resin.path(nil)

    {:ok, pool} =
      Pool.start_link(
        name: name,
        max_per_config: 1,
        max_total: 2,
        prewarm: [:default],
        idle_timeout_ms: :infinity
      )

    assert length(await_stock(1, name)) == 1
    {:ok, options} = Lacca.Options.validate([])
    {:ok, first} = Pool.checkout(resin, options, name)
    # The emptied stock is being refilled: the next start waits for that sandbox instead of
    # building one of its own from nothing.
    assert %{starting: 1} = Pool.info(name)
    assert {:ok, second} = Pool.checkout(resin, options, name)
    assert second.port != first.port
    assert second.port |> Port.info(:connected) == {:connected, self()}
    Lacca.Pool.Entry.close(first)
    Lacca.Pool.Entry.close(second)
    GenServer.stop(pool)
  end

  test "bounded per config and in total; an idle stock is closed" do
    name = :"pool_#{System.unique_integer([:positive])}"
    {:ok, resin} = Lacca.Resin.path(nil)

    {:ok, pool} =
      Pool.start_link(
        name: name,
        max_per_config: 3,
        max_total: 4,
        prewarm: [:default],
        idle_timeout_ms: :infinity
      )

    assert length(await_stock(3, name)) == 3
    {:ok, options} = Lacca.Options.validate([])
    {:ok, entry} = Pool.checkout(resin, options, name)
    assert entry.port |> Port.info(:connected) == {:connected, self()}
    Lacca.Pool.Entry.close(entry)
    assert length(await_stock(3, name)) == 3
    assert Pool.info(name).starting == 0
    GenServer.stop(pool)

    {:ok, pool} =
      Pool.start_link(
        name: name,
        max_per_config: 5,
        max_total: 2,
        prewarm: [:default],
        idle_timeout_ms: 1_500
      )

    # (Long enough for two sandboxes to be prepared on a busy box before the stock is closed.)
    pids = await_stock(2, name)
    assert length(pids) == 2
    # Not drawn from for 1.5 s: the stock is closed, its resins exit and are not replaced.
    eventually(fn -> Pool.info(name).ready == %{} end)
    eventually(fn -> not Enum.any?(pids, &alive?/1) end)
    assert Pool.info(name).resin_os_pids == []
    GenServer.stop(pool)
  end

  test "a resin that cannot start is retried ever more slowly, with one warning" do
    log =
      ExUnit.CaptureLog.capture_log(fn ->
        {pool, name, ref} = start_traced_pool(retry_ms: 20)
        # /bin/false exits at once, before any HelloReply: every try fails.
        arm(name, "/bin/false")
        # Until six have failed and none is being opened (the pool may open two at once, one per
        # place in the stock, so that may be seven).
        steps = trace_until(ref, &(&1.failures >= 6 and &1.starting == %{}))
        {pauses, opened_after_a_failure} = backoff(steps, 0)

        # Every failure in a row is counted, and each doubles the pause before the next try.
        assert Enum.map(pauses, &elem(&1, 0)) in [Enum.to_list(1..6), Enum.to_list(1..7)]

        for {{n, range}, pause} <- Enum.zip(pauses, [20, 40, 80, 160, 320, 640, 1280]) do
          assert pause in range,
                 "failure #{n}: the pause should be #{pause} ms, it was in #{inspect(range)} ms"
        end

        # All but at most two of those resins (one per place in the stock) were opened after a
        # failure, each only once its pause had passed.
        assert opened_after_a_failure >= 4
        assert Pool.stock(name) == 0
        GenServer.stop(pool)
      end)

    assert length(Regex.scan(~r/could not be readied/, log)) == 1
  end

  test "the pause after failures in a row is capped at a minute" do
    log =
      ExUnit.CaptureLog.capture_log(fn ->
        {pool, name, ref} = start_traced_pool(retry_ms: 20)
        # Twelve failures in a row already: the thirteenth would double the pause to
        # 20 ms * 2^12 = 82 s.
        %{failures: 12} = :sys.replace_state(pool, &%{&1 | failures: 12})
        arm(name, "/bin/false")
        steps = trace_until(ref, &(&1.failures >= 13 and &1.starting == %{}))
        assert {[{13, _} | _] = pauses, _} = backoff(steps, 12)

        for {n, range} <- pauses do
          assert 60_000 in range,
                 "failure #{n}: the pause should be 60000 ms, it was in #{inspect(range)} ms"
        end

        GenServer.stop(pool)
      end)

    # The warning is for the first failure in a row only.
    refute log =~ "could not be readied"
  end

  # A pool of its own that prewarms nothing, with a sys debug hook that sends the test every
  # state it goes through, with the monotonic times (ms) before and after the message that led to
  # it: the hook runs in the pool, in order, so no state is missed and no sleep is needed.
  defp start_traced_pool(opts) do
    test = self()
    ref = make_ref()
    name = :"pool_#{System.unique_integer([:positive])}"
    {:ok, pool} = Pool.start_link([name: name, prewarm: []] ++ opts)

    hook = fn
      _, {:in, _message}, _ ->
        System.monotonic_time(:millisecond)

      t_in, {:noreply, state}, _ ->
        send(test, {ref, t_in, System.monotonic_time(:millisecond), state})
        nil

      t_in, {:out, _reply, _to, state}, _ ->
        send(test, {ref, t_in, System.monotonic_time(:millisecond), state})
        nil

      acc, _event, _ ->
        acc
    end

    :ok = :sys.install(pool, {hook, nil})
    {pool, name, ref}
  end

  # A start with the default config, asking `path` for a resin: the pool has no stock for it, so
  # it answers :empty and arms one, which it starts to fill.
  defp arm(name, path) do
    {:ok, options} = Lacca.Options.validate([])
    assert Pool.checkout(path, options, name) == :empty
  end

  # The traced pool's states, each with the times before and after the message that led to it,
  # until one for which `done?` is true.
  defp trace_until(ref, done?, acc \\ []) do
    assert_receive {^ref, t_in, t_out, state}, 10_000
    acc = [{t_in, t_out, state} | acc]
    if done?.(state), do: Enum.reverse(acc), else: trace_until(ref, done?, acc)
  end

  # Walks the traced states from `failures` failures in a row. Each failure adds one, and sets
  # `retry_at` to the time it was recorded plus its pause: as it was recorded while handling the
  # message, between t_in and t_out, the pause lies in retry_at - t_out..retry_at - t_in. A resin
  # opened after a failure must be opened no earlier than the `retry_at` it set. Returns each
  # failure with the range of its pause, and how many resins were opened after a failure.
  defp backoff(steps, failures) do
    walk = %{failures: failures, due: nil, starting: %{}, opened: 0, pauses: []}
    walk = Enum.reduce(steps, walk, &backoff_step/2)
    {Enum.reverse(walk.pauses), walk.opened}
  end

  defp backoff_step({t_in, t_out, state}, walk) do
    opened = Enum.count(Map.keys(state.starting), &(not is_map_key(walk.starting, &1)))

    if walk.due && opened > 0 do
      assert t_out >= walk.due, "a resin was opened #{walk.due - t_out} ms before its pause ended"
    end

    walk = %{
      walk
      | starting: state.starting,
        opened: if(walk.due, do: walk.opened + opened, else: walk.opened)
    }

    if state.failures == walk.failures do
      walk
    else
      assert state.failures == walk.failures + 1, "failures should be counted one by one"
      pause = (state.retry_at - t_out)..(state.retry_at - t_in)

      %{
        walk
        | failures: state.failures,
          due: state.retry_at,
          pauses: [{state.failures, pause} | walk.pauses]
      }
    end
  end

  test "the configuration is checked" do
    Application.put_env(:lacca, :pool, no_such_key: 1)
    assert_raise ArgumentError, ~r/unknown keys/, fn -> Pool.config() end
    Application.put_env(:lacca, :pool, max_total: -1)
    assert_raise ArgumentError, ~r/max_total/, fn -> Pool.config() end
    Application.put_env(:lacca, :pool, refill_delay_ms: :soon)
    assert_raise ArgumentError, ~r/refill_delay_ms/, fn -> Pool.config() end
  after
    Application.delete_env(:lacca, :pool)
  end

  @tag :capture_log
  test "without the application, starts take today's path and node: :auto is local" do
    :ok = Application.stop(:lacca)
    on_exit(fn -> {:ok, _} = Application.ensure_all_started(:lacca) end)

    assert Pool.info().enabled == false
    {:ok, pid} = Lacca.start("cat", [], node: :auto)
    assert {:ok, %{pooled: false, node: node}} = Lacca.info(pid)
    assert node == node()
    :ok = Lacca.write_stdin(pid, "x")
    assert {:ok, "x"} = Lacca.read_stdout(pid)
    {:ok, _} = Lacca.stop(pid)
  end

  @tag :slow
  test "kill -9 of the whole BEAM leaves neither a pooled sandbox nor an idle prepared one behind" do
    marker = marker()
    ebin = Path.dirname(:code.which(Lacca))

    script = """
    {:ok, _} = Application.ensure_all_started(:lacca)
    marker = System.fetch_env!("LACCA_TEST_MARKER")
    stocked? = fn -> Lacca.Pool.stock() >= 2 and Lacca.Pool.info().starting == 0 end
    wait = fn wait -> unless stocked?.(), do: (Process.sleep(10); wait.(wait)) end
    wait.(wait)
    {:ok, pid} = Lacca.start("sh", ["-c", "sleep \#{marker} & sleep \#{marker} & wait"])
    {:ok, info} = Lacca.info(pid)
    wait.(wait)
    idle = Enum.join(Lacca.Pool.info().resin_os_pids, " ")
    IO.puts("ready \#{info.pooled} \#{System.pid()} \#{info.resin_os_pid} \#{idle}")
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

    assert_receive {^vm, {:data, {:eol, "ready true " <> pids}}}, 30_000
    [beam, resin | idle] = pids |> String.split() |> Enum.map(&String.to_integer/1)
    assert length(idle) >= 2
    await_tree(marker)
    resins = [resin | idle]
    assert Enum.all?(resins, &(alive?(&1) and resin?(&1)))
    # Every resin has its sandbox: the idle ones a prepared one (its init), the taken one the
    # command's too.
    sandboxes = Enum.map(resins, &descendants/1)
    assert Enum.all?(sandboxes, &(&1 != []))

    {_, 0} = System.cmd("kill", ["-9", Integer.to_string(beam)])
    assert_receive {^vm, {:exit_status, 137}}, 5_000

    await_gone(marker)

    eventually(
      fn -> not Enum.any?(resins ++ List.flatten(sandboxes), &alive?/1) end,
      10_000,
      "every resin and every sandbox to go"
    )
  end

  defp read_all(pid, acc) do
    case Lacca.read_stdout(pid) do
      {:ok, data} -> read_all(pid, acc <> data)
      :eof -> acc
    end
  end
end
