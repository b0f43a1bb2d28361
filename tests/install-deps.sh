#!/usr/bin/env bash
# Installs the Debian 12 packages resin and lacca need, if any is missing. Run as root.
#   tests/install-deps.sh build   what building resin and running the demo needs
#   tests/install-deps.sh test    everything the whole test suite needs (the default)
set -euo pipefail

build_packages=(
    cmake make g++ pkg-config
    libboost-dev nlohmann-json3-dev libseccomp-dev libcap-dev libcli11-dev
)
test_packages=(
    "${build_packages[@]}"
    libgtest-dev libssl-dev clang libclang-rt-14-dev
    elixir erlang-dev erlang-tools
    python3 procps util-linux iproute2 stress-ng bubblewrap
    qemu-system-x86 busybox-static
)

case "${1:-test}" in
    build) wanted=("${build_packages[@]}") ;;
    test) wanted=("${test_packages[@]}") ;;
    *) echo "usage: $0 [build|test]" >&2; exit 2 ;;
esac

missing=()
for package in "${wanted[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
        missing+=("$package")
done
if ((${#missing[@]})); then
    echo "installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
