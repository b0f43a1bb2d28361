# shellcheck shell=dash
# shellcheck disable=SC2034,SC2154 # time_limit and test_path belong to run-tests.sh
# Sourced by run-tests.sh. busybox ash, checked as dash (shellcheck has no busybox dialect).
#
# resin's limits, end to end through the resin executable, on this kernel. As root every limit must be enforced by the cgroup v2 backend and end the sandbox with
# its reason; as uid 65534 (no cgroup delegation) the documented fallbacks must hold, and a limit
# nothing can enforce must be refused (docs/limits.md). What enforced each limit, and what was
# seen, is printed as a table at the end of each pass.

# The sandboxed commands. `sleep 100N` names a process the checks look for afterwards.
busy_loop='while :; do :; done'
two_busy_loops="sh -c '$busy_loop' & $busy_loop"

# resin_run <name> <config json> <command>...: runs the command under resin with that config as
# this pass's user. Sets rc, reason, signal, exit_code, wall, cpu (user + system, ms), peak_memory,
# peak_processes and prints them.
resin_run() {
    local name=$1 config=$2
    shift 2
    printf '%s\n' "$config" >"$dir/$name.json"
    rm -f "$dir/$name.report"
    time_limit=120
    rc=0
    as_pass "$pass" "$RESIN" --config "$dir/$name.json" --report "$dir/$name.report" -- "$@" \
        >"$dir/$name.out" 2>"$dir/$name.err" || rc=$?
    time_limit=""
    reason=$(field reason)
    signal=$(field signal)
    exit_code=$(field exit_code)
    wall=$(field wall_ms)
    cpu=$(awk -v u="$(field cpu_user_ms)" -v s="$(field cpu_system_ms)" 'BEGIN { print u + s }')
    peak_memory=$(field peak_memory_bytes)
    peak_processes=$(field peak_processes)
    echo "  $name: resin exit $rc, reason $reason, exit_code $exit_code, signal $signal," \
        "wall ${wall}ms, cpu ${cpu}ms, peak memory $peak_memory, peak processes $peak_processes"
    echo "  $name: config $config"
    sed 's/^/  '"$name"' stderr: /' "$dir/$name.err" | head -n 5
}

# field <key>: a scalar of the last run's JSON report (keys are unique in it).
field() {
    sed -n 's/.*"'"$1"'":\("[^"]*"\|[^,}]*\).*/\1/p' "$dir/$name.report" 2>/dev/null | tr -d '"'
}

# verdict <name> <status> <what was expected>: marks the check PASS if the status is 0.
verdict() {
    if [ "$2" = 0 ]; then
        mark "$pass/resin/$1" PASS
    else
        mark "$pass/resin/$1" FAIL "expected $3"
    fi
}

at_least() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 >= b + 0) }'; }
at_most() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 <= b + 0) }'; }
mentions() { grep -q -- "$2" "$dir/$1.err"; }
# Whether a process whose command line is exactly `sleep <n>` is left anywhere in the VM.
# shellcheck disable=SC2009 # busybox has no pgrep
sleeper_left() { ps -o args | grep -qx "sleep $1"; }
feature() { awk -F '\t' -v key="$1" '$1 == key { print $2 }' "$dir/features"; }
leftover_cgroups() { find /sys/fs/cgroup -mindepth 1 -type d -name 'resin-*'; }
own_cgroup() { echo "/sys/fs/cgroup$(cut -d: -f3 /proc/self/cgroup)"; }

# table <limit> <observed>: a row of the enforcement table.
table() {
    printf '  %-14s %-40s %s\n' "$1" "$(feature "limits.$1")" "$2" >>"$dir/table"
}

# start_resin_to_kill <seconds>: a resin running sleep <seconds> in the background, as $killed, once
# its sandbox cgroup exists under $cgroup_base.
start_resin_to_kill() {
    printf '%s\n' "{$base, \"limits\": {\"wall_time_ms\": 60000}}" >"$dir/killed.json"
    local delegated=0 waited=0
    [ "$pass" = delegated ] && delegated=1
    env -i PATH="$test_path" RESIN_PROFILE_PATH="$REPO/config" \
        RESIN_CGROUP_DELEGATED="$delegated" "$RESIN" \
        --config "$dir/killed.json" -- sleep "$1" </dev/null >/dev/null 2>&1 &
    killed=$!
    while [ -z "$(killed_cgroups)" ] && [ "$waited" -lt 100 ]; do
        sleep 0.1
        waited=$((waited + 1))
    done
}
killed_cgroups() { find "$cgroup_base" -maxdepth 1 -name "resin-*-$killed-*"; }

