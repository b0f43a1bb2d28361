#include "sandbox/seccomp_policy.hpp"

#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>

#include "sandbox/unique_fd.hpp"

namespace resin::sandbox {
namespace {

// What ordinary programs need, in the spirit of Docker's default profile. Everything else is
// denied, in particular: namespaces (setns; clone/unshare flags are guarded), the mount family old
// and new (mount, umount2, fsopen, fsconfig, fsmount, fspick, move_mount, open_tree,
// mount_setattr), pivot_root, chroot, keyctl, add_key, request_key, bpf, perf_event_open,
// userfaultfd, io_uring_*, ptrace, process_vm_readv/writev, pidfd_getfd, kcmp, kexec_*,
// init/finit/delete_module, open_by_handle_at, name_to_handle_at, acct, swapon/off, reboot,
// settimeofday, clock_settime, clock_adjtime, adjtimex, syslog, iopl, ioperm, quotactl, vhangup,
// NUMA placement, fanotify, native AIO (io_setup and the rest: fs.aio-max-nr counts contexts for
// the whole host, so one sandbox could leave none to anyone); and, by argument, ioctl TIOCSTI,
// TIOCLINUX, TIOCSETD, TIOCCONS and TIOCVHANGUP, socket(AF_VSOCK), socket(AF_ALG) and
// socket(AF_NETLINK, NETLINK_KOBJECT_UEVENT).
constexpr const char* kAllowed[] = {
    // files and descriptors
    "read",
    "write",
    "readv",
    "writev",
    "pread64",
    "pwrite64",
    "preadv",
    "pwritev",
    "preadv2",
    "pwritev2",
    "open",
    "openat",
    "openat2",
    "creat",
    "close",
    "close_range",
    "lseek",
    "_llseek",
    "dup",
    "dup2",
    "dup3",
    "fcntl",
    "fcntl64",
    "flock",
    "fsync",
    "fdatasync",
    "sync",
    "syncfs",
    "sync_file_range",
    "truncate",
    "truncate64",
    "ftruncate",
    "ftruncate64",
    "fallocate",
    "fadvise64",
    "fadvise64_64",
    "readahead",
    "sendfile",
    "sendfile64",
    "splice",
    "tee",
    "vmsplice",
    "copy_file_range",
    "ioctl",
    "memfd_create",
    "memfd_secret",
    // file metadata and directories
    "stat",
    "stat64",
    "fstat",
    "fstat64",
    "lstat",
    "lstat64",
    "newfstatat",
    "fstatat64",
    "statx",
    "statfs",
    "statfs64",
    "fstatfs",
    "fstatfs64",
    "access",
    "faccessat",
    "faccessat2",
    "readlink",
    "readlinkat",
    "getdents",
    "getdents64",
    "getcwd",
    "chdir",
    "fchdir",
    "rename",
    "renameat",
    "renameat2",
    "mkdir",
    "mkdirat",
    "rmdir",
    "link",
    "linkat",
    "unlink",
    "unlinkat",
    "symlink",
    "symlinkat",
    "chmod",
    "fchmod",
    "fchmodat",
    "fchmodat2",
    "chown",
    "chown32",
    "fchown",
    "fchown32",
    "lchown",
    "lchown32",
    "fchownat",
    "utime",
    "utimes",
    "utimensat",
    "utimensat_time64",
    "futimesat",
    "mknod",
    "mknodat",
    "umask",
    "getxattr",
    "lgetxattr",
    "fgetxattr",
    "setxattr",
    "lsetxattr",
    "fsetxattr",
    "listxattr",
    "llistxattr",
    "flistxattr",
    "removexattr",
    "lremovexattr",
    "fremovexattr",
    "inotify_init",
    "inotify_init1",
    "inotify_add_watch",
    "inotify_rm_watch",
    // memory
    "brk",
    "mmap",
    "mmap2",
    "munmap",
    "mremap",
    "mprotect",
    "madvise",
    "mincore",
    "mlock",
    "mlock2",
    "munlock",
    "mlockall",
    "munlockall",
    "msync",
    "membarrier",
    "get_mempolicy",
    "pkey_alloc",
    "pkey_free",
    "pkey_mprotect",
    "cachestat",
    // processes, threads, identity
    "fork",
    "vfork",
    "execve",
    "execveat",
    "exit",
    "exit_group",
    "wait4",
    "waitid",
    "waitpid",
    "kill",
    "tkill",
    "tgkill",
    "getpid",
    "getppid",
    "gettid",
    "getpgid",
    "setpgid",
    "getpgrp",
    "getsid",
    "setsid",
    "getuid",
    "getuid32",
    "geteuid",
    "geteuid32",
    "getgid",
    "getgid32",
    "getegid",
    "getegid32",
    "getresuid",
    "getresuid32",
    "getresgid",
    "getresgid32",
    "getgroups",
    "getgroups32",
    "setuid",
    "setuid32",
    "setgid",
    "setgid32",
    "setreuid",
    "setreuid32",
    "setregid",
    "setregid32",
    "setresuid",
    "setresuid32",
    "setresgid",
    "setresgid32",
    "setgroups",
    "setgroups32",
    "setfsuid",
    "setfsuid32",
    "setfsgid",
    "setfsgid32",
    "capget",
    "capset",
    "prctl",
    "arch_prctl",
    "set_tid_address",
    "set_robust_list",
    "get_robust_list",
    "futex",
    "futex_time64",
    "futex_waitv",
    "futex_wait",
    "futex_wake",
    "futex_requeue",
    "rseq",
    "sched_yield",
    "sched_getaffinity",
    "sched_setaffinity",
    "sched_getparam",
    "sched_setparam",
    "sched_getscheduler",
    "sched_setscheduler",
    "sched_getattr",
    "sched_setattr",
    "sched_get_priority_max",
    "sched_get_priority_min",
    "sched_rr_get_interval",
    "sched_rr_get_interval_time64",
    "getpriority",
    "setpriority",
    "getrlimit",
    "setrlimit",
    "prlimit64",
    "ugetrlimit",
    "getrusage",
    "times",
    "uname",
    "sysinfo",
    "pidfd_open",
    "pidfd_send_signal",
    "ioprio_get",
    "ioprio_set",
    "getcpu",
    "set_thread_area",
    "get_thread_area",
    "seccomp",
    "landlock_create_ruleset",
    "landlock_add_rule",
    "landlock_restrict_self",
    // signals and time
    "rt_sigaction",
    "rt_sigprocmask",
    "rt_sigreturn",
    "rt_sigpending",
    "rt_sigtimedwait",
    "rt_sigtimedwait_time64",
    "rt_sigqueueinfo",
    "rt_tgsigqueueinfo",
    "rt_sigsuspend",
    "sigaltstack",
    "signalfd",
    "signalfd4",
    "pause",
    "alarm",
    "nanosleep",
    "clock_nanosleep",
    "clock_nanosleep_time64",
    "getitimer",
    "setitimer",
    "timer_create",
    "timer_settime",
    "timer_settime64",
    "timer_gettime",
    "timer_gettime64",
    "timer_getoverrun",
    "timer_delete",
    "timerfd_create",
    "timerfd_settime",
    "timerfd_settime64",
    "timerfd_gettime",
    "timerfd_gettime64",
    "clock_gettime",
    "clock_gettime64",
    "clock_getres",
    "clock_getres_time64",
    "gettimeofday",
    "time",
    "restart_syscall",
    "getrandom",
    // waiting, pipes, IPC (the sandbox has its own IPC namespace)
    "pipe",
    "pipe2",
    "eventfd",
    "eventfd2",
    "epoll_create",
    "epoll_create1",
    "epoll_ctl",
    "epoll_wait",
    "epoll_pwait",
    "epoll_pwait2",
    "poll",
    "ppoll",
    "ppoll_time64",
    "select",
    "_newselect",
    "pselect6",
    "pselect6_time64",
    "mq_open",
    "mq_unlink",
    "mq_timedsend",
    "mq_timedsend_time64",
    "mq_timedreceive",
    "mq_timedreceive_time64",
    "mq_notify",
    "mq_getsetattr",
    "shmget",
    "shmat",
    "shmdt",
    "shmctl",
    "semget",
    "semop",
    "semtimedop",
    "semtimedop_time64",
    "semctl",
    "msgget",
    "msgsnd",
    "msgrcv",
    "msgctl",
    // sockets (the network namespace and Landlock decide what they reach)
    "socket",
    "socketpair",
    "bind",
    "connect",
    "listen",
    "accept",
    "accept4",
    "getsockname",
    "getpeername",
    "sendto",
    "recvfrom",
    "sendmsg",
    "recvmsg",
    "sendmmsg",
    "recvmmsg",
    "recvmmsg_time64",
    "shutdown",
    "setsockopt",
    "getsockopt",
    "socketcall",
};

// personality(2) values that change nothing dangerous: PER_LINUX, PER_LINUX32, UNAME26, both,
// and the query 0xffffffff. Anything else can, e.g., turn off ASLR (ADDR_NO_RANDOMIZE).
constexpr std::uint32_t kHarmlessPersonalities[] = {0x0, 0x8, 0x20000, 0x20008, 0xffffffff};

// clone and unshare are allowed only without these. (For clone(2), CLONE_NEWTIME's bit belongs to
// the exit signal, so it is only checked for unshare.)
constexpr std::uint64_t kCloneNamespaceFlags = CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS |
                                               CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID |
                                               CLONE_NEWNET;
constexpr std::uint64_t kUnshareNamespaceFlags = kCloneNamespaceFlags | CLONE_NEWTIME;
// The command may share the caller's terminal (resin's CLI run from one). TIOCSETD changes its line
// discipline (N_NULL swallows everything typed), which no ordinary program needs and which cannot
// be undone without losing what the terminal buffered; TIOCCONS and TIOCVHANGUP (redirect the
// console, hang the terminal up) need privileges the sandbox lacks, refused here as well. The rest
// of the terminal's state resin restores when the command ends (host/terminal_state.hpp).
constexpr std::uint64_t kDeniedIoctls[] = {TIOCSTI, TIOCLINUX, TIOCSETD, TIOCCONS, TIOCVHANGUP};
// Socket families a network namespace does not isolate. AF_VSOCK reaches the hypervisor host of a
// virtual machine (CID 2) and shares one port space across namespaces: a sandbox with network
// "none" could still talk to, or listen for, the machine's host.
// vsock is not network-namespaced (it reaches the hypervisor and the host's vsock ports); AF_ALG
// exposes the kernel's crypto API, a rich source of kernel bugs, and ordinary programs never need
// it.
constexpr std::uint64_t kDeniedSocketFamilies[] = {AF_VSOCK, AF_ALG};
// The kernel's device events (NETLINK_KOBJECT_UEVENT): a sandbox's own network namespace gets
// none of the host's, but one with network "host" shares the host's, and nothing in a sandbox
// needs them.
constexpr std::uint64_t kDeniedNetlinkProtocols[] = {NETLINK_KOBJECT_UEVENT};

struct ContextDeleter {
    void operator()(void* ctx) const { seccomp_release(ctx); }
};
using Context = std::unique_ptr<void, ContextDeleter>;

// Under "kill" a denial goes to the notification listener, so that the sandbox's init learns
// which syscall it was before it kills the caller.
std::uint32_t deny_action(SyscallAction action) {
    switch (action) {
        case SyscallAction::kill:
            return SCMP_ACT_NOTIFY;
        case SyscallAction::errno_eperm:
            return SCMP_ACT_ERRNO(EPERM);
        case SyscallAction::log:
            return SCMP_ACT_LOG;
    }
    return SCMP_ACT_KILL_PROCESS;
}

bool listed(const std::vector<std::string>& names, const std::string& name) {
    return std::find(names.begin(), names.end(), name) != names.end();
}

Error libseccomp_error(const std::string& what, int rc) {
    return system_error(ErrorKind::internal, "libseccomp: " + what, -rc);
}

// `bad_arch`: the verdict for a syscall of another ABI than the ones the context covers.
Result<Context> new_context(std::uint32_t default_action, std::uint32_t bad_arch) {
    Context ctx(seccomp_init(default_action));
    if (!ctx) {
        return Error{ErrorKind::internal, "libseccomp: seccomp_init failed", "", 0};
    }
    if (int rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_ACT_BADARCH, bad_arch); rc != 0) {
        return libseccomp_error("setting the bad-architecture action", rc);
    }
    if (int rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_OPTIMIZE, 2); rc != 0) {
        return libseccomp_error("asking for a binary-tree filter", rc);
    }
    return ctx;
}

