# lacca against the BEAM's own ways of running a command.
#
#     cd lacca && mix run bench/lacca_bench.exs            # the default parts, about a minute
#     cd lacca && mix run bench/lacca_bench.exs spawn_rate # one part: throughput, stdin, spawn_rate,
#                                                          # memory, stdin_memory, pool, pool_rate,
#                                                          # start, sustained, alive, alive10k
#
# Throughput: 1 GiB from `head -c 1073741824 /dev/zero`, counted (not kept), through lacca (streamed
# under the trusted and the default profile, and read with read_stdout/2) and through a raw Port.open
# of the same command; lacca runs with its default 1 MiB window. Spawn: the time
# to run /bin/true to completion through lacca (trusted = no confinement, and the default profile),
# Port.open and System.cmd. Memory: the BEAM's memory while a fast producer meets a slow consumer,
# through lacca and through a raw port. Stdin: 1 GiB written into `head -c 1 GiB >/dev/null` through
# lacca (Lacca.run/3 with a Stream of 64 KiB chunks, under stdin credit) and with Port.command into a
# raw port. Stdin memory: the BEAM's memory while a fast writer meets a command that reads slowly.
# Pool: /bin/true to its exit through lacca with and without Lacca.Pool (300 interleaved rounds,
# against Port.open and System.cmd), and the sustained start rate for 10 s, pool on and off.
#
# Issue 14, item 4 (not in the default set; see docs/performance.md):
#   start      /bin/true to its exit, 300 interleaved rounds: Port.open, System.cmd, MuonTrap.cmd and
#              Exile.stream! (when built, see below), lacca trusted, lacca default; medians, ratio to
#              Port.open; each start at rest, then back to back (LACCA_BENCH_PACE).
#   cpu        the CPU time of the whole box per start of each of those ways, the background
#              included (a sandbox's teardown, the pool's refill).
#   sustained  lacca default starts of /bin/true at a fixed rate from several starters for 20 s
#              (100/s), then higher rates until one falls behind: achieved rate, start-to-exit p50/p99.
#   alive      the start cost of /bin/true (median of 100 interleaved rounds) while 10, 200, 1000
#              sandboxes (default profile, each running `sleep`) are alive, and their memory.
#   alive10k   the same at 10,000 alive: grows until it gets there or a start fails, and says what
#              bounded it.
#
# Environment (all optional):
#   LACCA_BENCH_MUONTRAP, LACCA_BENCH_EXILE   a directory named muontrap (exile) holding the library's
#       ebin/ (its .beam files and a .app file) and priv/ (the muontrap port program; exile.so and
#       spawner), built from source as docs/performance.md describes; adds the library to `start`
#       and `pool`. Without them those parts run without it.
#   LACCA_BENCH_ROUNDS        rounds of `start` and `pool` (300)
#   LACCA_BENCH_PACE          `start` and `alive`: at_rest (each start waits until the pool has
#                             restocked and no earlier start's program runs), back_to_back, or both
#                             (the default)
#   LACCA_BENCH_CPU_STARTS    starts per way of `cpu` (300)
#   LACCA_BENCH_SECONDS       seconds of the 100/s `sustained` run (20); LACCA_BENCH_SEARCH_SECONDS
#                             the seconds of each higher rate (10); LACCA_BENCH_RATES the rates
#                             ("100,150,200,250,300,400"); LACCA_BENCH_STARTERS the starters (8)
#   LACCA_BENCH_ALIVE         the alive counts of `alive` ("10,200,1000"); LACCA_BENCH_ALIVE_ROUNDS (100)
#   LACCA_BENCH_ALIVE_HOLD    seconds to keep the sandboxes alive after each count is measured, for
#                             outside profiling (strace, perf) of a start at that count (0);
#                             LACCA_BENCH_ALIVE_HOLD_AT: only at this count
#   LACCA_BENCH_ALIVE_BUDGET  seconds that growing the alive sandboxes may take in all (1800); when
#                             it runs out, the count reached is measured and reported as the bound

