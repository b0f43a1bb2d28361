#!/usr/bin/env python3
"""Where `resin --config PROFILE -- /bin/true` spends its time.

Runs it ROUNDS times under `perf trace` (kernel tracepoints: the traced processes are not stopped,
unlike under strace), tracing only the syscalls that mark the steps of a start: the cgroup reaper's
fork (the profile is read and planned by then), the sandbox cgroups' mkdir, the reserved uid's
flock (/run/resin/owners), the pooled network namespace's umount2, the clone3 of the namespaces,
the init's first write (joining its cgroups) and its setresuid (after resin wrote its id maps),
its first mount and pivot_root, the command's fork, setsid, capset, Landlock, the seccomp filter, the exec
of the command, its exit, resin seeing the init exit, the cgroups' rmdir, the netns pool's refill
fork and resin's exit. Prints the median time between consecutive landmarks, and the untraced median
of the same command, measured interleaved, which shows what tracing still adds.

    bench/cli_breakdown.py [ROUNDS=30] [RESIN=build/release/src/host/resin] [PROFILE=config/default.json]

Needs perf (apt-get install -y linux-perf) and root, as the other benches.
"""
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

TRACED = ("clone,clone3,mkdir,flock,umount2,write,setresuid,open_tree,fsopen,pivot_root,setsid,"
          "capset,landlock_restrict_self,seccomp,execve,exit_group,waitid,rmdir")

# "    3.264 ( 0.085 ms): resin/23297 mkdir(pathname: ...) = 0"
# An entry cut by another process's event ends in "..." instead of "= result".
LINE = re.compile(r"^\s*(\d+\.\d+) \(\s*[\d.]* *(?:ms)?\): ([^/]+)/(\d+) (\w+)\((.*?)\)?\s+(?:= ?(.*)|\.\.\.)$")


def landmarks(main):
    """(name, predicate on (pid, syscall, args, result, state)), searched in this order."""
    def by_main(call):
        return lambda pid, name, args, ret, st: pid == main and name == call

    def set_init(pid, name, args, ret, st):
        if pid == main and name == "clone3" and re.match(r"\d+", ret):
            st["init"] = int(re.match(r"-?\d+", ret).group(0))
            return True
        return False

    def set_command(pid, name, args, ret, st):
        # The init's clone often shows no result (perf prints it on the child's line).
        if pid != main and pid != st.get("init") and name == "setsid":
            st["command"] = pid
            return True
        return False

    return [
        ("resin: cgroup reaper forked (profile read, planned)", by_main("clone")),
        ("resin: first sandbox cgroup created",
         lambda pid, name, args, ret, st: pid == main and name == "mkdir" and ret.startswith("0")),
        ("resin: reserved uid claimed (/run/resin/owners)",
         lambda pid, name, args, ret, st: pid == main and name == "flock" and ret.startswith("0")),
        ("resin: pooled netns claimed (umount2; none when the pool was empty)", by_main("umount2")),
        ("resin: clone3 of the namespaces", set_init),
        ("init: running (its first write: joining its first cgroup)",
         lambda pid, name, args, ret, st: pid == st["init"] and name == "write"),
        ("init: joined its cgroups (its last write before setresuid)",
         lambda pid, name, args, ret, st: False),  # placed afterwards, see parse()
        ("init: id maps written by resin (its setresuid)",
         lambda pid, name, args, ret, st: pid == st["init"] and name == "setresuid"),
        ("init: first mount (open_tree/fsopen)",
         lambda pid, name, args, ret, st: pid == st["init"] and name in ("open_tree", "fsopen")),
        ("init: pivot_root", lambda pid, name, args, ret, st: pid == st["init"] and name == "pivot_root"),
        ("init: forked the command",
         lambda pid, name, args, ret, st: pid == st["init"] and name == "clone"),
        ("command: running (its setsid)", set_command),
        ("command: capabilities dropped (capset)",
         lambda pid, name, args, ret, st: pid == st["command"] and name == "capset"),
        ("command: Landlock restricted",
         lambda pid, name, args, ret, st: pid == st["command"] and name == "landlock_restrict_self"),
        ("command: seccomp filter installed",
         lambda pid, name, args, ret, st: pid == st["command"] and name == "seccomp" and "FILTER" in args),
        ("command: execve done",
         lambda pid, name, args, ret, st: pid == st["command"] and name == "execve"),
        ("command: exited",
         lambda pid, name, args, ret, st: pid == st["command"] and name == "exit_group"),
        ("resin: saw the init exit (waitid)", by_main("waitid")),
        ("resin: first cgroup removed (teardown)", by_main("rmdir")),
        ("resin: netns pool refill forked", by_main("clone")),
        ("resin: exit_group", by_main("exit_group")),
    ]