// libseccomp writes BPF only to a descriptor: through a memfd into memory.
Result<SeccompFilter> export_program(void* ctx, bool notify) {
    UniqueFd memory(::memfd_create("resin-seccomp", MFD_CLOEXEC));
    if (!memory) {
        return system_error(ErrorKind::internal, "memfd_create", errno);
    }
    if (int rc = seccomp_export_bpf(ctx, memory.get()); rc != 0) {
        return libseccomp_error("exporting the filter", rc);
    }
    const off_t size = ::lseek(memory.get(), 0, SEEK_END);
    SeccompFilter filter;
    filter.notify = notify;
    filter.program.resize(static_cast<std::size_t>(size) / sizeof(sock_filter));
    const auto bytes = static_cast<std::size_t>(filter.program.size() * sizeof(sock_filter));
    if (size < 0 ||
        ::pread(memory.get(), filter.program.data(), bytes, 0) != static_cast<ssize_t>(bytes)) {
        return system_error(ErrorKind::internal, "reading the exported filter", errno);
    }
    return filter;
}

// libseccomp's SCMP_A<n> macros are C compound literals, which C++ does not have.
scmp_arg_cmp masked_eq(unsigned int argument, std::uint64_t mask, std::uint64_t value) {
    return scmp_arg_cmp{
        .arg = argument, .op = SCMP_CMP_MASKED_EQ, .datum_a = mask, .datum_b = value};
}

