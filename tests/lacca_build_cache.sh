#!/usr/bin/env bash
# lacca's resin build: `mix compile` installs a stripped resin, keeps it in a cache keyed by the
# sources and the toolchain, and a clean _build (or another project) installs it from that cache without running
# CMake. Usage: tests/lacca_build_cache.sh (from anywhere; needs the build packages and elixir).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
export LACCA_RESIN_CACHE=$scratch/cache MIX_ENV=prod
unset LACCA_RESIN_PATH
cd "$root/lacca"

echo "-- first compile: builds resin with CMake"
MIX_BUILD_ROOT=$scratch/build-1 mix compile >"$scratch/first.log" 2>&1 ||
    { tail -n 40 "$scratch/first.log"; exit 1; }
entries=("$LACCA_RESIN_CACHE"/resin-*)
[[ ${#entries[@]} -eq 1 && -x ${entries[0]}/resin && -f ${entries[0]}/resin.debug ]] ||
    { echo "expected one cache entry with resin and resin.debug, got: ${entries[*]}"; exit 1; }
if readelf -S priv/resin | grep -q '\.debug_info'; then
    echo "priv/resin still has debug information"; exit 1
fi
size=$(stat -c %s priv/resin)
echo "priv/resin: $size bytes, stripped"
((size < 8 * 1024 * 1024)) || { echo "priv/resin is larger than 8 MiB"; exit 1; }
priv/resin --version >/dev/null

echo "-- second compile, clean _build: from the cache, CMake never runs"
mkdir "$scratch/bin"
printf '#!/bin/sh\necho "cmake ran: the cache was not used" >&2\nexit 1\n' >"$scratch/bin/cmake"
chmod +x "$scratch/bin/cmake"
rm priv/resin
PATH=$scratch/bin:$PATH MIX_BUILD_ROOT=$scratch/build-2 mix compile >"$scratch/second.log" 2>&1 ||
    { cat "$scratch/second.log"; exit 1; }
cmp priv/resin "${entries[0]}/resin"
echo "lacca build cache: the second compile installed the cached resin"
