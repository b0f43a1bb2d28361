defmodule Lacca.PreparedPoolTest do
  # Lacca.Pool's prepared sandboxes (protocol 3): a pooled start (Start in a sandbox built ahead)
  # and an unpooled one (StartProcess with the whole config) are the same start to the command
  # and to the caller; a config resin refuses is not stocked; idle sandboxes die with the pool.
  # Not async: the tests read, drain and kill the node's pool.
  use ExUnit.Case, async: false

  alias Lacca.{Error, Exit, Pool}
  alias Lacca.Pool.Entry
  import Lacca.Test.OSProcesses

  # A fresh pool, holding only its prewarmed stocks: the configs other tests started (each arms
  # a stock) do not take its places.
  setup do
    :ok = Supervisor.terminate_child(Lacca.Supervisor, Pool)
    {:ok, _} = Supervisor.restart_child(Lacca.Supervisor, Pool)
    :ok
  end

  defp stock_id(opts) do
    {:ok, path} = Lacca.Resin.path(nil)
    {:ok, validated} = Lacca.Options.validate(opts)
    {path, Entry.key(validated.prepared_json)}
  end

  defp ready(id, pool \\ Pool), do: Map.get(Pool.info(pool).ready, id, 0)

  # Arms the stock of `opts` (a start with a config not yet stocked arms it) and waits until it
  # holds a prepared sandbox.
  defp await_prepared(opts) do
    id = stock_id(opts)

    if ready(id) == 0 and not Map.has_key?(:sys.get_state(Pool).stocks, id),
      do: {:ok, _} = Lacca.run("true", [], opts)

    eventually(fn -> ready(id) >= 1 end, 15_000, "a sandbox prepared for #{inspect(opts)}")
  end

  # Runs a command to its exit, pooled or not (checked), and returns its exit and stdout.
  defp run(command, args, opts, pooled?) do
    if pooled?, do: await_prepared(opts)
    {:ok, pid} = Lacca.start(command, args, [pool: pooled?] ++ opts)
    {:ok, info} = Lacca.info(pid)
    assert info.pooled == pooled?
    {:ok, exit} = Lacca.await_exit(pid, 15_000)
    {exit, read_all(pid, "")}
  end

  defp read_all(pid, acc) do
    case Lacca.read_stdout(pid) do
      {:ok, data} -> read_all(pid, acc <> data)
      :eof -> acc
    end
  end

  defp both(command, args, opts) do
    {run(command, args, opts, true), run(command, args, opts, false)}
  end

  @env_and_cwd ["-c", "env | LC_ALL=C sort; echo cwd=$(pwd)"]

  describe "env: and cd: travel in Start" do
    test "starts that differ only in env: and cd: draw from the config's one stock" do
      plain = stock_id([])
      assert stock_id(env: [{"A", "1"}], cd: "/usr") == plain
      assert stock_id(env: %{"B" => "2"}, cd: "/etc") == plain
      assert stock_id(config: :build, env: [{"A", "1"}]) == stock_id(config: :build)
      # A limit is the sandbox's: another stock.
      refute stock_id(timeout: 1_000) == plain
      # A nil (a config null) is not what Start's removal means: it stays in the config.
      refute stock_id(env: [{"A", nil}]) == plain
    end

    test "the command sees the same environment and directory on both paths" do
      cases = [
        [],
        [env: [{"FOO", "bar"}, {"HOME", "/opt"}, {"EMPTY", ""}, {"EQ", "a=b=c"}], cd: "/usr"],
        [env: %{"LANG" => nil, "PATH" => nil, "NEW" => "x"}, cd: "/usr/../etc"],
        # The config's own env.set entries stay, the option's win where they meet.
        [
          config: [env: [set: %{"FROM_CONFIG" => "1", "HOME" => "/cfg"}]],
          env: [{"HOME", "/opt"}, {"OTHER", "2"}]
        ],
        # An inherited environment: a nil drops only what a profile set, not HOME from resin.
        [config: :trusted, env: [{"HOME", nil}, {"X", "y"}], cd: "/usr"]
      ]

      for opts <- cases do
        {{pooled_exit, pooled}, {exit, unpooled}} = both("sh", @env_and_cwd, opts)
        assert pooled == unpooled, "#{inspect(opts)}:\n#{pooled}\nvs\n#{unpooled}"
        assert %Exit{exit_code: 0} = pooled_exit
        assert %Exit{exit_code: 0} = exit
      end

      {_, out} =
        run("sh", @env_and_cwd, [env: [{"FOO", "bar"}, {"HOME", "/opt"}], cd: "/usr"], true)

      lines = String.split(out, "\n")
      assert "FOO=bar" in lines and "HOME=/opt" in lines and "cwd=/usr" in lines
      assert "LANG=C.UTF-8" in lines

      # The option's entries are merged into the config's own env.set, on both paths.
      for pooled? <- [true, false] do
        opts = [config: [env: [set: %{"FROM_CONFIG" => "1"}]], env: [{"OTHER", "2"}]]
        {_, out} = run("sh", @env_and_cwd, opts, pooled?)
        lines = String.split(out, "\n")
        assert "FROM_CONFIG=1" in lines and "OTHER=2" in lines
      end

      {_, out} = run("sh", @env_and_cwd, [env: %{"LANG" => nil, "PATH" => nil}], true)
      lines = String.split(out, "\n")
      refute Enum.any?(lines, &String.starts_with?(&1, "LANG="))
      # The default profile's PATH, as docs/config.md says of a cleared environment.
      assert "PATH=/usr/local/bin:/usr/bin:/bin" in lines

      {_, out} = run("sh", @env_and_cwd, [config: :trusted, env: [{"HOME", nil}]], true)
      assert Enum.any?(String.split(out, "\n"), &String.starts_with?(&1, "HOME="))

      {_, out} = run("sh", @env_and_cwd, [cd: "/usr/../etc"], true)
      assert "cwd=/etc" in String.split(out, "\n")
    end

    test "a bare name is found through the PATH env: sets, on both paths" do
      opts = [env: [{"PATH", "/usr/bin:/bin"}]]
      {{pooled, out}, {unpooled, out2}} = both("env", [], opts)
      assert out == out2 and "PATH=/usr/bin:/bin" in String.split(out, "\n")
      assert %Exit{exit_code: 0} = pooled
      assert %Exit{exit_code: 0} = unpooled
    end

    test "a start that fails reports the same error on both paths" do
      for {command, opts} <- [
            {"true", [cd: "/nonexistent-lacca"]},
            {"no-such-command-lacca", [env: [{"PATH", "/usr/bin"}]]},
            {"/usr/bin/no-such-command-lacca", [cd: "/usr"]}
          ] do
        await_prepared(opts)
        {:error, %Error{} = pooled} = Lacca.start(command, [], opts)
        {:error, %Error{} = unpooled} = Lacca.start(command, [], [pool: false] ++ opts)
        assert pooled == unpooled
      end

      {:error, %Error{reason: :spawn_failed, json_pointer: "/filesystem/cwd"}} =
        Lacca.start("true", [], cd: "/nonexistent-lacca")

      # A name the config refuses is refused on both paths, with its pointer.
      for pool <- [true, false] do
        assert {:error, %Error{reason: :invalid_config, json_pointer: "/env/set/A=B"}} =
                 Lacca.start("true", [], env: [{"A=B", "c"}], pool: pool)
      end
    end
  end

  describe "the exit of a pooled start" do
    test "exit codes, signals and limits are reported as on the unpooled path" do
      for {args, opts} <- [
            {["-c", "exit 3"], []},
            {["-c", "kill -TERM $$"], []},
            {["-c", "sleep 5"], [timeout: 300]}
          ] do
        {{pooled, _}, {unpooled, _}} = both("sh", args, opts)
        fields = [:reason, :exit_code, :signal, :core_dumped]
        assert Map.take(pooled, fields) == Map.take(unpooled, fields)
      end

      {{%Exit{reason: :wall_time_limit} = limited, _}, _} =
        both("sh", ["-c", "sleep 5"], timeout: 300)

      assert limited.usage.wall_us in 300_000..2_000_000
    end

    test "wall time counts from Start, not from when the sandbox was prepared" do
      await_prepared([])
      id = stock_id([])
      # The entry handed out next is the stock's oldest; let it sit idle for two seconds.
      [oldest | _] = :queue.to_list(:sys.get_state(Pool).stocks[id].ready)
      idle_ms = System.monotonic_time(:millisecond) - oldest.ready_at
      if idle_ms < 2_000, do: Process.sleep(2_000 - idle_ms)

      {:ok, pid} = Lacca.start("sleep", ["0.2"])
      assert {:ok, %{pooled: true, resin_os_pid: resin}} = Lacca.info(pid)
      assert resin == oldest.os_pid
      assert {:ok, %Exit{exit_code: 0, usage: usage}} = Lacca.await_exit(pid, 5_000)
      # 0.2 s and the start's own cost (generous: the box may be busy), not the 2.2 s it would be
      # counted from Prepare.
      assert usage.wall_us in 200_000..1_500_000
      assert usage.cpu_user_us + usage.cpu_system_us < 200_000
    end
  end

  describe "a config resin refuses" do
    test "disarms its own stock only, and is not prepared again at every start" do
      opts = [config: [limits: [processes: 0]]]
      id = stock_id(opts)
      before = Pool.info()

      assert {:error, %Error{reason: :invalid_config, json_pointer: "/limits/processes"}} =
               Lacca.start("true", [], opts)

      eventually(fn -> id in Pool.info().refused end, 10_000, "the stock to be refused")
      state = :sys.get_state(Pool)
      refute Map.has_key?(state.stocks, id)
      assert state.failures == 0 and state.retry_at == nil

      # A second Prepare may have been on its way when the first was refused: it ends too.
      eventually(
        fn ->
          not Enum.any?(Map.values(:sys.get_state(Pool).starting), &({&1.path, &1.key} == id))
        end,
        10_000,
        "the stock's last Prepare to be answered"
      )

      # Later starts get the same refusal, unpooled, and do not arm the stock again.
      for _ <- 1..3 do
        assert {:error, %Error{reason: :invalid_config, json_pointer: "/limits/processes"}} =
                 Lacca.start("true", [], opts)

        state = :sys.get_state(Pool)
        refute Map.has_key?(state.stocks, id)
        refute Enum.any?(Map.values(state.starting), &({&1.path, &1.key} == id))
      end

      # The other stocks are untouched: still stocked, pooled starts still work.
      assert Map.keys(Pool.info().ready) -- [id] == Map.keys(before.ready) -- [id]
      await_prepared([])
      {_, "ok\n"} = run("echo", ["ok"], [], true)
    end
  end

  describe "idle prepared sandboxes" do
    # Every idle resin with the sandbox it has built (its init, at least).
    defp idle_trees(pool) do
      eventually(
        fn ->
          info = Pool.info(pool)

          trees = for pid <- info.resin_os_pids, do: {pid, descendants(pid)}

          info.starting == 0 and trees != [] and Enum.all?(trees, fn {_, d} -> d != [] end) and
            trees
        end,
        15_000,
        "the pool to hold prepared sandboxes"
      )
    end

    defp all_pids(trees), do: Enum.flat_map(trees, fn {pid, kids} -> [pid | kids] end)

    test "a stopped pool leaves no resin and no sandbox behind" do
      name = :"pool_#{System.unique_integer([:positive])}"

      {:ok, pool} =
        Pool.start_link(name: name, prewarm: [:default, :build], idle_timeout_ms: :infinity)

      pids = all_pids(idle_trees(name))
      assert length(pids) >= 4
      GenServer.stop(pool)
      eventually(fn -> not Enum.any?(pids, &alive?/1) end, 10_000, "every idle sandbox to go")
    end

    @tag :capture_log
    test "a killed pool leaves no resin and no sandbox behind" do
      pool = Process.whereis(Pool)
      pids = all_pids(idle_trees(Pool))
      ref = Process.monitor(pool)
      Process.exit(pool, :kill)
      assert_receive {:DOWN, ^ref, :process, ^pool, :killed}
      eventually(fn -> not Enum.any?(pids, &alive?/1) end, 10_000, "every idle sandbox to go")
      eventually(fn -> Process.whereis(Pool) not in [nil, pool] end)
    end

    @tag :capture_log
    test "stopping the application leaves no resin and no sandbox behind" do
      pids = all_pids(idle_trees(Pool))
      :ok = Application.stop(:lacca)
      on_exit(fn -> {:ok, _} = Application.ensure_all_started(:lacca) end)
      eventually(fn -> not Enum.any?(pids, &alive?/1) end, 10_000, "every idle sandbox to go")
    end

    test "at the total bound, a config in use gets a share of the prewarmed ones'" do
      name = :"pool_#{System.unique_integer([:positive])}"

      {:ok, pool} =
        Pool.start_link(
          name: name,
          max_per_config: 2,
          max_total: 2,
          prewarm: [:default],
          idle_timeout_ms: :infinity
        )

      {:ok, path} = Lacca.Resin.path(nil)
      default = stock_id([])
      build = stock_id(config: :build)
      eventually(fn -> ready(default, name) == 2 end)

      {:ok, build_opts} = Lacca.Options.validate(config: :build)
      assert Pool.checkout(path, build_opts, name) == :empty
      eventually(fn -> ready(build, name) == 1 and ready(default, name) == 1 end)
      assert Pool.info(name).starting == 0
      assert length(Pool.info(name).resin_os_pids) == 2

      {:ok, %Entry{key: {:prepared, ~s({"extends":"build"})}} = entry} =
        Pool.checkout(path, build_opts, name)

      Entry.close(entry)
      eventually(fn -> ready(build, name) == 1 and Pool.info(name).starting == 0 end)
      # Balanced: neither stock takes from the other again.
      assert ready(default, name) == 1
      GenServer.stop(pool)
    end
  end

  test "a config that binds a host directory is never prepared ahead: a job directory made again is seen" do
    dir = Path.join(System.tmp_dir!(), "lacca-pool-bind-#{System.unique_integer([:positive])}")
    on_exit(fn -> File.rm_rf!(dir) end)
    config = %{extends: "default", filesystem: %{mounts: [%{path: "/job", source: dir}]}}
    read = ["-c", "cat /job/input"]

    for round <- 1..3 do
      File.rm_rf!(dir)
      File.mkdir_p!(dir)
      File.write!(Path.join(dir, "input"), "round #{round}")
      {:ok, pid} = Lacca.start("sh", read, config: config)
      assert {:ok, %{pooled: false}} = Lacca.info(pid)
      {:ok, %Exit{reason: :exited, exit_code: 0}} = Lacca.await_exit(pid, 15_000)
      assert read_all(pid, "") == "round #{round}"
    end

    refute Enum.any?(Map.keys(:sys.get_state(Pool).stocks), fn {_, {:prepared, json}} ->
             String.contains?(json, dir)
           end)
  end
end
