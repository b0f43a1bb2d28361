#!/bin/sh
# Runs a test executable as uid/gid 65534 with no supplementary groups: CTest's wrapper for the
# "unprivileged." registration of the isolation tests. Run by a user who is not root already, it
# just runs the executable.
#
# The executable is handed over as an open descriptor and run as /proc/self/fd/3, so it runs even
# where uid 65534 cannot reach the build tree (a fresh clone under a 0700 mktemp directory).
set -eu
executable=$1
shift
if [ "$(id -u)" != 0 ]; then
    exec "$executable" "$@"
fi
exec 3<"$executable"
exec setpriv --reuid 65534 --regid 65534 --clear-groups /proc/self/fd/3 "$@"
