// The syscall filter (`syscalls`): compiled with libseccomp into classic BPF programs in resin, and
// installed by the command's process (seccomp_install.hpp).
//
// policy "default" is an allowlist of what ordinary programs need, for the native ABI only (an
// i386 or x32 call is killed), where clone and unshare are allowed only without namespace flags,
// clone3 answers ENOSYS so libc falls back to clone, and personality only takes its harmless
// values; preceded, in the same program, by a guard that refuses some ioctls (TIOCSTI...) and
// socket(AF_VSOCK) (compared on the low 32 bits: CVE-2019-10063). The guard is compiled on its own
// because libseccomp silently lets an unconditional rule (ioctl allowed) override conditional ones
// with another action, and then chained in front of the allowlist so that one filter, with the one
// notification listener the kernel allows, sees every denial. `deny` removes names from the
// allowlist; `allow` adds them and lifts their conditions. policy "none" installs nothing unless
// `deny` names something: then one filter denying exactly those, in every ABI of the machine.
#pragma once

#include <linux/filter.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "config/result.hpp"

namespace resin::sandbox {

struct SeccompFilter {
    std::vector<sock_filter> program;
    // Denials go to a listener (SECCOMP_RET_USER_NOTIF) so the sandbox's init can learn which
    // syscall it was before it kills the caller: the "kill" action, and other ABIs under the
    // default policy whatever the action. The kernel allows one listener per process, so at most
    // one filter has it.
    bool notify = false;
};

using SeccompFilters = std::vector<SeccompFilter>;

// Compiles the filters for `syscalls` with libseccomp (a few milliseconds).
Result<SeccompFilters> compile_seccomp_filters(const Syscalls& syscalls);

// The filters for `syscalls`: compiled into resin at build time when the config uses the default
// policy as it is, else compiled now.
Result<SeccompFilters> seccomp_filters_for(const Syscalls& syscalls);

// Under a network port allowlist: a filter of its own, whatever `syscalls` says, under which
// socket() and socketpair() make only AF_UNIX, AF_INET, AF_INET6 and AF_NETLINK sockets (others
// fail with EAFNOSUPPORT: AF_SMC, AF_RDS, AF_TIPC, ... reach the network outside the cgroup BPF
// programs' sight). Under policy "none", or with io_uring_setup allowed, io_uring_setup fails with
// ENOSYS too (io_uring makes sockets without socket()), and another ABI than the native one is
// killed; under policy "default" the allowlist already refuses both.
Result<SeccompFilter> socket_family_filter(const Syscalls& syscalls);

// With a host directory or file bound rw: a filter of its own, whatever `syscalls` says, under
// which no file gets a set-user-id or set-group-id bit. chmod, fchmod, fchmodat, fchmodat2, creat,
// mknod and mknodat with S_ISUID or S_ISGID in their mode fail with EPERM, and so do open and
// openat when their flags create a file (O_CREAT or O_TMPFILE; the kernel ignores the mode of any
// other open, so its register may hold anything); openat2
// (its mode is behind a pointer the filter cannot read) and io_uring_setup (io_uring opens files
// without openat) fail with ENOSYS; under policy "none" the i386 and x32 ABIs too (the default
// policy's allowlist kills them, and every syscall it does not allow, already). What the sandbox
// leaves in the directory outlives it on the host, which is not nosuid there (docs/security.md).
Result<SeccompFilter> set_id_mode_filter(const Syscalls& syscalls);

// Every syscall set_id_mode_filter has a rule for.
inline constexpr const char* kSetIdFilterSyscalls[] = {
    "chmod", "fchmod", "fchmodat", "fchmodat2", "open",           "openat",
    "creat", "mknod",  "mknodat",  "openat2",   "io_uring_setup",
};

// unsupported_config (at /filesystem/mounts) naming the first of `names` this libseccomp cannot
// resolve: the set-id filter is not built without one of its rules.
Result<void> require_resolvable(std::span<const char* const> names);

// The default policy's filters for each action, generated at build time by the same code
// (seccomp_filters_generate.cpp). Empty if the build did not embed them.
const SeccompFilters& embedded_default_filters(SyscallAction action);

// The name of syscall `number` in the ABI `arch` (an AUDIT_ARCH_* value), or "syscall <number>";
// followed by the ABI, e.g. "getpid (i386 ABI)", when it is not the native one.
std::string syscall_name(std::uint32_t arch, int number);

}  // namespace resin::sandbox
