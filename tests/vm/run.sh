#!/usr/bin/env bash
# Boots Debian's stock kernel under qemu (software emulation) with a pure cgroup v2 hierarchy and
# runs resin's limit and isolation tests in it, as root and as an unprivileged user. The result is
# judged from the markers the VM itself prints, never from qemu's exit status. See docs/vm-tests.md.
#
#   tests/vm/run.sh [options] [BINARY[:FILTER] ...]
#
# Without BINARY arguments the GoogleTest binaries listed in tests/vm/tests.list are run (those that
# are built).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
build_dir=$repo/build/release
vm_dir=$repo/build/vm
resin=""
timeout_s=900
test_timeout_s=300
memory=512M
cpus=2
shell_mode=0
passes=root,unprivileged
entries=()

# Exit status for "cannot run here" (qemu or busybox-static missing): CTest reports it as skipped.
readonly kSkip=77

usage() {
    cat <<'EOF'
usage: tests/vm/run.sh [options] [BINARY[:FILTER] ...]

Boots Debian's linux-image-amd64 kernel under qemu (TCG) with cgroup v2 mounted, and runs
resin's checks and the given GoogleTest binaries inside it as root and as uid 65534.

options:
  --build-dir DIR     build tree with the binaries (default: build/release)
  --resin PATH        the resin executable (default: BUILD_DIR/src/host/resin)
  --timeout SECONDS   hard limit for the whole VM run (default: 900)
  --test-timeout SEC  limit for one test binary inside the VM (default: 300)
  --passes PASSES     as whom the BINARY arguments run: a comma-separated list of root,
                      delegated and unprivileged (default: root,unprivileged)
  --shell             set the VM up, then give an interactive shell on this terminal
                      instead of running the tests (exit the shell to power off)
  -h, --help          this text

BINARY is a path (absolute, or relative to the current directory or BUILD_DIR); FILTER, after
the first colon, a --gtest_filter (default *; it may contain colons itself). Without BINARY,
tests/vm/tests.list says what runs. The console log is build/vm/console.log,
the markers build/vm/results.log.
EOF
}

die() {
    echo "vm: $*" >&2
    exit 1
}

note() {
    echo "vm: $*" >&2
}

while (($# > 0)); do
    case $1 in
        --build-dir) build_dir=$(cd "$2" && pwd) && shift 2 ;;
        --resin) resin=$2 && shift 2 ;;
        --timeout) timeout_s=$2 && shift 2 ;;
        --test-timeout) test_timeout_s=$2 && shift 2 ;;
        --passes) passes=$2 && shift 2 ;;
        --shell) shell_mode=1 && shift ;;
        -h | --help) usage && exit 0 ;;
        --) shift && entries+=("$@") && break ;;
        -*) usage >&2 && exit 2 ;;
        *) entries+=("$1") && shift ;;
    esac
done
[[ $timeout_s =~ ^[0-9]+$ && $test_timeout_s =~ ^[0-9]+$ ]] || die "timeouts are whole seconds"
resin=${resin:-$build_dir/src/host/resin}
# Sanitizer builds are far too slow under emulation, and ASan's shadow memory does not fit 512M.
if grep -qs '^RESIN_SANITIZE:BOOL=ON$' "$build_dir/CMakeCache.txt"; then
    die "$build_dir is a sanitizer build: use the release build (cmake --preset release)"
fi

# --- prerequisites ------------------------------------------------------------------------------

for tool in qemu-system-x86_64 busybox; do
    if ! command -v "$tool" >/dev/null; then
        note "$tool is not installed (apt-get install qemu-system-x86 busybox-static); skipping"
        exit "$kSkip"
    fi
done
busybox=$(command -v busybox)
if ldd "$busybox" >/dev/null 2>&1; then
    note "$busybox is dynamically linked; the initramfs needs busybox-static; skipping"
    exit "$kSkip"
fi
for tool in apt-get apt-cache dpkg-deb gzip ldd setsid timeout; do
    command -v "$tool" >/dev/null || die "$tool is needed"
done

# --- the kernel: exactly what linux-image-amd64 depends on, cached under build/vm/kernel ----------

kernel_package() {
    apt-cache depends linux-image-amd64 2>/dev/null |
        awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }'
}

