#!/usr/bin/env python3
"""The CPU a pooled sandbox costs the machine over its whole life, for several resin binaries.

    bench/sandbox_cycle_cpu.py CYCLES BLOCKS PROFILE_JSON RESIN [RESIN...]

One cycle is what lacca's pool pays per start: spawn `resin --port`, handshake, Prepare, Start
/bin/true, ExitStatus, close the port, resin's exit. Each binary runs BLOCKS blocks of CYCLES
cycles back to back, the binaries' blocks interleaved; after each block the machine is let come to
rest (no resin process left, then 100 ms windows until one is under 5 % busy) and that time is
counted too, so work left behind (cgroup removal, the netns pool's refill, the kernel's
network-namespace cleanup in its workers) is inside the figure. CPU is the whole machine's busy
time from /proc/stat, this script's own included (the same for every binary). Prints, per binary,
the median of its blocks: CPU ms per cycle, wall ms per cycle back to back; and the ratio of CPU
to the first binary's. e.g.
    bench/sandbox_cycle_cpu.py 100 5 '{"extends":"default"}' /tmp/resin.old build/release/src/host/resin
"""
import os
import statistics
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from prepared_spawn_compare import (  # noqa: E402
    EXIT_STATUS,
    PREPARE,
    PREPARED,
    START,
    frame,
    handshaken,
    string,
    strings,
)

TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")


def busy_ms() -> float:
    with open("/proc/stat") as stat:
        fields = [int(v) for v in stat.readline().split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq + steal) * 1000 / TICKS_PER_SECOND


def resins_alive() -> bool:
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/comm") as comm:
                    if comm.read().startswith("resin"):
                        return True
            except OSError:
                pass
    return False


def await_rest() -> None:
    deadline = time.monotonic() + 60
    while resins_alive():
        if time.monotonic() > deadline:
            raise RuntimeError("resin processes still alive after 60 s")
        time.sleep(0.01)
    cpus = os.cpu_count() or 1
    while True:
        before = busy_ms()
        time.sleep(0.1)
        if (busy_ms() - before) / (100 * cpus) < 0.05:
            return
        if time.monotonic() > deadline:
            raise RuntimeError("the machine did not come to rest within 60 s")


def cycle(path: str, config: bytes, command: bytes) -> None:
    resin = handshaken(path)
    resin.send(frame(PREPARE, 3, string(config)))
    resin.until(PREPARED)
    resin.send(frame(START, 4, command + strings([]) + string(b"")))
    resin.until(EXIT_STATUS)
    resin.close()


def main() -> int:
    if len(sys.argv) < 5:
        print(__doc__, file=sys.stderr)
        return 2
    cycles, blocks, config = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3].encode()
    paths = sys.argv[4:]
    command = string(b"/bin/true") + strings([])
    cpu = {path: [] for path in paths}
    wall = {path: [] for path in paths}
    await_rest()
    for _ in range(blocks):
        for path in paths:
            cpu_before, begin = busy_ms(), time.perf_counter()
            for _ in range(cycles):
                cycle(path, config, command)
            wall[path].append((time.perf_counter() - begin) * 1000 / cycles)
            await_rest()
            cpu[path].append((busy_ms() - cpu_before) / cycles)
    baseline = statistics.median(cpu[paths[0]])
    print(f"{config.decode()}: /bin/true, {blocks} blocks of {cycles} cycles, medians of the blocks")
    for path in paths:
        used = statistics.median(cpu[path])
        print(
            f"  {used:6.2f} ms CPU per cycle  {used / baseline:5.2f}x  "
            f"{statistics.median(wall[path]):6.2f} ms wall per cycle  {path}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
