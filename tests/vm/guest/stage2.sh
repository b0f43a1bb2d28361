#!/busybox/sh
# shellcheck shell=dash
# Stage 2, pid 1 on the tmpfs root: mounts what a Debian system has (cgroup2 at /sys/fs/cgroup as
# systemd mounts it, with the memory, cpu and pids controllers enabled at the root), the host's
# shared directories, then runs the tests as root and as uid 65534 and powers off.
#
# Markers, one line each, go to the console and to the second serial port (the host's results
# file), where no kernel message can break them up:
#   RESIN-VM-TEST <pass>/<suite>/<name> PASS|FAIL|SKIP
#   RESIN-VM-DONE <passed> <failed>
export PATH=/busybox
. /vm/config

results=/dev/ttyS1

fatal() {
    echo "RESIN-VM-ERROR $*" >>"$results"
    echo "RESIN-VM-ERROR $*"
    poweroff -f
}

mkdir -p /dev/pts /dev/shm /tmp /var/tmp /run /mnt /root
mount -t devpts -o newinstance,ptmxmode=0666 devpts /dev/pts
mount -t tmpfs -o mode=1777,nosuid,nodev shm /dev/shm
mount -t tmpfs -o mode=1777,nosuid,nodev tmp /tmp
mount -t tmpfs -o mode=1777,nosuid,nodev var-tmp /var/tmp
mount -t tmpfs -o mode=0755,nosuid,nodev run /run
mount -t cgroup2 -o nosuid,nodev,noexec,nsdelegate,memory_recursiveprot cgroup2 /sys/fs/cgroup ||
    fatal "mounting cgroup2 failed"
echo "+memory +cpu +pids" >/sys/fs/cgroup/cgroup.subtree_control ||
    fatal "enabling the memory, cpu and pids controllers failed"

# Parents before children: sort puts /a before /a/b.
sort -k 2 /vm/shares >/run/shares
while read -r tag path; do
    mkdir -p "$path"
    mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=loose,msize=262144 "$tag" "$path" ||
        fatal "mounting the host's $path failed"
done </run/shares

hostname resin-vm
ip link set lo up

echo "kernel $(uname -r); cgroup2 controllers: $(cat /sys/fs/cgroup/cgroup.controllers);" \
    "enabled: $(cat /sys/fs/cgroup/cgroup.subtree_control)"
echo "unprivileged_userns_clone: $(cat /proc/sys/kernel/unprivileged_userns_clone 2>/dev/null)" \
    "max_user_namespaces: $(cat /proc/sys/user/max_user_namespaces)"

if [ "$SHELL_MODE" = 1 ]; then
    echo "resin VM: interactive shell (tests: /vm/run-tests.sh; exit to power off)"
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/busybox \
        setsid cttyhack /busybox/sh -l
    poweroff -f
fi

/busybox/sh /vm/run-tests.sh
sync
poweroff -f