defmodule Lacca.Bench do
  @gib 1_073_741_824

  def main(args) do
    parts =
      if args == [],
        do: ["throughput", "stdin", "spawn_rate", "memory", "stdin_memory", "pool", "pool_rate"],
        else: args

    IO.puts(
      "lacca benchmark — #{System.schedulers_online()} schedulers, OTP #{System.otp_release()}"
    )

    Enum.each(parts, fn part -> apply(__MODULE__, String.to_atom(part), []) end)
  end

  ## Throughput

  def throughput do
    head = System.find_executable("head")
    args = ["-c", Integer.to_string(@gib), "/dev/zero"]
    rounds = 7

    IO.puts(
      "\n## stdout throughput: 1 GiB of head -c #{@gib} /dev/zero, median of #{rounds} interleaved rounds"
    )

    best =
      interleave(rounds,
        port: fn -> raw_port_bytes(head, args) end,
        trusted: fn -> lacca_bytes(head, args, :trusted) end,
        stream!: fn -> lacca_stream_bytes(head, args) end,
        buffered: fn -> lacca_buffered_bytes(head, args) end,
        default: fn -> lacca_bytes(head, args, :default) end
      )
      |> Map.new(fn {name, times} -> {name, median(times)} end)

    report("Port.open (raw)", best.port)
    report("lacca mode: :stream", best.trusted, best.port)
    report("lacca stream!/3", best.stream!, best.port)
    report("lacca read_stdout/2", best.buffered, best.port)
    report("lacca :stream, default", best.default, best.port)
  end

  defp median(values), do: values |> Enum.sort() |> Enum.at(div(length(values), 2))

  defp lacca_stream_bytes(executable, args) do
    Lacca.stream!(executable, args, config: :trusted)
    |> Enum.reduce(0, fn chunk, bytes -> bytes + byte_size(chunk) end)
  end

  ## Stdin throughput

  @chunk_size 65_536

  def stdin do
    sh = System.find_executable("sh")
    script = "head -c #{@gib} >/dev/null"
    rounds = 5
    chunk = :binary.copy("x", @chunk_size)
    chunks = div(@gib, @chunk_size)

    IO.puts(
      "\n## stdin throughput: 1 GiB into `#{script}` in 64 KiB writes, median of #{rounds} interleaved rounds"
    )

    medians =
      interleave(rounds,
        port: fn -> raw_port_stdin(sh, script, chunk, chunks) end,
        lacca: fn -> lacca_stdin(sh, script, chunk, chunks) end
      )
      |> Map.new(fn {name, times} -> {name, median(times)} end)

    report("Port.command (raw)", medians.port)
    report("lacca run/3, stdin: Stream", medians.lacca, medians.port)
  end

  defp raw_port_stdin(sh, script, chunk, chunks) do
    port = Port.open({:spawn_executable, sh}, [:binary, :exit_status, args: ["-c", script]])
    Enum.each(1..chunks, fn _ -> Port.command(port, chunk) end)

    receive do
      {^port, {:exit_status, 0}} -> chunks * byte_size(chunk)
    end
  end

  defp lacca_stdin(sh, script, chunk, chunks) do
    stdin = Stream.map(1..chunks, fn _ -> chunk end)

    {:ok, %Lacca.Result{exit: %Lacca.Exit{exit_code: 0}}} =
      Lacca.run(sh, ["-c", script], stdin: stdin, config: :trusted)

    chunks * byte_size(chunk)
  end

  # Runs each named fun once per round, in turn, so that a noisy neighbour slows all of them alike;
  # returns each one's times in microseconds. Each fun returns the bytes it received.
  defp interleave(rounds, funs) do
    results =
      for _ <- 1..rounds, {name, fun} <- funs do
        {micros, bytes} = :timer.tc(fun)
        if bytes != @gib, do: raise("#{name} lost bytes: #{bytes} of #{@gib}")
        {name, micros}
      end

    for {name, _} <- funs, do: {name, for({^name, micros} <- results, do: micros)}
  end

  defp raw_port_bytes(executable, args) do
    port = Port.open({:spawn_executable, executable}, [:binary, :exit_status, args: args])
    count_port(port, 0)
  end

  defp count_port(port, bytes) do
    receive do
      {^port, {:data, data}} -> count_port(port, bytes + byte_size(data))
      {^port, {:exit_status, 0}} -> bytes
    end
  end

  # Streamed to this process, acknowledged a quarter window at a time, as Lacca.run/3 does.
  defp lacca_bytes(executable, args, config) do
    {:ok, pid} = Lacca.start(executable, args, config: config, mode: :stream)
    count_stream(pid, 0, 0, div(Lacca.Options.default_window(), 4))
  end

  defp count_stream(pid, bytes, unacked, ack_every) do
    receive do
      {:lacca, ^pid, {:stdout, data}} ->
        unacked = unacked + byte_size(data)

        if unacked >= ack_every do
          Lacca.ack(pid, unacked)
          count_stream(pid, bytes + byte_size(data), 0, ack_every)
        else
          count_stream(pid, bytes + byte_size(data), unacked, ack_every)
        end

      {:lacca, ^pid, {:exit, %Lacca.Exit{exit_code: 0}}} ->
        bytes

      {:lacca, ^pid, {:error, error}} ->
        raise error
    end
  end

  defp lacca_buffered_bytes(executable, args) do
    {:ok, pid} = Lacca.start(executable, args, config: :trusted)
    read_all(pid, 0)
  end

  defp read_all(pid, bytes) do
    case Lacca.read_stdout(pid) do
      {:ok, data} -> read_all(pid, bytes + byte_size(data))
      :eof -> bytes
    end
  end

  defp report(label, micros) do
    IO.puts("  #{String.pad_trailing(label, 24)} #{ms(micros)}  #{rate(micros)}")
  end

  defp report(label, micros, baseline) do
    ratio = baseline / micros

    IO.puts(
      "  #{String.pad_trailing(label, 24)} #{ms(micros)}  #{rate(micros)}  " <>
        "#{:erlang.float_to_binary(ratio, decimals: 2)}x the raw port's throughput"
    )
  end

  defp rate(micros),
    do: "#{:erlang.float_to_binary(@gib / micros * 1.0e6 / 1_048_576, decimals: 0)} MiB/s"

  ## Spawn

  def spawn_rate do
    rounds = 5
    per_round = 40
    true_path = System.find_executable("true")
    {:ok, resin} = Lacca.Resin.path(nil)
    profile = Path.join([Path.dirname(resin), "config", "trusted.json"])

    IO.puts(
      "\n## spawn: /bin/true to completion, #{rounds * per_round} times per way, " <>
        "median of #{rounds} interleaved rounds"
    )

    medians =
      [
        {"Port.open", fn -> raw_port_run(true_path) end},
        {"System.cmd", fn -> {"", 0} = System.cmd(true_path, []) end},
        {"resin CLI, trusted",
         fn -> {"", 0} = System.cmd(resin, ["--config", profile, "--", true_path]) end},
        {"lacca, trusted", fn -> lacca_run(true_path, :trusted) end},
        {"lacca, default", fn -> lacca_run(true_path, :default) end}
      ]
      |> spawn_rounds(rounds, per_round)

    port = medians["Port.open"]

    for {label, micros} <- Enum.sort_by(medians, &elem(&1, 1)) do
      IO.puts(
        "  #{String.pad_trailing(label, 24)} #{:erlang.float_to_binary(micros / 1000, decimals: 2)} ms" <>
          "  #{:erlang.float_to_binary(micros / port, decimals: 2)}x Port.open's time"
      )
    end
  end

  defp spawn_rounds(ways, rounds, per_round) do
    # One warm-up run each, so that first-exec page cache misses are not counted.
    Enum.each(ways, fn {_, fun} -> fun.() end)

    times =
      for _ <- 1..rounds, {label, fun} <- ways do
        {micros, _} = :timer.tc(fn -> Enum.each(1..per_round, fn _ -> fun.() end) end)
        {label, micros / per_round}
      end

    Map.new(ways, fn {label, _} ->
      sorted = Enum.sort(for {^label, micros} <- times, do: micros)
      {label, Enum.at(sorted, div(length(sorted), 2))}
    end)
  end

  defp raw_port_run(executable) do
    port = Port.open({:spawn_executable, executable}, [:binary, :exit_status])

    receive do
      {^port, {:exit_status, 0}} -> :ok
    end
  end

  defp lacca_run(executable, config) do
    {:ok, %Lacca.Result{exit: %Lacca.Exit{exit_code: 0}}} =
      Lacca.run(executable, [], config: config)
  end

  ## Pool (issue 14)

  # /bin/true run to its exit, one of each way per round, 300 rounds; medians and ratios to
  # Port.open in the same run. `pool: false` takes today's path (spawn resin, Hello, StartProcess).
  def pool do
    rounds = env_int("LACCA_BENCH_ROUNDS", 300)
    true_path = System.find_executable("true")
    await_pool()

    IO.puts(
      "\n## pool: /bin/true to its exit, median of #{rounds} interleaved rounds " <>
        "(pool: #{inspect(Map.take(Lacca.Pool.info(), [:max_per_config, :max_total]))})"
    )

    ways = [
      {"Port.open", fn -> raw_port_run(true_path) end},
      {"System.cmd", fn -> {"", 0} = System.cmd(true_path, []) end},
      {"lacca trusted (pool)", fn -> lacca_run(true_path, :trusted, true) end},
      {"lacca trusted (no pool)", fn -> lacca_run(true_path, :trusted, false) end},
      {"lacca default (pool)", fn -> lacca_run(true_path, :default, true) end},
      {"lacca default (no pool)", fn -> lacca_run(true_path, :default, false) end}
    ]

    ways = List.insert_at(ways, 2, comparison_ways(true_path)) |> List.flatten()

    Enum.each(ways, fn {_, fun} -> fun.() end)

    times =
      for _ <- 1..rounds, {label, fun} <- ways do
        {micros, _} = :timer.tc(fun)
        {label, micros}
      end

    print_medians(ways, times)
  end

  # Each way's median (with p10 and p90) and its ratio to Port.open's median.
  defp print_medians(ways, times) do
    stats =
      Map.new(ways, fn {label, _} ->
        sorted = Enum.sort(for {^label, t} <- times, do: t)
        {label, {percentile(sorted, 50), percentile(sorted, 10), percentile(sorted, 90)}}
      end)

    {port, _, _} = stats["Port.open"]

    for {label, _} <- ways do
      {micros, p10, p90} = stats[label]

      IO.puts(
        "  #{String.pad_trailing(label, 26)} #{ms2(micros)} ms" <>
          "  #{:erlang.float_to_binary(micros / port, decimals: 2)}x Port.open" <>
          "  (p10 #{ms2(p10)}, p90 #{ms2(p90)})"
      )
    end
  end

  defp percentile([], _), do: 0

  defp percentile(sorted, p),
    do: Enum.at(sorted, min(length(sorted) - 1, div(length(sorted) * p, 100)))

  defp ms2(micros), do: :erlang.float_to_binary(micros / 1000, decimals: 2)

  # Starts of /bin/true to its exit for 10 s from `workers` processes, pool on and off: the
  # sustained rate one BEAM reaches.
  def pool_rate do
    seconds = 10
    true_path = System.find_executable("true")

    IO.puts(
      "\n## pool: sustained starts of /bin/true (default profile) to exit, #{seconds} s each"
    )

    for workers <- [1, 4], pool? <- [true, false] do
      await_pool()
      deadline = System.monotonic_time(:millisecond) + seconds * 1000

      counts =
        1..workers
        |> Enum.map(fn _ -> Task.async(fn -> rate_loop(true_path, pool?, deadline, 0) end) end)
        |> Enum.map(&Task.await(&1, :infinity))

      total = Enum.sum(counts)

      IO.puts(
        "  #{workers} worker(s), pool #{if pool?, do: "on ", else: "off"}: " <>
          "#{total} starts, #{:erlang.float_to_binary(total / seconds, decimals: 1)} per second"
      )
    end
  end

  defp rate_loop(executable, pool?, deadline, count) do
    if System.monotonic_time(:millisecond) >= deadline do
      count
    else
      lacca_run(executable, :default, pool?)
      rate_loop(executable, pool?, deadline, count + 1)
    end
  end

  defp await_pool do
    if Lacca.Pool.info().enabled and Lacca.Pool.stock() < 2 do
      Process.sleep(10)
      await_pool()
    end
  end

  defp lacca_run(executable, config, pool?) do
    {:ok, %Lacca.Result{exit: %Lacca.Exit{exit_code: 0}}} =
      Lacca.run(executable, [], config: config, pool: pool?)
  end

  ## Issue 14, item 4: the start against other libraries, a sustained rate, many alive

  # /bin/true to its exit, one of each way (start_ways/1) per round, in turn.
  def start do
    rounds = env_int("LACCA_BENCH_ROUNDS", 300)
    true_path = System.find_executable("true")
    await_pool()

    ways = start_ways(true_path)
    pool = inspect(Map.take(Lacca.Pool.info(), [:enabled, :max_per_config, :max_total]))
    Enum.each(ways, fn {_, fun} -> fun.() end)

    for pace <- paces() do
      IO.puts(
        "\n## start: /bin/true to its exit, median of #{rounds} interleaved rounds, " <>
          "#{pace_text(pace)} (pool: #{pool})"
      )

      print_medians(ways, paced_rounds(ways, rounds, pace, rest_for([:trusted, :default])))
    end
  end

  # The BEAM's own ways, the other libraries that were built (comparison_ways/1), lacca trusted
  # and default (pool at its defaults).
  defp start_ways(true_path) do
    [
      {"Port.open", fn -> raw_port_run(true_path) end},
      {"System.cmd", fn -> {"", 0} = System.cmd(true_path, []) end}
    ] ++
      comparison_ways(true_path) ++
      [
        {"lacca trusted", fn -> lacca_run(true_path, :trusted) end},
        {"lacca default", fn -> lacca_run(true_path, :default) end}
      ]
  end

  # Each way once per round, timed; `:at_rest` waits before each start until the box is at rest
  # (await_rest/1), `:back_to_back` does not.
  defp paced_rounds(ways, rounds, pace, rest) do
    {times, _} =
      Enum.map_reduce(for(_ <- 1..rounds, way <- ways, do: way), nil, fn {label, fun}, ended ->
        if pace == :at_rest, do: await_rest(rest, ended)
        {micros, _} = :timer.tc(fun)
        {{label, micros}, now_ms()}
      end)

    times
  end

  # LACCA_BENCH_PACE: at_rest, back_to_back, or both (the default).
  defp paces do
    case System.get_env("LACCA_BENCH_PACE", "both") do
      "both" -> [:at_rest, :back_to_back]
      "at_rest" -> [:at_rest]
      "back_to_back" -> [:back_to_back]
      other -> raise "LACCA_BENCH_PACE: at_rest, back_to_back or both, not #{inspect(other)}"
    end
  end

  defp pace_text(:at_rest),
    do: "each started at rest (the pool restocked, no earlier start's program still running)"

  defp pace_text(:back_to_back),
    do: "back to back (each started as the previous one returned)"

  # What await_rest/2 waits for: the pool's stocks of `configs` (those the rounds draw from) hold
  # a sandbox, and no program runs beyond the pool's and those in `standing` (alive on purpose).
  defp rest_for(configs, standing \\ MapSet.new()) do
    {:ok, path} = Lacca.Resin.path(nil)

    stocks =
      for config <- configs do
        {:ok, json} = Lacca.Config.to_json(config)
        {path, Lacca.Pool.Entry.key(json)}
      end

    %{stocks: stocks, standing: standing, refill_delay_ms: Lacca.Pool.config().refill_delay_ms}
  end

  # The work the start that returned at `ended` (monotonic ms, nil: none) left behind is done: the
  # pool's refill after it is due (`:refill_delay_ms` after a take) and the pool prepares nothing,
  # the stocks drawn from hold a sandbox, and no program the BEAM started (a resin tearing its
  # sandbox down, a MuonTrap or Exile helper) still runs, other than the pool's resins and the
  # standing ones. What a start costs the box in the background is measured by `cpu`, not here.
  # Raises if that does not come within a minute (a stock refused, a pool turned off).
  defp await_rest(rest, ended) do
    if ended, do: Process.sleep(max(ended + rest.refill_delay_ms + 1 - now_ms(), 0))
    await_rest_until(rest, now_ms() + 60_000)
  end

  defp await_rest_until(rest, deadline) do
    info = Lacca.Pool.info()

    restocked = info.starting == 0 and Enum.all?(rest.stocks, &(Map.get(info.ready, &1, 0) > 0))

    cond do
      restocked and MapSet.subset?(running_programs(), rest.standing) ->
        :ok

      now_ms() > deadline ->
        raise "not at rest after a minute: pool #{inspect(Map.drop(info, [:resin_os_pids]))}"

      true ->
        Process.sleep(1)
        await_rest_until(rest, deadline)
    end
  end

  defp now_ms, do: System.monotonic_time(:millisecond)

  # OS pids (as text) of the programs the BEAM started (its helper's children), less the pool's.
  defp running_programs do
    pooled = MapSet.new(Lacca.Pool.info().resin_os_pids, &Integer.to_string/1)

    for helper <- os_children(System.pid()),
        pid <- os_children(helper),
        not MapSet.member?(pooled, pid),
        into: MapSet.new(),
        do: pid
  end

  # OS pids (as text) of the children of `pid`'s threads.
  defp os_children(pid) do
    "/proc/#{pid}/task/*/children"
    |> Path.wildcard()
    |> Enum.flat_map(fn file ->
      case File.read(file) do
        {:ok, text} -> String.split(text)
        {:error, _} -> []
      end
    end)
  end

  # The CPU time one start of /bin/true costs, the background included (a sandbox's teardown after
  # its exit, the pool's refill): each way N times back to back (LACCA_BENCH_CPU_STARTS, 300), then
  # until at rest; the CPU of the BEAM and of every process it started, with what they reaped
  # (/proc/<pid>/stat, in clock ticks taken as 100 a second). That misses the kernel's own workers
  # (a network namespace's cleanup, say) and processes the BEAM's no longer are (a resin's cgroup
  # reaper after resin, the netns pool's refill: adopted by init), so the whole machine's busy
  # time over the same span is printed beside it. The BEAM's scheduler busy-waiting is not told
  # apart from its work (`+sbwt none` turns it off).
  def cpu do
    starts = env_int("LACCA_BENCH_CPU_STARTS", 300)
    true_path = System.find_executable("true")
    await_pool()

    ways =
      start_ways(true_path) ++
        [{"lacca default (no pool)", fn -> lacca_run(true_path, :default, false) end}]

    IO.puts(
      "\n## cpu: CPU time per start of /bin/true, #{starts} starts back to back then until at " <>
        "rest (#{System.schedulers_online()} CPUs)"
    )

    rest = rest_for([:trusted, :default])

    for {label, fun} <- ways do
      await_rest(rest, now_ms())
      {cpu0, busy0, t0} = {tree_cpu_ms(), machine_busy_ms(), System.monotonic_time(:microsecond)}
      for _ <- 1..starts, do: fun.()
      wall = System.monotonic_time(:microsecond) - t0
      await_rest(rest, now_ms())
      {cpu, busy} = {tree_cpu_ms() - cpu0, machine_busy_ms() - busy0}

      IO.puts(
        "  #{String.pad_trailing(label, 26)} #{float(cpu / starts, 2)} ms CPU per start" <>
          " (machine: #{float(busy / starts, 2)})" <>
          "  (#{float(wall / starts / 1000, 2)} ms wall per start back to back)"
      )
    end
  end

  # The whole machine's busy time (/proc/stat: user, nice, system, irq, softirq, steal), in ms:
  # with what the tree count misses (processes adopted by init, the kernel's workers), and
  # whatever else runs on the machine.
  defp machine_busy_ms do
    [cpu_line | _] = File.read!("/proc/stat") |> String.split("\n")

    [user, nice, system, _idle, _iowait, irq, softirq, steal | _] =
      cpu_line |> String.split() |> tl() |> Enum.map(&String.to_integer/1)

    (user + nice + system + irq + softirq + steal) * 10
  end

  # User and system time, with that of the children each has reaped, of the BEAM and every process
  # it started (the pool's resins and their sandboxes included), in ms.
  defp tree_cpu_ms do
    beam = System.pid()
    Enum.sum(Enum.map([beam | descendants(beam)], &process_cpu_ms/1))
  end

  defp descendants(pid), do: Enum.flat_map(os_children(pid), &[&1 | descendants(&1)])

  # utime, stime, cutime, cstime: fields 14-17 of /proc/<pid>/stat, after the ")" that ends comm.
  defp process_cpu_ms(pid) do
    case File.read("/proc/#{pid}/stat") do
      {:ok, stat} ->
        # comm may hold ") ": the fields start after the last one.
        after_comm = stat |> String.split(")") |> List.last()

        ticks =
          after_comm |> String.split() |> Enum.slice(11, 4) |> Enum.map(&String.to_integer/1)

        Enum.sum(ticks) * 10

      {:error, _} ->
        0
    end
  end

  # MuonTrap and Exile, where LACCA_BENCH_MUONTRAP / LACCA_BENCH_EXILE name a build of them (a
  # directory named after the application, with ebin/ and priv/: Application.app_dir/2 and
  # :code.priv_dir/1, which they use to find their programs, need that layout). Called through
  # apply/3: the bench compiles and runs without them.
  defp comparison_ways(true_path) do
    muontrap =
      if load_library("LACCA_BENCH_MUONTRAP", :muontrap),
        do: [{"MuonTrap.cmd", fn -> {"", 0} = apply(MuonTrap, :cmd, [true_path, []]) end}],
        else: []

    # Exile.stream!/2 read to its end. Through its Enumerable implementation directly: `mix run`
    # consolidated the protocols before Exile was loaded, so Enum does not know Exile.Stream.
    exile =
      if load_library("LACCA_BENCH_EXILE", :exile),
        do: [
          {"Exile.stream!",
           fn ->
             stream = apply(Exile, :stream!, [[true_path]])
             reduce = &{:cont, [&1 | &2]}
             {_, []} = apply(Enumerable.Exile.Stream, :reduce, [stream, {:cont, []}, reduce])
           end}
        ],
        else: []

    muontrap ++ exile
  end

  defp load_library(variable, app) do
    case System.get_env(variable, "") do
      "" ->
        false

      dir ->
        ebin = Path.join(Path.expand(dir), "ebin")

        unless File.exists?(Path.join(ebin, "#{app}.app")),
          do: raise("#{variable}: no #{ebin}/#{app}.app (see docs/performance.md for the build)")

        Code.prepend_path(ebin)

        case :code.priv_dir(app) do
          {:error, _} -> raise "#{variable}: #{dir} must be a directory named #{app}"
          _ -> :ok
        end

        {:ok, _} = Application.ensure_all_started(app)
        true
    end
  end

  # Starts of /bin/true (default profile) to its exit at a fixed rate: start i is due at
  # t0 + i / rate, taken in turn by `starters` processes (starter s takes s, s + starters, ...). A
  # starter that is late starts at once; its lateness is the lag. 100/s for LACCA_BENCH_SECONDS, then
  # the rates of LACCA_BENCH_RATES above 100 for LACCA_BENCH_SEARCH_SECONDS each, until one falls
  # behind: the highest rate kept is the sustained maximum.
  def sustained do
    seconds = env_int("LACCA_BENCH_SECONDS", 20)
    search_seconds = env_int("LACCA_BENCH_SEARCH_SECONDS", 10)
    starters = env_int("LACCA_BENCH_STARTERS", 8)
    rates = env_ints("LACCA_BENCH_RATES", [100, 150, 200, 250, 300, 400])
    true_path = System.find_executable("true")

    IO.puts(
      "\n## sustained: lacca default starts of /bin/true to exit at a fixed rate, #{starters} starters " <>
        "(kept up: achieved >= 98% of the target and no start more than 100 ms late at the end)"
    )

    Enum.reduce_while(rates, nil, fn rate, best ->
      kept? =
        sustain(rate, if(rate <= 100, do: seconds, else: search_seconds), starters, true_path)

      if kept?, do: {:cont, rate}, else: {:halt, best}
    end)
    |> case do
      nil ->
        IO.puts("  kept up with none of #{inspect(rates, charlists: :as_lists)} per second")

      best ->
        IO.puts(
          "  highest rate kept up: #{best} per second (of #{inspect(rates, charlists: :as_lists)})"
        )
    end
  end

  defp sustain(rate, seconds, starters, true_path) do
    await_pool()
    total = rate * seconds
    period = 1_000_000 / rate
    t0 = now_us() + 50_000

    samples =
      0..(starters - 1)
      |> Enum.map(fn s ->
        Task.async(fn -> sustain_loop(s, starters, total, t0, period, true_path, []) end)
      end)
      |> Enum.flat_map(&Task.await(&1, :infinity))

    ended = samples |> Enum.map(&elem(&1, 3)) |> Enum.max()
    achieved = total / ((ended - t0) / 1_000_000)
    lags = samples |> Enum.map(&elem(&1, 1)) |> Enum.sort()
    latencies = samples |> Enum.map(&elem(&1, 2)) |> Enum.sort()
    {_, final_lag, _, _} = Enum.max_by(samples, &elem(&1, 0))
    kept? = achieved >= 0.98 * rate and final_lag <= 100_000

    IO.puts(
      "  target #{rate}/s for #{seconds} s: #{total} starts, achieved #{float(achieved, 1)}/s; " <>
        "start-to-exit p50 #{ms2(percentile(latencies, 50))} ms, p99 #{ms2(percentile(latencies, 99))} ms, " <>
        "max #{ms2(List.last(latencies))} ms; lateness p99 #{ms2(percentile(lags, 99))} ms, " <>
        "max #{ms2(List.last(lags))} ms, last start #{ms2(final_lag)} ms — " <>
        if(kept?, do: "kept up", else: "FELL BEHIND")
    )

    kept?
  end

  defp sustain_loop(i, _step, total, _t0, _period, _path, acc) when i >= total, do: acc

  defp sustain_loop(i, step, total, t0, period, path, acc) do
    due = t0 + round(i * period)
    wait = due - now_us()
    if wait > 0, do: Process.sleep(div(wait + 999, 1000))
    started = now_us()
    lacca_run(path, :default)
    ended = now_us()

    sustain_loop(i + step, step, total, t0, period, path, [
      {i, max(0, started - due), ended - started, ended} | acc
    ])
  end

  # The start cost while K sandboxes (default profile, its 10-minute wall-time limit raised to a day,
  # each running `sleep`) are alive: /bin/true to
  # its exit, interleaved rounds of Port.open (the BEAM alone), resin's CLI under the default profile
  # through System.cmd (resin and the kernel, without lacca) and lacca default (everything); and what
  # an alive sandbox costs in memory.
  def alive, do: alive_at(env_ints("LACCA_BENCH_ALIVE", [10, 200, 1000]))
  def alive10k, do: alive_at([10_000])

  defp alive_at(counts) do
    rounds = env_int("LACCA_BENCH_ALIVE_ROUNDS", 100)
    hold = env_int("LACCA_BENCH_ALIVE_HOLD", 0)
    hold_at = env_int("LACCA_BENCH_ALIVE_HOLD_AT", nil)
    deadline = System.monotonic_time(:second) + env_int("LACCA_BENCH_ALIVE_BUDGET", 1800)
    true_path = System.find_executable("true")
    sleep = System.find_executable("sleep")
    {:ok, resin} = Lacca.Resin.path(nil)
    profile = Path.join([Path.dirname(resin), "config", "default.json"])

    ways = [
      {"Port.open", fn -> raw_port_run(true_path) end},
      {"resin CLI, default",
       fn -> {"", 0} = System.cmd(resin, ["--config", profile, "--", true_path]) end},
      {"lacca default", fn -> lacca_run(true_path, :default) end}
    ]

    IO.puts(
      "\n## alive: /bin/true to its exit while K sandboxes are alive, median of #{rounds} interleaved rounds"
    )

    print_limits()
    await_pool()
    available_before = kernel_memory()

    sleepers =
      Enum.reduce_while(counts, [], fn count, sleepers ->
        {micros, {sleepers, failure}} =
          :timer.tc(fn -> grow(sleepers, count, sleep, deadline) end)

        IO.puts(
          "\n  K = #{length(sleepers)} alive (#{float(micros / 1_000_000, 1)} s to start " <>
            "#{length(sleepers)} so far; load average #{load_average()})"
        )

        if failure do
          IO.puts("  STOPPED at #{length(sleepers)} of #{count}: #{failure}")
          print_limits()
        end

        # The sleepers: alive on purpose, not work left behind by a start.
        standing = running_programs()
        Enum.each(ways, fn {_, fun} -> fun.() end)

        for pace <- paces() do
          IO.puts("  #{pace_text(pace)}:")
          print_medians(ways, paced_rounds(ways, rounds, pace, rest_for([:default], standing)))
        end

        alive_memory(sleepers, available_before)

        if hold > 0 and hold_at in [nil, count] do
          IO.puts(
            "  holding #{length(sleepers)} alive for #{hold} s (BEAM os pid #{System.pid()})"
          )

          Process.sleep(hold * 1000)
        end

        if failure, do: {:halt, sleepers}, else: {:cont, sleepers}
      end)

    {micros, _} = :timer.tc(fn -> stop_all(sleepers) end)

    IO.puts(
      "  #{length(sleepers)} sandboxes killed and reaped in #{float(micros / 1_000_000, 1)} s"
    )
  end

  # Starts sleepers (owned by this process) until `count` are alive, two at a time, in batches of
  # 100; stops at the first failure, or when the deadline has passed, returning why.
  defp grow(sleepers, count, _sleep, _deadline) when length(sleepers) >= count,
    do: {sleepers, nil}

  defp grow(sleepers, count, sleep, deadline) do
    owner = self()
    batch = min(count - length(sleepers), 100)

    if System.monotonic_time(:second) > deadline do
      {sleepers,
       "the time budget (LACCA_BENCH_ALIVE_BUDGET) ran out; load average #{load_average()}"}
    else
      {micros, results} =
        :timer.tc(fn ->
          Task.async_stream(
            1..batch,
            fn _ -> start_sleeper(sleep, owner) end,
            max_concurrency: 2,
            timeout: :infinity,
            ordered: false
          )
          |> Enum.map(fn {:ok, result} -> result end)
        end)

      started = for {:ok, pid} <- results, do: pid
      # A start returns once the command runs (ProcessStarted), so each of these is alive.
      sleepers = started ++ sleepers

      if rem(length(sleepers), 500) == 0 and length(sleepers) < count,
        do:
          IO.puts(
            "    #{length(sleepers)} alive; the last #{batch} started at " <>
              "#{float(batch / (micros / 1_000_000), 1)} per second (2 at a time); " <>
              "load average #{load_average()}"
          )

      case for({:error, error} <- results, do: error) do
        [] ->
          grow(sleepers, count, sleep, deadline)

        [error | _] = errors ->
          {sleepers,
           "#{length(errors)} of #{batch} starts failed, first: #{Exception.message(error)}"}
      end
    end
  end

  # A start that raises or exits (a port the VM cannot open, say) is a failure too.
  defp start_sleeper(sleep, owner) do
    # default.json ends a sandbox after 10 minutes of wall time: these must outlive the run.
    Lacca.start(sleep, ["1000000"], config: [limits: [wall_time_ms: 86_400_000]], owner: owner)
  rescue
    error -> {:error, RuntimeError.exception("raised: " <> Exception.message(error))}
  catch
    kind, reason -> {:error, RuntimeError.exception("#{kind}: #{inspect(reason)}")}
  end

  defp stop_all(sleepers) do
    sleepers
    |> Task.async_stream(fn pid -> Lacca.kill(pid) && Lacca.await_exit(pid, 60_000) end,
      max_concurrency: 8,
      timeout: :infinity
    )
    |> Stream.run()
  end

  # Per alive sandbox, over a sample of them: the processes of its tree (resin, its cgroup reaper,
  # the sandbox's init, the command), their RSS, private (RssAnon) and proportional (Pss) memory,
  # the private memory of each role, and the usage its memory cgroup counts; and the host's
  # MemAvailable that went per sandbox (the kernel's share included: namespaces, mount trees,
  # cgroups, page tables).
  defp alive_memory(sleepers, available_before) do
    sample = Enum.take_random(sleepers, 20)

    rows =
      for pid <- sample, {:ok, info} = Lacca.info(pid), info[:resin_os_pid] do
        roles = roles(info.resin_os_pid)
        tree = Enum.map(roles, &elem(&1, 1))

        {length(tree), sum_field(tree, "status", "VmRSS"), sum_field(tree, "status", "RssAnon"),
         sum_field(tree, "smaps_rollup", "Pss"), cgroup_memory(info.os_pid),
         Map.new(roles, fn {role, os_pid} -> {role, sum_field([os_pid], "status", "RssAnon")} end)}
      end

    if rows != [] do
      med = fn index -> rows |> Enum.map(&elem(&1, index)) |> Enum.sort() |> percentile(50) end
      now = kernel_memory()

      went =
        for {field, before} <- available_before do
          per =
            if(field == "MemAvailable", do: before - now[field], else: now[field] - before) /
              max(1, length(sleepers))

          "#{field} #{float(per, 0)}"
        end

      by_role =
        for role <- [:resin, :reaper, :init, :command] do
          kib = rows |> Enum.map(&Map.get(elem(&1, 5), role, 0)) |> Enum.sort() |> percentile(50)
          "#{role} #{kib}"
        end

      IO.puts(
        "  memory per alive sandbox (median of #{length(rows)}): #{med.(0)} processes, RSS #{med.(1)} KiB, " <>
          "RssAnon #{med.(2)} KiB (#{Enum.join(by_role, ", ")}), Pss #{med.(3)} KiB; " <>
          "its memory cgroup #{div(med.(4), 1024)} KiB; " <>
          "host, per sandbox (KiB): #{Enum.join(went, ", ")} (less MemAvailable; more of the others)"
      )
    end
  end

  # resin's process tree: resin, its children (the cgroup reaper, named resin-reaper, and the
  # sandbox's init) and the init's children (the command).
  defp roles(resin) do
    children = fn pid ->
      case File.read("/proc/#{pid}/task/#{pid}/children") do
        {:ok, text} -> text |> String.split() |> Enum.map(&String.to_integer/1)
        _ -> []
      end
    end

    [{:resin, resin}] ++
      Enum.flat_map(children.(resin), fn child ->
        case File.read("/proc/#{child}/comm") do
          {:ok, "resin-reaper\n"} -> [{:reaper, child}]
          _ -> [{:init, child} | Enum.map(children.(child), &{:command, &1})]
        end
      end)
  end

  # The sum of a "Name: N kB" field over processes, in KiB.
  defp sum_field(pids, file, field) do
    Enum.sum(for pid <- pids, do: proc_field("/proc/#{pid}/#{file}", field))
  end

  defp proc_field(path, field) do
    with {:ok, text} <- File.read(path),
         [_, value] <- Regex.run(~r/^#{field}:\s+(\d+)/m, text) do
      String.to_integer(value)
    else
      _ -> 0
    end
  end

  defp meminfo(field), do: proc_field("/proc/meminfo", field)

  # The host's available memory and the kernel's own kinds of it, in KiB: their change divided by
  # the alive sandboxes is what each costs the host (other work on the host moves them too).
  defp kernel_memory do
    for field <- ["MemAvailable", "SUnreclaim", "Percpu", "KernelStack", "PageTables"],
        into: %{},
        do: {field, meminfo(field)}
  end

  # Bytes the command's memory cgroup counts (v1 memory.usage_in_bytes, v2 memory.current).
  defp cgroup_memory(os_pid) do
    lines = File.read!("/proc/#{os_pid}/cgroup") |> String.split("\n", trim: true)

    v1 =
      Enum.find_value(lines, fn line ->
        match?([_, "memory", _], String.split(line, ":", parts: 3)) && line
      end)

    path =
      if v1,
        do:
          "/sys/fs/cgroup/memory" <>
            (v1 |> String.split(":", parts: 3) |> List.last()) <> "/memory.usage_in_bytes",
        else:
          "/sys/fs/cgroup" <>
            (hd(lines) |> String.split(":", parts: 3) |> List.last()) <> "/memory.current"

    case File.read(path) do
      {:ok, text} -> text |> String.trim() |> String.to_integer()
      _ -> 0
    end
  end

  # What could bound the number of alive sandboxes, and how close to each this BEAM and host are.
  defp print_limits do
    read = fn path ->
      case File.read(path),
        do:
          (
            {:ok, t} -> String.trim(t)
            _ -> "?"
          )
    end

    nofile = Regex.run(~r/^Max open files\s+(\d+)/m, read.("/proc/self/limits")) |> List.last()
    nproc = Regex.run(~r/^Max processes\s+(\S+)/m, read.("/proc/self/limits")) |> List.last()
    {:ok, fds} = File.ls("/proc/self/fd")
    tasks = File.ls!("/proc") |> Enum.count(&(&1 =~ ~r/^\d+$/))

    memcgs =
      Regex.run(~r/^memory\s+\d+\s+(\d+)/m, read.("/proc/cgroups"))
      |> then(&(&1 && List.last(&1)))

    IO.puts(
      "  limits: BEAM ports #{length(:erlang.ports())}/#{:erlang.system_info(:port_limit)}, " <>
        "fds #{length(fds)}/#{nofile}, processes #{:erlang.system_info(:process_count)}/#{:erlang.system_info(:process_limit)}; " <>
        "host tasks #{tasks} (pid_max #{read.("/proc/sys/kernel/pid_max")}, threads-max " <>
        "#{read.("/proc/sys/kernel/threads-max")}, RLIMIT_NPROC #{nproc}), " <>
        "max_user_namespaces #{read.("/proc/sys/user/max_user_namespaces")}, " <>
        "max_net_namespaces #{read.("/proc/sys/user/max_net_namespaces")}, " <>
        "memory cgroups #{memcgs || "?"}, MemAvailable #{div(meminfo("MemAvailable"), 1024)} MiB"
    )
  end

  defp load_average,
    do: File.read!("/proc/loadavg") |> String.split() |> Enum.take(3) |> Enum.join(" ")

  defp now_us, do: System.monotonic_time(:microsecond)
  defp float(value, decimals), do: :erlang.float_to_binary(value / 1, decimals: decimals)

  defp env_int(name, default) do
    case System.get_env(name, "") do
      "" -> default
      text -> String.to_integer(text)
    end
  end

  defp env_ints(name, default) do
    case System.get_env(name, "") do
      "" ->
        default

      text ->
        text |> String.split(",", trim: true) |> Enum.map(&String.to_integer(String.trim(&1)))
    end
  end

  ## Memory

  def memory do
    size = 256 * 1_048_576
    head = System.find_executable("head")
    args = ["-c", Integer.to_string(size), "/dev/zero"]

    IO.puts(
      "\n## memory: #{div(size, 1_048_576)} MiB from a fast producer to a slow consumer (1 ms per chunk)"
    )

    :erlang.garbage_collect()
    base = :erlang.memory(:total)

    {lacca_peak, lacca_bytes} =
      sample_peak(fn ->
        {:ok, pid} = Lacca.start(head, args, config: :trusted, mode: :stream)
        slow_stream(pid, 0)
      end)

    {port_peak, port_bytes} =
      sample_peak(fn ->
        port = Port.open({:spawn_executable, head}, [:binary, :exit_status, args: args])
        slow_port(port, 0)
      end)

    for {label, peak, bytes} <- [
          {"lacca (window 1 MiB)", lacca_peak, lacca_bytes},
          {"Port.open (raw)", port_peak, port_bytes}
        ] do
      if bytes != size, do: raise("lost bytes: #{bytes} of #{size}")

      IO.puts(
        "  #{String.pad_trailing(label, 24)} peak BEAM memory #{mib(peak)} MiB " <>
          "(#{mib(peak - base)} MiB above the #{mib(base)} MiB at rest), all #{div(bytes, 1_048_576)} MiB received"
      )
    end
  end

  def stdin_memory do
    size = 64 * 1_048_576
    sh = System.find_executable("sh")
    chunk = :binary.copy("x", @chunk_size)
    chunks = div(size, @chunk_size)
    # Reads 64 KiB, then sleeps 5 ms; ends at end-of-file.
    slow =
      "while [ \"$(dd bs=65536 count=1 iflag=fullblock status=none | wc -c)\" -gt 0 ]; do sleep 0.005; done"

    IO.puts(
      "\n## memory: #{div(size, 1_048_576)} MiB written as fast as possible to a command that reads 64 KiB per 5 ms"
    )

    :erlang.garbage_collect()
    base = :erlang.memory(:total)

    {lacca_peak, _} =
      sample_peak(fn ->
        {:ok, %Lacca.Result{exit: %Lacca.Exit{exit_code: 0}, stdin: :ok}} =
          Lacca.run(sh, ["-c", slow],
            stdin: Stream.map(1..chunks, fn _ -> chunk end),
            config: :trusted
          )
      end)

    {port_peak, _} =
      sample_peak(fn ->
        port = Port.open({:spawn_executable, sh}, [:binary, :exit_status, args: ["-c", slow]])
        Enum.each(1..chunks, fn _ -> Port.command(port, chunk) end)
        send(port, {self(), :close})
        receive do: ({^port, :closed} -> :ok)
      end)

    for {label, peak} <- [{"lacca (stdin credit)", lacca_peak}, {"Port.command (raw)", port_peak}] do
      IO.puts(
        "  #{String.pad_trailing(label, 24)} peak BEAM memory #{mib(peak)} MiB " <>
          "(#{mib(peak - base)} MiB above the #{mib(base)} MiB at rest)"
      )
    end
  end

  defp slow_stream(pid, bytes) do
    receive do
      {:lacca, ^pid, {:stdout, data}} ->
        Process.sleep(1)
        Lacca.ack(pid, data)
        slow_stream(pid, bytes + byte_size(data))

      {:lacca, ^pid, {:exit, _}} ->
        bytes

      {:lacca, ^pid, {:error, error}} ->
        raise error
    end
  end

  defp slow_port(port, bytes) do
    receive do
      {^port, {:data, data}} ->
        Process.sleep(1)
        slow_port(port, bytes + byte_size(data))

      {^port, {:exit_status, _}} ->
        bytes
    end
  end

  # Runs `fun` while another process samples :erlang.memory(:total) every 10 ms.
  defp sample_peak(fun) do
    :erlang.garbage_collect()
    sampler = spawn(fn -> sample(0) end)
    result = fun.()
    send(sampler, {:stop, self()})

    receive do
      {:peak, peak} -> {peak, result}
    end
  end

  defp sample(peak) do
    peak = max(peak, :erlang.memory(:total))

    receive do
      {:stop, from} -> send(from, {:peak, peak})
    after
      10 -> sample(peak)
    end
  end

  defp ms(micros), do: "#{:erlang.float_to_binary(micros / 1000, decimals: 0)} ms"
  defp mib(bytes), do: :erlang.float_to_binary(bytes / 1_048_576, decimals: 1)
end

Lacca.Bench.main(System.argv())
