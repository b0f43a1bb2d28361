#!/usr/bin/env bash
# The whole test suite, on a fresh Debian 12 machine, as root:
#   1. installs the Debian packages that are missing;
#   2. builds resin optimised (build/release), as a packager would (plain CMake, Release; then
#      `cmake --install` and the installed resin's profiles), and with AddressSanitizer+UBSan;
#   3. runs every GoogleTest suite on the sanitizer build: protocol, config, isolation, limits,
#      host (port and CLI), the attack suite; the isolation, limits and attack suites also as an
#      unprivileged user (uid 65534);
#   4. runs each libFuzzer target (clang build, build/fuzz) for FUZZ_SECONDS;
#   5. builds resin as lacca's `mix compile` does (stripped, cached by source hash; a clean _build
#      installs it from the cache) and runs lacca's ExUnit suite against the optimised resin;
#   6. boots Debian's stock kernel with pure cgroup v2 under qemu and runs the limit and isolation
#      tests there (docs/vm-tests.md).
# Any failure stops it with a non-zero exit. FUZZ_SECONDS (default 60) bounds each fuzz target.
set -euo pipefail
cd "$(dirname "$0")/.."

fuzz_seconds=${FUZZ_SECONDS:-60}
jobs=$(nproc)
step() { printf '\n==== %s\n' "$*"; }

step "Debian packages"
tests/install-deps.sh test

# The sandboxed tests run as uid 65534 (the default profile's user, and the unprivileged passes) and
# bind programs from the build tree into their sandboxes, so that user must be able to reach the
# checkout. One under a private directory (a 0700 home, mktemp -d) is copied to one it can reach.
if ! setpriv --reuid 65534 --regid 65534 --clear-groups test -x "$PWD"; then
    copy=/var/tmp/resin-tests
    echo "uid 65534 cannot reach $PWD (a directory above it is private): running from $copy"
    rm -rf "$copy"
    mkdir -m 0755 "$copy"
    tar -c --exclude=./build --exclude=./lacca/_build --exclude=./lacca/deps . | tar -x -C "$copy"
    chmod 0755 "$copy"
    exec "$copy/tests/run.sh"
fi

step "build: release"
cmake --preset release >/dev/null
cmake --build --preset release -j "$jobs"

step "build: plain CMake (Release, no preset, warnings as errors), then cmake --install"
cmake -S . -B build/plain -DCMAKE_BUILD_TYPE=Release -DRESIN_BUILD_TESTS=OFF -DRESIN_WERROR=ON \
    >/dev/null
cmake --build build/plain -j "$jobs" --target resin
tests/install_test.sh build/plain

step "build: ASan+UBSan"
cmake --preset asan >/dev/null
cmake --build --preset asan -j "$jobs"

step "GoogleTest suites (ASan+UBSan, as root and as uid 65534)"
ctest --preset asan -j "$jobs" --timeout 600

step "timing requirements on the optimised build (the sanitizer build's budgets are wider)"
build/release/tests/limits_tests \
    --gtest_filter='ThroughResin.*WithinASecond'

step "fuzz: ${fuzz_seconds}s per target"
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j "$jobs"
fuzz() {  # fuzz TARGET SEED_CORPUS [libFuzzer options]
    local target=$1 seeds=$2 scratch
    shift 2
    scratch=$(mktemp -d)
    echo "-- $target"
    build/fuzz/tests/fuzz/"$target" -max_total_time="$fuzz_seconds" -print_final_stats=1 "$@" \
        "$scratch" "$seeds" 2>&1 | tail -n 12
    rm -rf "$scratch"
}
fuzz fuzz_packet_decoder tests/fuzz/corpus/packets
fuzz fuzz_config_parser tests/fuzz/corpus/config -dict=tests/fuzz/config.dict

step "lacca: the stripped, cached resin build"
tests/lacca_build_cache.sh

step "lacca (ExUnit)"
(cd lacca && LACCA_RESIN_PATH="$PWD/../build/release/src/host/resin" MIX_ENV=test \
    mix test)

step "cgroup v2 in a VM"
ctest --preset release -L vm --output-on-failure

printf '\n==== all tests passed\n'
