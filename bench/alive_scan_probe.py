#!/usr/bin/env python3
"""What resin's own per-start scans cost with K sandboxes alive, without K sandboxes: this process
stands in for them. It holds K of the reserved-uid locks (/run/resin/owners/<uid>, flock, as K live
resins do) and/or K sandbox-named cgroups (resin-<pid>-<start time>-<n> of a live process, here
itself) in each v1 hierarchy where resin creates its own, then runs `resin --config PROFILE --
/bin/true` under four conditions: nothing held, the locks, the cgroups, both (the locks
interleaved round by round; the cgroups in a block between two blocks without them). Medians
and the difference to "nothing held" show what each scan adds at K; the namespaces, mount trees and
processes of K real sandboxes are absent by design (see the `alive` part of
lacca/bench/lacca_bench.exs for the real thing).

    bench/alive_scan_probe.py K [ROUNDS=40] [RESIN=build/release/src/host/resin] [PROFILE=config/default.json]

Root only (the locks and the cgroups are root's); removes its cgroups and releases its locks at the
end. Other resins on the host scan what it holds too while it runs.
"""
import fcntl
import os
import resource
import statistics
import subprocess
import sys
import time

OWNERS = "/run/resin/owners"
FIRST_UID = 0x7FF00000


def start_time(pid):
    with open(f"/proc/{pid}/stat") as stat:
        line = stat.read()
    return line[line.rindex(")") + 2:].split()[19]  # field 22


def own_v1_cgroups():
    """The directories resin creates its sandbox cgroups in: this process's own cgroup in each v1
    hierarchy it uses."""
    dirs = []
    with open("/proc/self/cgroup") as cgroups:
        for line in cgroups:
            _, controllers, path = line.rstrip("\n").split(":", 2)
            for controller in ("memory", "cpu", "cpuacct", "pids", "freezer"):
                if controller in controllers.split(","):
                    dirs.append(f"/sys/fs/cgroup/{controller}{path.rstrip('/')}")
    return dirs


def hold_locks(count):
    held = []
    uid = FIRST_UID
    while len(held) < count:
        fd = os.open(f"{OWNERS}/{uid}", os.O_RDONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            held.append(fd)
        except BlockingIOError:
            os.close(fd)
        uid += 1
    return held


def make_cgroups(count):
    prefix = f"resin-{os.getpid()}-{start_time(os.getpid())}-"
    made = []
    for parent in own_v1_cgroups():
        for n in range(1000000, 1000000 + count):
            path = f"{parent}/{prefix}{n}"
            os.mkdir(path)
            made.append(path)
    return made


def main() -> int:
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    count = int(sys.argv[1])
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 40
    resin = sys.argv[3] if len(sys.argv) > 3 else "build/release/src/host/resin"
    profile = sys.argv[4] if len(sys.argv) > 4 else "config/default.json"
    argv = [resin, "--config", profile, "--", "/bin/true"]
    locks, cgroups = [], []
    times = {"nothing held": [], f"{count} uid locks": [], f"{count} cgroups x5": [], "both": []}
    cpu = {label: [] for label in times}

    def run():
        """Wall time in ms; the CPU time (user + system) of resin and what it waited for goes to
        cpu_spent[0], which load on a shared box disturbs less."""
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(argv, check=True, stdin=subprocess.DEVNULL)
        wall = (time.perf_counter() - start) * 1000
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu_spent[0] = ((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)) * 1000
        return wall

    cpu_spent = [0.0]

    def record(label):
        times[label].append(run())
        cpu[label].append(cpu_spent[0])

    # Three blocks: without the cgroups, with them, without them again (creating and removing
    # thousands of cgroups is itself slow, so it is not done every round); within a block, the
    # locks are taken and released round by round.
    try:
        subprocess.run(argv, check=True)
        for block in ("without", "with", "without"):
            if block == "with":
                cgroups = make_cgroups(count)
            for _ in range(rounds // 2 if block == "without" else rounds):
                record("nothing held" if block == "without" else f"{count} cgroups x5")
                locks = hold_locks(count)
                record(f"{count} uid locks" if block == "without" else "both")
                for fd in locks:
                    os.close(fd)
                locks = []
            for path in cgroups:
                os.rmdir(path)
            cgroups = []
    finally:
        for fd in locks:
            os.close(fd)
        for path in cgroups:
            os.rmdir(path)
    base = statistics.median(times["nothing held"])
    cpu_base = statistics.median(cpu["nothing held"])
    print(f"resin CLI, /bin/true to its exit, median of {rounds} rounds, K = {count}: wall time, and "
          "CPU time of resin and its children")
    for label, values in times.items():
        med = statistics.median(values)
        cpu_med = statistics.median(cpu[label])
        print(f"  {label:20s} {med:7.2f} ms  {med - base:+7.2f} ms   CPU {cpu_med:7.2f} ms  "
              f"{cpu_med - cpu_base:+7.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