Result<void> add_rule(void* ctx, std::uint32_t action, const std::string& name,
                      std::initializer_list<scmp_arg_cmp> conditions = {}) {
    const int number = seccomp_syscall_resolve_name(name.c_str());
    if (number == __NR_SCMP_ERROR) {
        return success();  // not a syscall of this architecture (e.g. mmap2 on x86_64)
    }
    if (int rc = seccomp_rule_add_array(
            ctx, action, number, static_cast<unsigned>(conditions.size()), conditions.begin());
        rc != 0 && rc != -EEXIST) {
        return libseccomp_error("adding a rule for " + name, rc);
    }
    return success();
}

// Another ABI than the native one is never a way around the allowlist: under every action it goes
// to the listener, and the sandbox's init kills the caller and names the syscall, with its ABI. Not
// SECCOMP_RET_KILL_PROCESS: its SIGSYS is a signal the command can send itself, so resin could not
// tell the filter's kill from the command's own choice.
constexpr std::uint32_t kForeignAbiAction = SCMP_ACT_NOTIFY;

Result<SeccompFilter> allowlist_filter(const Syscalls& syscalls) {
    RESIN_TRY(Context ctx, new_context(deny_action(syscalls.action), kForeignAbiAction));
    for (const char* name : kAllowed) {
        if (!listed(syscalls.deny, name)) {
            RESIN_TRYV(add_rule(ctx.get(), SCMP_ACT_ALLOW, name));
        }
    }
    for (const auto& name : syscalls.allow) {
        RESIN_TRYV(add_rule(ctx.get(), SCMP_ACT_ALLOW, name));
    }
    // Conditional allows must not meet an unconditional rule for the same syscall: libseccomp
    // would silently keep only the unconditional one.
    const std::pair<const char*, std::uint64_t> guarded[] = {{"clone", kCloneNamespaceFlags},
                                                             {"unshare", kUnshareNamespaceFlags}};
    for (const auto& [name, flags] : guarded) {
        if (!listed(syscalls.deny, name) && !listed(syscalls.allow, name)) {
            RESIN_TRYV(add_rule(ctx.get(), SCMP_ACT_ALLOW, name, {masked_eq(0, flags, 0)}));
        }
    }
    if (!listed(syscalls.deny, "clone3") && !listed(syscalls.allow, "clone3")) {
        // Its flags are behind a pointer the filter cannot read: ENOSYS makes libc use clone.
        RESIN_TRYV(add_rule(ctx.get(), SCMP_ACT_ERRNO(ENOSYS), "clone3"));
    }
    if (!listed(syscalls.deny, "personality") && !listed(syscalls.allow, "personality")) {
        for (std::uint32_t persona : kHarmlessPersonalities) {
            RESIN_TRYV(add_rule(ctx.get(), SCMP_ACT_ALLOW, "personality",
                                {masked_eq(0, 0xffffffffu, persona)}));
        }
    }
    return export_program(ctx.get(), true);
}

