#!/usr/bin/env bash
# `cmake --install` puts resin, the profiles and the schema where `extends` looks for them, and the
# installed resin finds its installed profiles (not the source tree's): usage: install_test.sh BUILD_DIR
set -euo pipefail
build=$1
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT

cmake --install "$build" --prefix "$prefix" >/dev/null
test -x "$prefix/bin/resin"
for file in default build network-client trusted resin-config.schema; do
    test -f "$prefix/share/resin/config/$file.json" || { echo "not installed: $file.json"; exit 1; }
done

# Mark the installed default so that the sandbox shows which one was used.
sed -i 's/"hostname": "sandbox"/"hostname": "installed"/' "$prefix/share/resin/config/default.json"
mkdir "$prefix/job"
printf '{"extends": "default", "limits": {"processes": 8}}\n' > "$prefix/job/profile.json"

"$prefix/bin/resin" --check-config "$prefix/job/profile.json" >/dev/null 2>&1
got=$(env -u RESIN_PROFILE_PATH "$prefix/bin/resin" --config "$prefix/job/profile.json" -- hostname)
if [[ $got != installed ]]; then
    echo "the installed resin used another default profile: hostname '$got'"
    exit 1
fi
echo "installed resin found its installed profiles"