fetch_kernel() {
    local package
    package=$(kernel_package)
    if [[ -z $package ]]; then
        note "apt does not know linux-image-amd64; running apt-get update"
        apt-get -qq update || die "apt-get update failed"
        package=$(kernel_package)
        [[ -n $package ]] || die "apt-cache depends linux-image-amd64 names no linux-image package"
    fi
    kernel_dir=$vm_dir/kernel/$package
    if [[ ! -f $kernel_dir/.complete ]]; then
        note "fetching $package (once; cached in ${kernel_dir#"$repo"/})"
        rm -rf "$vm_dir/kernel"
        mkdir -p "$kernel_dir/download"
        (cd "$kernel_dir/download" && apt-get -q -o APT::Sandbox::User=root download "$package") ||
            die "apt-get download $package failed"
        dpkg-deb -x "$kernel_dir"/download/*.deb "$kernel_dir/root"
        rm -rf "$kernel_dir/download"
        touch "$kernel_dir/.complete"
    fi
    vmlinuz=$(find "$kernel_dir/root/boot" -name 'vmlinuz-*' -print -quit)
    modules_dir=$(find "$kernel_dir/root" -maxdepth 3 -path '*/lib/modules/*' -type d -print -quit)
    [[ -n $vmlinuz && -n $modules_dir ]] || die "no vmlinuz or modules in $package"
}

# --- kernel modules: virtio PCI and 9p, with what they depend on, in dependency order ------------
# The package has no modules.dep; each module's own .modinfo section names what it needs (what
# `modinfo -F depends` prints).

declare -A module_file=() module_state=()
module_order=()

decompressed() {
    case $1 in
        *.xz) xz -dc "$1" ;;
        *.zst) zstd -qdc "$1" ;;
        *.gz) gzip -dc "$1" ;;
        *) cat "$1" ;;
    esac
}

index_modules() {
    local file name
    while IFS= read -r file; do
        name=${file##*/}
        name=${name%%.ko*}
        module_file[${name//-/_}]=$file
    done < <(find "$modules_dir" -name '*.ko' -o -name '*.ko.*')
}

module_depends() {
    decompressed "$1" | tr '\0' '\n' | sed -n 's/^depends=//p' | head -n 1
}

# Depth first: a module comes after everything it depends on.
visit_module() {
    local name=${1//-/_} dependency
    case ${module_state[$name]-} in
        done) return ;;
        visiting) die "module dependency cycle through $name" ;;
    esac
    [[ -n ${module_file[$name]-} ]] || die "module $name is not in the kernel package"
    module_state[$name]=visiting
    local depends
    depends=$(module_depends "${module_file[$name]}")
    for dependency in ${depends//,/ }; do
        visit_module "$dependency"
    done
    module_state[$name]="done"
    module_order+=("$name")
}

# --- what the guest gets ---------------------------------------------------------------------------

# Host directories shared read-only over 9p at the same path: /usr (everything the tests and their
# sandboxes run, and their libraries), the source tree (the test binaries are built with absolute
# paths into it: the resin binary, the profiles, the test vectors) and the build tree.
shares=()
add_share() {
    local path=$1 existing
    for existing in "${shares[@]}"; do
        [[ $path == "$existing" || $path == "$existing"/* ]] && return
    done
    shares+=("$path")
}

# A binary outside every share: its directory is shared. Libraries it loads from outside the shares
# (not /usr, where Debian keeps them all) are copied into the initramfs at their own paths.
stray_libraries=()
add_binary() {
    local binary=$1 library
    add_share "$(dirname "$binary")"
    while read -r library; do
        local covered=0 share
        for share in "${shares[@]}"; do
            [[ $(realpath "$library") == "$share"/* ]] && covered=1
        done
        ((covered)) || stray_libraries+=("$library")
    done < <(ldd "$binary" 2>/dev/null | grep -o '/[^ ]*' || true)
}

resolve_binary() {
    local path=$1
    if [[ $path != /* && ! -e $path && -e $build_dir/$path ]]; then
        path=$build_dir/$path
    fi
    [[ -f $path ]] || return 1
    realpath "$path"
}

build_initramfs() {
    local stage=$vm_dir/initramfs
    rm -rf "$stage"
    mkdir -p "$stage"/{busybox,modules,vm,etc,proc,sys,dev,newroot}

    cp "$busybox" "$stage/busybox/busybox"
    local applet
    for applet in $("$busybox" --list); do
        [[ $applet == busybox ]] || ln -s busybox "$stage/busybox/$applet"
    done

    local name
    for name in "${module_order[@]}"; do
        decompressed "${module_file[$name]}" >"$stage/modules/$name.ko"
        echo "$name" >>"$stage/modules/order"
    done

    cp "$here/guest/init" "$stage/init"
    cp "$here"/guest/*.sh "$stage/vm/"
    chmod 0755 "$stage/init" "$stage"/vm/*.sh

    local link
    for link in "${top_links[@]}"; do
        ln -s "$(readlink "$link")" "$stage$link"
    done
    # The few files of /etc that programs and the profiles' mounts expect.
    local file
    for file in passwd group nsswitch.conf ld.so.cache ld.so.conf ld.so.conf.d localtime \
        alternatives hosts; do
        if [[ -e /etc/$file ]]; then
            cp -a "/etc/$file" "$stage/etc/"
        fi
    done
    echo resin-vm >"$stage/etc/hostname"

    local library
    for library in "${stray_libraries[@]}"; do
        mkdir -p "$stage$(dirname "$library")"
        cp -L "$library" "$stage$library"
    done

    {
        printf 'REPO=%q\n' "$repo"
        printf 'RESIN=%q\n' "$resin_in_vm"
        printf 'SHELL_MODE=%q\n' "$shell_mode"
        printf 'TEST_TIMEOUT=%q\n' "$test_timeout_s"
    } >"$stage/vm/config"
    local index=0 share
    for share in "${shares[@]}"; do
        printf 'share%d %s\n' "$index" "$share"
        index=$((index + 1))
    done >"$stage/vm/shares"
    printf '%s\n' "${tests[@]}" >"$stage/vm/tests"

    (cd "$stage" && find . | busybox cpio -o -H newc 2>/dev/null) | gzip -1 >"$vm_dir/initramfs.gz"
}

# --- main ----------------------------------------------------------------------------------------

mkdir -p "$vm_dir"
started=$(date +%s)
add_share /usr
add_share "$repo"
add_share "$build_dir"
# The root's top-level symlinks as on the host (/bin -> usr/bin on a merged-/usr system); real
# directories among them are shared.
top_links=()
for top in /bin /sbin /lib /lib32 /lib64 /libx32; do
    if [[ -L $top ]]; then
        top_links+=("$top")
    elif [[ -d $top ]]; then
        add_share "$top"
    fi
done

# The tests: "binary filter passes" lines, from the arguments or tests/vm/tests.list.
lines=()
for entry in "${entries[@]}"; do
    filter=${entry#*:}
    [[ $entry == *:* ]] || filter='*'
    lines+=("${entry%%:*} $filter $passes")
done
if ((${#entries[@]} == 0)); then
    while read -r binary filter list_passes _; do
        [[ -z $binary || $binary == \#* ]] && continue
        lines+=("$binary ${filter:-*} ${list_passes:-root,unprivileged}")
    done <"$here/tests.list"
fi
tests=()
for line in "${lines[@]}"; do
    read -r binary filter list_passes <<<"$line"
    [[ ,$list_passes, =~ ^(,(root|delegated|unprivileged))+,$ ]] ||
        die "passes are a comma-separated list of root, delegated and unprivileged, not '$list_passes'"
    if ! path=$(resolve_binary "$binary"); then
        note "not built, not run: $binary"
        continue
    fi
    add_binary "$path"
    tests+=("$path $filter $list_passes")
done
resin_in_vm=""
if [[ -x $resin ]]; then
    resin_in_vm=$(realpath "$resin")
    add_binary "$resin_in_vm"
else
    note "no resin executable at $resin: the resin checks are skipped"
fi
((${#tests[@]} > 0)) || [[ -n $resin_in_vm ]] || die "nothing to run: build the tests first"

fetch_kernel
index_modules
for root_module in virtio_pci 9pnet_virtio 9p; do
    visit_module "$root_module"
done

build_initramfs
prepared=$(date +%s)

console_log=$vm_dir/console.log
results_log=$vm_dir/results.log
: >"$console_log"
: >"$results_log"
qemu=(qemu-system-x86_64 -nodefaults -machine pc -accel tcg -cpu max -m "$memory" -smp "$cpus"
    -nographic -no-reboot -kernel "$vmlinuz" -initrd "$vm_dir/initramfs.gz"
    -append "console=ttyS0 panic=-1 quiet"
    -monitor none)
index=0
for share in "${shares[@]}"; do
    qemu+=(-virtfs "local,path=$share,mount_tag=share$index,security_model=none,readonly=on,multidevs=remap")
    index=$((index + 1))
done

if ((shell_mode)); then
    # Interactive: the console on this terminal, no time limit but the user's.
    exec "${qemu[@]}" -serial mon:stdio -serial "file:$results_log"
fi

qemu+=(-serial "file:$console_log" -serial "file:$results_log")

# qemu runs in its own process group (setsid: a background job of a script is never a group
# leader, so setsid does not fork and $! is the group's id). On any way out of this script the
# whole group is killed, so no qemu is ever left behind.
qemu_group=""
cleanup() {
    if [[ -n $qemu_group ]] && kill -0 -- "-$qemu_group" 2>/dev/null; then
        kill -KILL -- "-$qemu_group" 2>/dev/null || true
        wait "$qemu_group" 2>/dev/null || true
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

note "booting $(basename "$vmlinuz") under qemu (TCG), at most ${timeout_s}s"
setsid timeout -k 10 "$timeout_s" "${qemu[@]}" </dev/null >"$vm_dir/qemu.out" 2>&1 &
qemu_group=$!
qemu_status=0
wait "$qemu_group" || qemu_status=$?
finished=$(date +%s)
cleanup
if kill -0 -- "-$qemu_group" 2>/dev/null; then
    die "qemu's process group $qemu_group survived SIGKILL"
fi
qemu_group=""

# --- the verdict: only what the VM printed counts -------------------------------------------------

results=$(tr -d '\r' <"$results_log")
count() { grep -c "^RESIN-VM-TEST [^ ]* $1\$" <<<"$results" || true; }
passed=$(count PASS)
failed=$(count FAIL)
skipped=$(count SKIP)
done_line=$(grep '^RESIN-VM-DONE ' <<<"$results" | tail -n 1 || true)

verdict=0
problems=()
if ((qemu_status == 124 || qemu_status == 137)); then
    problems+=("the VM did not finish within ${timeout_s}s and was killed")
fi
if [[ -z $done_line ]]; then
    problems+=("the VM never printed RESIN-VM-DONE (hung, crashed or killed; qemu exit $qemu_status)")
elif [[ $done_line != "RESIN-VM-DONE $passed $failed" ]]; then
    problems+=("'$done_line' disagrees with the markers ($passed passed, $failed failed)")
fi
((failed == 0)) || problems+=("$failed test(s) failed")
((passed > 0)) || problems+=("no test passed")
if grep -q '^RESIN-VM-ERROR' <<<"$results"; then
    problems+=("$(grep '^RESIN-VM-ERROR' <<<"$results" | head -n 1)")
fi

console=$(tr -d '\r' <"$console_log")
# check_output <name>: the console lines between the marker before that check's and its own.
check_output() {
    awk -v marker="RESIN-VM-TEST $1 FAIL" '
        index($0, "RESIN-VM-TEST ") == 1 {
            if (index($0, marker) == 1) { printf "%s", lines; print; exit }
            lines = ""
            next
        }
        { lines = lines $0 "\n" }'
}
# gtest_output <pass> <Suite.Case>: that test's lines of the console, from [ RUN ] to its result
# (to the end if it has none: the binary crashed).
gtest_output() {
    awk -v pass="$1" -v run="[ RUN      ] $2" -v ok="[       OK ] $2 (" -v failed="[  FAILED  ] $2 (" '
        /^======== pass: / { current = $3 }
        current == pass && $0 == run { on = 1 }
        on { print }
        on && (index($0, ok) == 1 || index($0, failed) == 1) { on = 0 }'
}
if ((${#problems[@]} > 0)); then
    verdict=1
    while IFS=/ read -r pass suite case; do
        if [[ $suite == resin ]]; then
            echo "---- output of $pass/$suite/$case ----"
            check_output "$pass/$suite/$case" <<<"$console" | tail -n 40
        else
            echo "---- output of $pass/$suite/$case ----"
            gtest_output "$pass" "$case" <<<"$console" | head -n 60
        fi
    done < <(grep "^RESIN-VM-TEST [^ ]* FAIL\$" <<<"$results" | awk '{ print $2 }' | head -n 10)
    if [[ -z $done_line ]]; then
        echo "---- last 60 lines of the console ----"
        tail -n 60 <<<"$console"
        [[ -s $vm_dir/qemu.out ]] && echo "---- qemu ----" && cat "$vm_dir/qemu.out"
    fi
fi

echo "---- results (${results_log#"$repo"/}; console: ${console_log#"$repo"/}) ----"
grep '^RESIN-VM-TEST [^ ]* FAIL$' <<<"$results" || true
echo "passed $passed, failed $failed, skipped $skipped"
echo "time: $((prepared - started))s preparing, $((finished - prepared))s in the VM"
for problem in "${problems[@]}"; do
    echo "FAIL: $problem"
done
((verdict == 0)) && echo "OK"
exit "$verdict"