// The argument rules for syscalls the allowlist allows unconditionally (ioctl, socket): a program
// of their own, because libseccomp lets an unconditional rule silently override conditional ones.
// Its verdict for everything else, other ABIs included, is "allow", which chain() turns into "ask
// the allowlist". A syscall that `allow` or `deny` names keeps no argument rule. Empty if no rule
// is left.
Result<std::optional<SeccompFilter>> argument_guard(const Syscalls& syscalls) {
    const auto guarded = [&syscalls](const char* name) {
        return !listed(syscalls.allow, name) && !listed(syscalls.deny, name);
    };
    if (!guarded("ioctl") && !guarded("socket")) {
        return std::optional<SeccompFilter>();
    }
    RESIN_TRY(Context ctx, new_context(SCMP_ACT_ALLOW, SCMP_ACT_ALLOW));
    // The kernel reads these arguments as 32 bits: compare only those, or high bits bypass the
    // rule (CVE-2019-10063).
    for (std::uint64_t request : kDeniedIoctls) {
        if (guarded("ioctl")) {
            RESIN_TRYV(add_rule(ctx.get(), deny_action(syscalls.action), "ioctl",
                                {masked_eq(1, 0xffffffffu, request)}));
        }
    }
    for (std::uint64_t family : kDeniedSocketFamilies) {
        if (guarded("socket")) {
            RESIN_TRYV(add_rule(ctx.get(), deny_action(syscalls.action), "socket",
                                {masked_eq(0, 0xffffffffu, family)}));
        }
    }
    for (std::uint64_t protocol : kDeniedNetlinkProtocols) {
        if (guarded("socket")) {
            RESIN_TRYV(add_rule(
                ctx.get(), deny_action(syscalls.action), "socket",
                {masked_eq(0, 0xffffffffu, AF_NETLINK), masked_eq(2, 0xffffffffu, protocol)}));
        }
    }
    RESIN_TRY(SeccompFilter filter, export_program(ctx.get(), false));
    return std::optional<SeccompFilter>(std::move(filter));
}

