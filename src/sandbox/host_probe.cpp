#include "sandbox/host_probe.hpp"

#include <linux/landlock.h>
#include <linux/seccomp.h>
#include <sys/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>
#include <fstream>

#include "sandbox/socket_allowlist.hpp"

namespace resin::sandbox {
namespace {

bool has_effective(cap_t caps, cap_value_t cap) {
    cap_flag_value_t value = CAP_CLEAR;
    return cap_get_flag(caps, cap, CAP_EFFECTIVE, &value) == 0 && value == CAP_SET;
}

bool privileged() {
    cap_t caps = cap_get_proc();
    if (caps == nullptr) {
        return false;
    }
    const bool result = has_effective(caps, CAP_SYS_ADMIN) && has_effective(caps, CAP_SETUID) &&
                        has_effective(caps, CAP_SETGID);
    cap_free(caps);
    return result;
}

// A sysctl's integer value, or `missing` if the file does not exist on this kernel.
long read_sysctl(const char* path, long missing) {
    std::ifstream in(path);
    long value = missing;
    if (in) {
        in >> value;
    }
    return value;
}

}  // namespace

HostCapabilities probe_host() {
    HostCapabilities host;
    host.euid = ::geteuid();
    host.egid = ::getegid();
    host.privileged = privileged();
    host.user_namespaces =
        read_sysctl("/proc/sys/user/max_user_namespaces", 0) > 0 &&
        (host.privileged || read_sysctl("/proc/sys/kernel/unprivileged_userns_clone", 1) == 1);
    const long abi =
        ::syscall(SYS_landlock_create_ruleset, nullptr, 0, LANDLOCK_CREATE_RULESET_VERSION);
    host.landlock_abi = abi > 0 ? static_cast<int>(abi) : 0;
    std::uint32_t notify = SECCOMP_RET_USER_NOTIF;
    host.seccomp = ::syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &notify) == 0;
    std::ifstream core_pattern("/proc/sys/kernel/core_pattern");
    host.core_dumps_piped = core_pattern.get() == '|';
    host.cgroup_layout = detect_cgroup_layout();
    host.cgroups = probe_cgroup_support(host.cgroup_layout);
    host.socket_bpf_unavailable = socket_bpf_unavailable_because(host.cgroup_layout, host.cgroups);
    return host;
}

}  // namespace resin::sandbox