# "         ? (         ): resin/24960  ... [continued]: clone3())  = 24962": the result of an entry
# that was cut.
CONTINUED = re.compile(r"^\s*\? \(\s*\): [^/]+/(\d+)\s+\.\.\. \[continued\]: (\w+)\(\)\)\s+= ?(.*)$")


def parse(path):
    events = []
    with open(path) as trace:
        for raw in trace:
            match = LINE.match(raw)
            if match:
                stamp, _comm, pid, name, args, ret = match.groups()
                events.append((float(stamp), int(pid), name, args, ret or ""))
                continue
            match = CONTINUED.match(raw)
            if match:  # give the result to the same process's last entry of that syscall
                pid, name, ret = int(match.group(1)), match.group(2), match.group(3)
                for index in range(len(events) - 1, -1, -1):
                    if events[index][1] == pid and events[index][2] == name:
                        if not events[index][4]:
                            events[index] = events[index][:4] + (ret,)
                        break
    main = next(pid for _, pid, name, _, _ in events)
    marks = landmarks(main)
    state = {}
    found = []
    last_init_write = None
    for stamp, pid, name, args, ret in events:
        if pid == state.get("init") and name == "write":
            last_init_write = stamp
        if len(found) >= len(marks):
            break
        label, matches = marks[len(found)]
        if label.startswith("init: joined its cgroups"):
            if matches_next(marks, found, pid, name, args, ret, state):
                found.append((label, last_init_write))
                found.append((marks[len(found)][0], stamp))
            continue
        if matches(pid, name, args, ret, state):
            found.append((label, stamp))
        elif "netns" in label and matches_next(marks, found, pid, name, args, ret, state):
            found.append((label, stamp))  # no pooled namespace: a step of no time
            found.append((marks[len(found)][0], stamp))
    if len(found) < len(marks):
        raise RuntimeError(f"{path}: landmark not found: {marks[len(found)][0]}")
    return found


def matches_next(marks, found, pid, name, args, ret, state):
    return len(found) + 1 < len(marks) and marks[len(found) + 1][1](pid, name, args, ret, state)


def main() -> int:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    resin = sys.argv[2] if len(sys.argv) > 2 else "build/release/src/host/resin"
    profile = sys.argv[3] if len(sys.argv) > 3 else "config/default.json"
    argv = [resin, "--config", profile, "--", "/bin/true"]
    untraced = []
    phases = {}
    order = []
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(argv, check=True)  # warm the page cache and the netns pool
        for round_ in range(rounds):
            start = time.perf_counter()
            subprocess.run(argv, check=True, stdin=subprocess.DEVNULL)
            untraced.append((time.perf_counter() - start) * 1000)
            path = os.path.join(tmp, f"trace.{round_}")
            subprocess.run(["perf", "trace", "-e", TRACED, "-o", path, "--"] + argv, check=True,
                           stdin=subprocess.DEVNULL)
            previous = 0.0  # perf trace's clock starts at the exec of resin
            try:
                found = parse(path)
            except RuntimeError as error:  # perf lost an event: the round is left out
                print(f"  round {round_ + 1} left out: {error}", file=sys.stderr)
                continue
            for name, stamp in found:
                phases.setdefault(name, []).append(stamp - previous)
                previous = stamp
                if name not in order:
                    order.append(name)
    traced = sum(statistics.median(phases[name]) for name in order)
    print(f"resin --config {profile} -- /bin/true, {rounds} rounds: untraced median "
          f"{statistics.median(untraced):.2f} ms; traced, the sum of the steps' medians {traced:.2f} ms")
    print(f"  {'step (time since the previous landmark)':70s} {'median ms':>9s} {'p90 ms':>7s} {'share':>6s}")
    for name in order:
        values = sorted(phases[name])
        med = statistics.median(values)
        print(f"  {name:70s} {med:9.2f} {values[int(len(values) * 0.9)]:7.2f} {med / traced * 100:5.1f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