// One program that runs `first` and, wherever `first` would allow, goes on to `second`: so that
// one filter, the one with the notification listener (the kernel allows one per process), sees
// every denial. libseccomp's programs only return constants, so each "return allow" of `first`
// becomes a jump to its end, where `second` begins.
Result<SeccompFilter> chain(SeccompFilter first, const SeccompFilter& second) {
    const std::size_t length = first.program.size();
    for (std::size_t i = 0; i < length; ++i) {
        sock_filter& insn = first.program[i];
        if (BPF_CLASS(insn.code) != BPF_RET) {
            continue;
        }
        if (BPF_RVAL(insn.code) != BPF_K) {
            return Error{ErrorKind::internal, "seccomp: cannot chain a filter that returns A", "",
                         0};
        }
        if (insn.k == SECCOMP_RET_ALLOW) {
            insn = sock_filter{static_cast<std::uint16_t>(BPF_JMP | BPF_JA), 0, 0,
                               static_cast<std::uint32_t>(length - i - 1)};
        }
    }
    first.program.insert(first.program.end(), second.program.begin(), second.program.end());
    if (first.program.size() > BPF_MAXINSNS) {
        return Error{ErrorKind::internal, "seccomp: the chained filter is too long", "", 0};
    }
    first.notify = second.notify;
    return first;
}

// policy "none" with a deny list: only those, in every ABI this machine can run (an ABI libseccomp
// cannot add gets the deny verdict as a whole).
Result<SeccompFilter> deny_only_filter(const Syscalls& syscalls) {
    RESIN_TRY(Context ctx, new_context(SCMP_ACT_ALLOW, deny_action(syscalls.action)));
    for (std::uint32_t arch : {SCMP_ARCH_X86, SCMP_ARCH_X32}) {
        if (seccomp_arch_native() == SCMP_ARCH_X86_64 && seccomp_arch_add(ctx.get(), arch) != 0) {
            return Error{ErrorKind::internal, "libseccomp: adding the i386/x32 ABIs", "", 0};
        }
    }
    for (const auto& name : syscalls.deny) {
        RESIN_TRYV(add_rule(ctx.get(), deny_action(syscalls.action), name));
    }
    return export_program(ctx.get(), syscalls.action == SyscallAction::kill);
}

