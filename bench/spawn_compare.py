#!/usr/bin/env python3
"""Interleaved spawn comparison of resin builds or profiles: /bin/true run to its exit under each
variant in turn, ROUNDS times, medians and ratios to the first variant.

    bench/spawn_compare.py ROUNDS LABEL=RESIN:PROFILE [LABEL=RESIN:PROFILE ...]

e.g. an old and a new build, each with the profile of its own tree:
    bench/spawn_compare.py 200 before=/old/build/release/src/host/resin:/old/config/default.json \
        after=build/release/src/host/resin:config/default.json
"""
import statistics
import subprocess
import sys
import time


def main() -> int:
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    rounds = int(sys.argv[1])
    variants = []
    for spec in sys.argv[2:]:
        label, _, rest = spec.partition("=")
        resin, _, profile = rest.partition(":")
        variants.append((label, [resin, "--config", profile, "--", "/bin/true"]))
    times = {label: [] for label, _ in variants}
    for _ in range(rounds):
        for label, command in variants:
            start = time.perf_counter()
            ended = subprocess.run(command, stdin=subprocess.DEVNULL)
            times[label].append((time.perf_counter() - start) * 1000)
            if ended.returncode != 0:
                print(f"{label}: exit {ended.returncode}", file=sys.stderr)
                return 1
    baseline = statistics.median(times[variants[0][0]])
    print(f"/bin/true to exit, median of {rounds} interleaved rounds")
    for label, _ in variants:
        median = statistics.median(times[label])
        print(f"  {label:32s} {median:7.2f} ms  {median / baseline:5.2f}x {variants[0][0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
