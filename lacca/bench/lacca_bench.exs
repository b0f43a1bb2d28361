# lacca against the BEAM's own ways of running a command.
#
#     cd lacca && mix run bench/lacca_bench.exs            # everything, about a minute
#     cd lacca && mix run bench/lacca_bench.exs spawn_rate # one part: throughput, stdin, spawn_rate,
#                                                          # memory, stdin_memory, pool, pool_rate
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
    rounds = 300
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

    Enum.each(ways, fn {_, fun} -> fun.() end)

    times =
      for _ <- 1..rounds, {label, fun} <- ways do
        {micros, _} = :timer.tc(fun)
        {label, micros}
      end

    medians = Map.new(ways, fn {label, _} -> {label, median(for {^label, t} <- times, do: t)} end)
    port = medians["Port.open"]

    for {label, _} <- ways do
      micros = medians[label]

      IO.puts(
        "  #{String.pad_trailing(label, 26)} #{:erlang.float_to_binary(micros / 1000, decimals: 2)} ms" <>
          "  #{:erlang.float_to_binary(micros / port, decimals: 2)}x Port.open"
      )
    end
  end

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