bool is_port_allowlist_family(std::uint64_t family) {
    return family == AF_UNIX || family == AF_INET || family == AF_INET6 || family == AF_NETLINK;
}

std::string abi_name(std::uint32_t arch) {
    switch (arch) {
        case SCMP_ARCH_X86:
            return "i386";
        case SCMP_ARCH_X32:
            return "x32";
        case SCMP_ARCH_X86_64:
            return "x86-64";
        case SCMP_ARCH_ARM:
            return "arm";
        case SCMP_ARCH_AARCH64:
            return "aarch64";
    }
    char hex[16];
    std::snprintf(hex, sizeof hex, "0x%x", arch);
    return std::string("audit arch ") + hex;
}

}  // namespace

Result<SeccompFilters> compile_seccomp_filters(const Syscalls& syscalls) {
    SeccompFilters filters;
    if (syscalls.policy == SyscallPolicy::none) {
        if (!syscalls.deny.empty()) {
            RESIN_TRY(SeccompFilter only, deny_only_filter(syscalls));
            filters.push_back(std::move(only));
        }
        return filters;
    }
    RESIN_TRY(SeccompFilter allowlist, allowlist_filter(syscalls));
    RESIN_TRY(auto guard, argument_guard(syscalls));
    if (guard) {
        RESIN_TRY(allowlist, chain(std::move(*guard), allowlist));
    }
    filters.push_back(std::move(allowlist));
    return filters;
}

Result<SeccompFilter> socket_family_filter(const Syscalls& syscalls) {
    const bool allowlist_guards = syscalls.policy == SyscallPolicy::default_policy &&
                                  !listed(syscalls.allow, "io_uring_setup");
    RESIN_TRY(Context ctx, new_context(SCMP_ACT_ALLOW,
                                       allowlist_guards ? SCMP_ACT_ALLOW : SCMP_ACT_KILL_PROCESS));
    // The kernel reads the family as an int: compare its low 32 bits. A value of 64 or more is no
    // family at all (the kernel answers EAFNOSUPPORT itself).
    constexpr std::uint64_t kFamilies = 64;
    for (std::uint64_t family = 0; family < kFamilies; ++family) {
        if (is_port_allowlist_family(family)) {
            continue;
        }
        for (const char* name : {"socket", "socketpair"}) {
            RESIN_TRYV(add_rule(ctx.get(), SCMP_ACT_ERRNO(EAFNOSUPPORT), name,
                                {masked_eq(0, 0xffffffffu, family)}));
        }
    }
    if (!allowlist_guards) {
        RESIN_TRYV(add_rule(ctx.get(), SCMP_ACT_ERRNO(ENOSYS), "io_uring_setup"));
    }
    return export_program(ctx.get(), false);
}

Result<void> require_resolvable(std::span<const char* const> names) {
    for (const char* name : names) {
        if (seccomp_syscall_resolve_name(name) == __NR_SCMP_ERROR) {
            return Error{ErrorKind::unsupported_config,
                         std::string("the set-id filter of an rw bind needs syscall ") + name +
                             ", which this libseccomp does not know: refusing to run without it",
                         "/filesystem/mounts", 0};
        }
    }
    return success();
}

