#!/usr/bin/env bash
# The demo: builds resin and runs a command in the sandbox of config/default.json, showing what the
# command can and cannot see and do. Run as root on Debian 12; installs missing build packages.
set -euo pipefail
cd "$(dirname "$0")/.."

tests/install-deps.sh build
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)" --target resin
resin=build/release/src/host/resin

cat <<'SCRIPT' >build/demo.sh
echo "I am $(id), on host '$(hostname)', pid $$"
echo "I see this filesystem: $(ls / | tr '\n' ' ')"
echo "and these processes: $(ls /proc | grep -c '^[0-9]') in all"
if (echo > /dev/tcp/1.1.1.1/443) 2>/dev/null; then echo "network: reachable"; else echo "network: unreachable"; fi
if touch /usr/evil 2>/dev/null; then echo "/usr: writable"; else echo "/usr: read-only"; fi
if cat /etc/shadow >/dev/null 2>&1; then echo "/etc/shadow: readable"; else echo "/etc/shadow: not there"; fi
echo "my capabilities: $(grep CapEff /proc/self/status)"
SCRIPT

echo "\$ $resin --config config/default.json --report - -- bash -c \"\$(cat build/demo.sh)\""
"$resin" --config config/default.json --report - -- bash -c "$(cat build/demo.sh)"
