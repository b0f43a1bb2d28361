#!/busybox/sh
# shellcheck shell=dash
# Runs, in the VM, resin's own checks (checks.sh) and the GoogleTest binaries listed in /vm/tests,
# in three passes; one marker per test (see stage2.sh), then RESIN-VM-DONE. Can also be run by hand
# from the --shell mode.
#   root          as root in the root cgroup, which resin may use as it is.
#   delegated     as root in a child cgroup declared delegated (RESIN_CGROUP_DELEGATED=1), as under
#                 systemd's Delegate=yes: resin must first move the processes there into a leaf.
#   unprivileged  as uid/gid 65534 without groups: user namespaces, no cgroup; rlimit fallbacks.
export PATH=/busybox
. /vm/config

results=/dev/ttyS1
work=/run/vm
mkdir -p "$work"
passed=0
failed=0

# mark <name> PASS|FAIL|SKIP [why]
mark() {
    case $2 in
        PASS) passed=$((passed + 1)) ;;
        FAIL) failed=$((failed + 1)) ;;
    esac
    echo "RESIN-VM-TEST $1 $2" >>"$results"
    echo "RESIN-VM-TEST $1 $2${3:+ ($3)}"
}

# as_pass <pass> <command>...: runs the command as that pass's user, with a clean environment and
# no stdin; killed after $time_limit seconds if that is set. (The delegated pass's cgroup is the
# one this script is in.)
test_path=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin
time_limit=""
as_pass() {
    local pass=$1
    shift
    if [ "$pass" = root ]; then
        set -- env -i HOME=/root PATH="$test_path" RESIN_PROFILE_PATH="$REPO/config" "$@"
    elif [ "$pass" = delegated ]; then
        set -- env -i HOME=/root PATH="$test_path" RESIN_PROFILE_PATH="$REPO/config" \
            RESIN_CGROUP_DELEGATED=1 "$@"
    else
        set -- /usr/bin/setpriv --reuid 65534 --regid 65534 --clear-groups \
            env -i HOME=/tmp PATH="$test_path" RESIN_PROFILE_PATH="$REPO/config" "$@"
    fi
    if [ -n "$time_limit" ]; then
        set -- timeout -s KILL "$time_limit" "$@"
    fi
    "$@" </dev/null
}

# run_gtest <pass> <binary> <filter>: one marker per test case the filter selects. A test with no
# result line (the binary crashed, hung past TEST_TIMEOUT or was killed) fails.
run_gtest() {
    local pass=$1 binary=$2 filter=$3 suite=${2##*/} started case
    echo "==== $pass: $binary --gtest_filter=$filter"
    # As tests/support/run_unprivileged.sh does: the binary is handed over as an open descriptor,
    # so uid 65534 need not be able to reach it.
    exec 3<"$binary"
    if ! as_pass "$pass" /proc/self/fd/3 --gtest_filter="$filter" --gtest_list_tests \
        >"$work/list" 2>&1; then
        cat "$work/list"
        mark "$pass/$suite/list_tests" FAIL "--gtest_list_tests failed"
        exec 3<&-
        return
    fi
    awk '/^[^ ].*\.$/ { suite = $1; next } /^  [^ ]/ { print suite $1 }' "$work/list" \
        >"$work/cases"
    started=$(date +%s)
    # To a file, not a pipe: a process the binary leaves behind cannot hold the run up.
    time_limit=$TEST_TIMEOUT
    as_pass "$pass" /proc/self/fd/3 --gtest_filter="$filter" --gtest_color=no >"$work/output" 2>&1
    time_limit=""
    cat "$work/output"
    exec 3<&-
    echo "==== $pass: $suite took $(($(date +%s) - started))s"
    while read -r case; do
        if grep -qF "[       OK ] $case (" "$work/output"; then
            mark "$pass/$suite/$case" PASS
        elif grep -qF "[  SKIPPED ] $case (" "$work/output"; then
            mark "$pass/$suite/$case" SKIP
        elif grep -qF "[  FAILED  ] $case (" "$work/output"; then
            mark "$pass/$suite/$case" FAIL
        else
            mark "$pass/$suite/$case" FAIL "no result: crashed, killed or over ${TEST_TIMEOUT}s"
        fi
    done <"$work/cases"
}

. /vm/checks.sh

delegated=/sys/fs/cgroup/vm-delegated.scope
for pass in root delegated unprivileged; do
    if [ "$pass" = delegated ]; then
        if ! { mkdir "$delegated" && echo $$ >"$delegated/cgroup.procs"; }; then
            mark "delegated/cgroup" FAIL "could not move into $delegated"
        fi
    fi
    echo "======== pass: $pass ($(as_pass "$pass" id); cgroup $(cut -d: -f3 /proc/self/cgroup))"
    if [ -n "$RESIN" ]; then
        started=$(date +%s)
        resin_checks "$pass"
        echo "==== $pass: resin checks took $(($(date +%s) - started))s"
    fi
    while read -r binary filter passes; do
        case ",$passes," in
            *,"$pass",*) run_gtest "$pass" "$binary" "$filter" ;;
        esac
    done </vm/tests
    if [ "$pass" = delegated ]; then
        echo $$ >/sys/fs/cgroup/cgroup.procs
        rmdir "$delegated/resin.leaf" "$delegated" 2>/dev/null
        rmdir "$delegated" 2>/dev/null
    fi
done

echo "RESIN-VM-DONE $passed $failed" >>"$results"
echo "RESIN-VM-DONE $passed $failed"