Result<SeccompFilter> set_id_mode_filter(const Syscalls& syscalls) {
    // Fail closed: add_rule skips a name libseccomp cannot resolve.
    RESIN_TRYV(require_resolvable(kSetIdFilterSyscalls));
    // Under the default policy the allowlist already kills other ABIs and every syscall it does not
    // allow: a rule here would turn that kill into an errno (the kernel prefers ERRNO to
    // USER_NOTIF), so rules go only where the allowlist would let the syscall through: under the
    // "log" action that is every syscall of the native ABI.
    const bool allowlist = syscalls.policy == SyscallPolicy::default_policy;
    const bool enforcing = allowlist && syscalls.action != SyscallAction::log;
    const auto let_through = [&](const char* name) {
        if (listed(syscalls.deny, name) && syscalls.action != SyscallAction::log) {
            return false;
        }
        return !enforcing || listed(syscalls.allow, name) ||
               std::find_if(std::begin(kAllowed), std::end(kAllowed), [name](const char* entry) {
                   return std::strcmp(entry, name) == 0;
               }) != std::end(kAllowed);
    };
    RESIN_TRY(Context ctx,
              new_context(SCMP_ACT_ALLOW, allowlist ? SCMP_ACT_ALLOW : SCMP_ACT_KILL_PROCESS));
    if (!allowlist) {
        for (std::uint32_t arch : {SCMP_ARCH_X86, SCMP_ARCH_X32}) {
            if (seccomp_arch_native() == SCMP_ARCH_X86_64 &&
                seccomp_arch_add(ctx.get(), arch) != 0) {
                return Error{ErrorKind::internal, "libseccomp: adding the i386/x32 ABIs", "", 0};
            }
        }
    }
    // The argument that holds the mode. The bits are tested in its low 32 bits only (the kernel
    // reads a mode as umode_t), so high bits cannot hide them.
    const std::pair<const char*, unsigned> modes[] = {
        {"chmod", 1}, {"fchmod", 1}, {"fchmodat", 2}, {"fchmodat2", 2},
        {"creat", 1}, {"mknod", 1},  {"mknodat", 2},
    };
    const std::uint64_t set_id_bits[] = {S_ISUID, S_ISGID};
    for (const auto& [name, argument] : modes) {
        for (std::uint64_t bit : set_id_bits) {
            if (let_through(name)) {
                RESIN_TRYV(add_rule(ctx.get(), SCMP_ACT_ERRNO(EPERM), name,
                                    {masked_eq(argument, bit, bit)}));
            }
        }
    }
    // open and openat read their mode only when the flags create a file (the kernel's
    // WILL_CREATE: O_CREAT or __O_TMPFILE); otherwise the mode argument is whatever the caller's
    // register held, and refusing on it would fail a plain open of an existing file. glibc's
    // O_TMPFILE includes O_DIRECTORY, which alone creates nothing: the bit is the rest of it.
    const std::uint64_t creating_flags[] = {O_CREAT,
                                            static_cast<std::uint64_t>(O_TMPFILE & ~O_DIRECTORY)};
    struct OpenArguments {
        const char* name;
        unsigned flags;
        unsigned mode;
    };
    const OpenArguments opens[] = {{"open", 1, 2}, {"openat", 2, 3}};
    for (const auto& [name, flags_argument, mode_argument] : opens) {
        for (std::uint64_t flag : creating_flags) {
            for (std::uint64_t bit : set_id_bits) {
                if (let_through(name)) {
                    RESIN_TRYV(add_rule(ctx.get(), SCMP_ACT_ERRNO(EPERM), name,
                                        {masked_eq(flags_argument, flag, flag),
                                         masked_eq(mode_argument, bit, bit)}));
                }
            }
        }
    }
    for (const char* name : {"openat2", "io_uring_setup"}) {
        if (let_through(name)) {
            RESIN_TRYV(add_rule(ctx.get(), SCMP_ACT_ERRNO(ENOSYS), name));
        }
    }
    return export_program(ctx.get(), false);
}

Result<SeccompFilters> seccomp_filters_for(const Syscalls& syscalls) {
    if (syscalls.policy == SyscallPolicy::default_policy && syscalls.allow.empty() &&
        syscalls.deny.empty()) {
        const auto& embedded = embedded_default_filters(syscalls.action);
        if (!embedded.empty()) {
            return embedded;
        }
    }
    return compile_seccomp_filters(syscalls);
}

std::string syscall_name(std::uint32_t arch, int number) {
    // x32 shares x86-64's audit arch and marks its numbers with bit 30.
    constexpr int kX32SyscallBit = 0x40000000;
    const std::uint32_t abi =
        arch == SCMP_ARCH_X86_64 && (number & kX32SyscallBit) != 0 ? SCMP_ARCH_X32 : arch;
    char* name = seccomp_syscall_resolve_num_arch(abi, number);
    std::string result = name != nullptr ? name : "syscall " + std::to_string(number);
    std::free(name);
    if (abi != seccomp_arch_native()) {
        result += " (" + abi_name(abi) + " ABI)";
    }
    return result;
}

}  // namespace resin::sandbox