resin_checks() {
    pass=$1
    dir=/tmp/resin-vm-$pass
    rm -rf "$dir"
    mkdir -p "$dir"
    # Where resin makes sandbox cgroups: its own (the root, or the delegated one), "" for none.
    local cgroup_base=""
    case $pass in
        root) cgroup_base=/sys/fs/cgroup ;;
        delegated) cgroup_base=$(own_cgroup) ;;
        *) chown 65534:65534 "$dir" ;;
    esac
    : >"$dir/table"
    local base='"extends": "default"'

    echo "==== $pass: resin --features"
    as_pass "$pass" "$RESIN" --features >"$dir/features" 2>&1
    sed 's/^/  /' "$dir/features"
    if [ -n "$cgroup_base" ]; then
        { [ "$(feature cgroup.version)" = v2 ] && [ -z "$(feature cgroup.unavailable_because)" ] &&
            [ "$(feature limits.memory_bytes)" = cgroup_v2 ] &&
            [ "$(feature limits.cpu_cores)" = cgroup_v2 ] &&
            [ "$(feature limits.cpu_time_ms)" = cgroup_v2 ] &&
            [ "$(feature limits.processes)" = cgroup_v2 ]; }
        verdict features $? "cgroup.version v2; memory_bytes, cpu_cores, cpu_time_ms, processes by cgroup_v2"
    else
        { [ "$(feature cgroup.version)" = v2 ] && [ -n "$(feature cgroup.unavailable_because)" ] &&
            [ "$(feature limits.memory_bytes)" = "rlimit_as(per_process,virtual_memory)" ] &&
            [ "$(feature limits.cpu_cores)" = unavailable ] &&
            [ "$(feature limits.cpu_time_ms)" = "rlimit_cpu(per_process,whole_seconds)" ] &&
            [ "$(feature limits.processes)" = "rlimit_nproc(per_user_namespace)" ]; }
        verdict features $? "cgroup.version v2 with a reason it is unavailable; the rlimit fallbacks"
    fi
    # The port allowlist needs cgroup BPF: resin as root with a cgroup v2 of its own.
    if [ -n "$cgroup_base" ]; then
        local by_bpf=0
        for key in tcp_connect tcp_bind udp_connect udp_bind; do
            case $(feature "network.$key") in cgroup_bpf*) ;; *) by_bpf=1 ;; esac
        done
        verdict features_port_allowlist $by_bpf "network.tcp_connect ... udp_bind enforced by cgroup_bpf"
    else
        { [ "$(feature network.tcp_connect)" = unavailable ] &&
            [ "$(feature network.udp_connect)" = unavailable ] &&
            [ -n "$(feature network.port_allowlist.unavailable_because)" ]; }
        verdict features_port_allowlist $? "the port allowlist unavailable, with a reason"
    fi

    echo "==== $pass: port allowlist (cgroup BPF on $(uname -r))"
    for key in tcp_connect tcp_bind udp_connect udp_bind; do
        resin_run "$key" "{$base, \"network\": {\"mode\": \"none\", \"$key\": [443]}}" /bin/true
        if [ -n "$cgroup_base" ]; then
            [ "$rc" = 0 ]
            verdict "${key}_enforced" $? "the command to run"
        else
            # Fail closed: refused before anything runs, with an error that names the setting.
            { [ "$rc" = 125 ] && [ ! -s "$dir/$key.report" ] &&
                mentions "$key" "$key" && mentions "$key" refus; }
            verdict "${key}_refused" $? "exit 125, no report, an error naming $key and refusing"
        fi
    done
    rc=0
    as_pass "$pass" "$RESIN" --check-config "$dir/tcp_connect.json" >/dev/null 2>&1 || rc=$?
    echo "  (--check-config of that config exits $rc: it validates the file, not this host)"

    echo "==== $pass: limits"
    resin_run wall_time "{$base, \"limits\": {\"wall_time_ms\": 1000}}" sleep 1001
    { [ "$reason" = wall_time_limit ] && at_least "$wall" 1000 &&
        at_most "$wall" 5000 && ! sleeper_left 1001; }
    verdict wall_time $? "wall_time_limit after 1 to 5 s, nothing left"
    table wall_time_ms "$reason after ${wall}ms"

    # A detached grandchild in its own session: the whole tree goes when the sandbox ends.
    resin_run tree_kill "{$base, \"limits\": {\"wall_time_ms\": 1000}}" \
        sh -c 'setsid sh -c "sleep 1002 & sleep 1002" & sleep 1002'
    { [ "$reason" = wall_time_limit ] && ! sleeper_left 1002; }
    verdict tree_kill $? "wall_time_limit, the detached grandchild gone"

    if [ "$pass" = delegated ]; then
        # No internal processes: resin moved this script out of its delegated cgroup into a leaf,
        # and handed the controllers to the cgroup's children.
        echo "  $cgroup_base: processes '$(cat "$cgroup_base/cgroup.procs")', children" \
            "$(find "$cgroup_base" -mindepth 1 -maxdepth 1 -type d | tr '\n' ' ')," \
            "subtree_control '$(cat "$cgroup_base/cgroup.subtree_control")'"
        { [ -z "$(cat "$cgroup_base/cgroup.procs")" ] &&
            grep -qx "$$" "$cgroup_base/resin.leaf/cgroup.procs" &&
            grep -qw memory "$cgroup_base/cgroup.subtree_control" &&
            grep -qw cpu "$cgroup_base/cgroup.subtree_control" &&
            grep -qw pids "$cgroup_base/cgroup.subtree_control"; }
        verdict delegation_leaf $? "the cgroup's processes in resin.leaf, memory cpu pids enabled"
    fi

    if [ -n "$cgroup_base" ]; then
        resin_run memory "{$base, \"limits\": {\"memory_bytes\": 33554432, \"wall_time_ms\": 60000}}" \
            tail /dev/zero
        { [ "$reason" = memory_limit ] && [ "$signal" = 9 ] &&
            at_least "$peak_memory" 16777216 && at_most "$peak_memory" 33554432; }
        verdict memory_oom $? "memory_limit, SIGKILL, a peak of 16 to 32 MiB"
        table memory_bytes "$reason, signal $signal, peak $peak_memory bytes"

        # memory.oom.group: the OOM kill takes the whole tree, not just the biggest process (a
        # surviving sleep would keep the sandbox alive until its wall time).
        resin_run oom_group "{$base, \"limits\": {\"memory_bytes\": 33554432, \"wall_time_ms\": 30000}}" \
            sh -c 'sleep 1003 & tail /dev/zero; wait'
        { [ "$reason" = memory_limit ] && at_most "$wall" 20000 &&
            ! sleeper_left 1003; }
        verdict oom_group $? "memory_limit within 20 s, the sleeping sibling killed too"

        resin_run cpu_unlimited "{$base, \"limits\": {\"wall_time_ms\": 3000}}" \
            sh -c "$two_busy_loops"
        local unlimited=$cpu
        resin_run cpu_cores "{$base, \"limits\": {\"cpu_cores\": 0.5, \"wall_time_ms\": 3000}}" \
            sh -c "$two_busy_loops"
        # Half a core over the wall time, one period (100 ms) of slack; the unlimited control run
        # shows the same load uses more.
        { [ "$reason" = wall_time_limit ] &&
            at_most "$cpu" "$(awk -v w="$wall" "BEGIN { print w / 2 + 100 }")" &&
            at_least "$unlimited" "$(awk -v w="$wall" "BEGIN { print w * 0.75 }")"; }
        verdict cpu_cores $? "at most half the wall time (+100 ms) of CPU, unlimited at least 0.75 of it"
        table cpu_cores "${cpu}ms of CPU in ${wall}ms (unlimited: ${unlimited}ms)"

        resin_run cpu_time "{$base, \"limits\": {\"cpu_time_ms\": 1000, \"wall_time_ms\": 10000}}" \
            sh -c "$two_busy_loops"
        { [ "$reason" = cpu_time_limit ] && at_least "$cpu" 1000 &&
            at_most "$cpu" 1500; }
        verdict cpu_time $? "cpu_time_limit after 1000 to 1500 ms of CPU"
        table cpu_time_ms "$reason after ${cpu}ms of CPU (two processes), ${wall}ms wall"
    else
        resin_run memory "{$base, \"limits\": {\"memory_bytes\": 33554432, \"wall_time_ms\": 60000}}" \
            tail /dev/zero
        # RLIMIT_AS: the allocation fails, the program sees it; no OOM kill, no memory_limit.
        { [ "$reason" = exited ] && [ "$exit_code" != 0 ] &&
            [ -n "$exit_code" ]; }
        verdict memory_rlimit $? "the command exits non-zero on its own (RLIMIT_AS)"
        table memory_bytes "$reason $exit_code: $(head -n 1 "$dir/memory.err")"

        resin_run cpu_cores "{$base, \"limits\": {\"cpu_cores\": 0.5}}" /bin/true
        { [ "$rc" = 125 ] && mentions cpu_cores cpu_cores &&
            mentions cpu_cores refus; }
        verdict cpu_cores_refused $? "exit 125 with an error naming cpu_cores and refusing"
        table cpu_cores "refused: $(head -n 1 "$dir/cpu_cores.err")"

        # RLIMIT_CPU is per process: one busy process.
        resin_run cpu_time "{$base, \"limits\": {\"cpu_time_ms\": 1000, \"wall_time_ms\": 30000}}" \
            sh -c "$busy_loop"
        { [ "$reason" = cpu_time_limit ] && at_least "$cpu" 900 &&
            at_most "$cpu" 3000; }
        verdict cpu_time $? "cpu_time_limit (SIGKILL) after 0.9 to 3 s of CPU"
        table cpu_time_ms "$reason, signal $signal, after ${cpu}ms of CPU"
    fi

    # processes: 4 is the command's tree: the shell and three sleeps; the fourth fork fails.
    # shellcheck disable=SC2016 # expanded by the sandboxed shell
    resin_run processes "{$base, \"limits\": {\"processes\": 4, \"wall_time_ms\": 10000}}" \
        sh -c 'n=0; for i in 1 2 3 4 5 6 7 8; do sleep 1004 & n=$((n + 1)); echo $n; done; wait'
    local started
    started=$(tail -n 1 "$dir/processes.out")
    echo "  processes: $started sleeps started"
    { [ "$started" = 3 ] && mentions processes fork && ! sleeper_left 1004; }
    verdict processes $? "3 sleeps started, a fork failure, nothing left"
    table processes "$started of 8 background processes started (limit 4 with the shell)"

    if [ "$pass" = root ]; then
        # The sweep of stale sandbox cgroups must leave alone a cgroup beside them that is not
        # one, whatever its name.
        local foreign=/sys/fs/cgroup/resin-web-1.service foreigner
        mkdir "$foreign"
        sleep 1006 &
        foreigner=$!
        echo "$foreigner" >"$foreign/cgroup.procs"
        resin_run foreign "{$base}" /bin/true
        { [ "$rc" = 0 ] && [ -d "$foreign" ] && kill -0 "$foreigner"; }
        verdict foreign_cgroup_untouched $? "$foreign and its process left alone"
        kill "$foreigner" 2>/dev/null
        wait "$foreigner" 2>/dev/null
        rmdir "$foreign" 2>/dev/null
    fi

    if [ -n "$cgroup_base" ]; then
        # A resin killed with SIGKILL: its reaper (src/sandbox/cgroup_reaper.cpp) removes its
        # cgroup within a second, with no other resin started.
        start_resin_to_kill 1005
        kill -KILL "$killed"
        wait "$killed" 2>/dev/null
        local waited=0
        while { [ -n "$(killed_cgroups)" ] || sleeper_left 1005; } && [ "$waited" -lt 10 ]; do
            sleep 0.1
            waited=$((waited + 1))
        done
        local left
        left=$(killed_cgroups)
        echo "  cgroup of the killed resin $killed after $((waited * 100)) ms: ${left:-none}"
        { [ -z "$(killed_cgroups)" ] && ! sleeper_left 1005; }
        verdict killed_resin_reaped $? "the killed resin's cgroup and sandbox gone within 1 s"

        # Its reaper killed too: the cgroup stays (the control), and the next resin removes it.
        start_resin_to_kill 1007
        local reaper child
        for child in $(cat "/proc/$killed/task/$killed/children"); do
            [ "$(cat "/proc/$child/comm" 2>/dev/null)" = resin-reaper ] && reaper=$child
        done
        [ -n "$reaper" ] && kill -KILL "$reaper"
        kill -KILL "$killed"
        wait "$killed" 2>/dev/null
        local stale
        stale=$(killed_cgroups)
        echo "  stale cgroup left by the killed resin $killed and its reaper ${reaper:-(none)}: ${stale:-none}"
        # A sweep is due at most every 2 s on a host (src/sandbox/cgroup.hpp): make it due now.
        rm -f /run/resin/cgroup-sweep-*
        resin_run sweep "{$base}" /bin/true
        { [ -n "$reaper" ] && [ -n "$stale" ] && [ ! -e "$stale" ] && [ "$rc" = 0 ] &&
            ! sleeper_left 1007; }
        verdict stale_cgroup_swept $? "the cgroup of a resin killed with its reaper left, then removed by the next resin"
    fi
    echo "  cgroups left: $(leftover_cgroups | tr '\n' ' ')"
    [ -z "$(leftover_cgroups)" ]
    verdict cgroups_removed $? "no resin-* cgroup left"

    echo "==== $pass: what enforced each limit"
    printf '  %-14s %-40s %s\n' limit "mechanism (resin --features)" observed
    cat "$dir/table"
}
