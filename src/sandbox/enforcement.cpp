#include "sandbox/enforcement.hpp"

#include <string_view>

namespace resin::sandbox {
namespace {

struct Rule {
    const char* key;      // dotted, as advertised
    const char* pointer;  // where a refusal points
    bool (*is_set)(const Config&);
    std::string (*mechanism)(const HostCapabilities&);
};

std::string host_timer(const HostCapabilities&) {
    return "host_timer";
}
std::string rlimit_nofile(const HostCapabilities&) {
    return "rlimit_nofile";
}
std::string rlimit_fsize(const HostCapabilities&) {
    return "rlimit_fsize";
}
std::string execve_environment(const HostCapabilities&) {
    return "execve";
}

std::string cgroup_name(const HostCapabilities& host) {
    return host.cgroups.version == CgroupVersion::v2 ? "cgroup_v2" : "cgroup_v1";
}

// Without a usable cgroup, these rlimits are what can honestly be enforced; each is weaker than a
// cgroup (docs/limits.md) and says so in its name.
std::string memory_limit(const HostCapabilities& host) {
    return host.cgroups.memory ? cgroup_name(host) : "rlimit_as(per_process,virtual_memory)";
}
std::string cpu_cores_limit(const HostCapabilities& host) {
    return host.cgroups.cpu ? cgroup_name(host) : kUnavailable;
}
std::string cpu_time_limit(const HostCapabilities& host) {
    return host.cgroups.cpu_time ? cgroup_name(host) : "rlimit_cpu(per_process,whole_seconds)";
}
std::string process_limit(const HostCapabilities& host) {
    return host.cgroups.pids ? cgroup_name(host) : "rlimit_nproc(per_user_namespace)";
}

std::string filesystem_view(const HostCapabilities& host) {
    std::string mechanism = "mount_namespace+pivot_root";
    if (host.landlock_abi > 0) {
        mechanism += "+landlock_abi_" + std::to_string(host.landlock_abi);
    }
    return mechanism;
}

std::string network_namespace(const HostCapabilities&) {
    return "network_namespace";
}

// The port allowlist: cgroup BPF programs (socket_allowlist_programs.hpp) at the hooks named, the
// seccomp rule that keeps socket() to AF_UNIX, AF_INET, AF_INET6 and AF_NETLINK, and for TCP
// Landlock as a second layer where the kernel has it. Landlock alone would leave MPTCP, TCP Fast
// Open's sendto, UDP and other protocols open, so it never suffices.
std::string port_allowlist(const HostCapabilities& host, const char* hooks, bool tcp) {
    if (!host.socket_bpf_unavailable.empty() || !host.seccomp) {
        return kUnavailable;
    }
    std::string mechanism =
        std::string("cgroup_bpf(inet_sock_create,") + hooks + ")+seccomp(socket_families)";
    if (tcp && host.landlock_abi >= 4) {
        mechanism += "+landlock_abi_" + std::to_string(host.landlock_abi);
    }
    return mechanism;
}
std::string tcp_connect_allowlist(const HostCapabilities& host) {
    return port_allowlist(host, "connect4,connect6", true);
}
std::string tcp_bind_allowlist(const HostCapabilities& host) {
    return port_allowlist(host, "bind4,bind6,inet_ingress", true);
}
std::string udp_connect_allowlist(const HostCapabilities& host) {
    return port_allowlist(host, "connect4,connect6,sendmsg4,sendmsg6,inet_ingress", false);
}
std::string udp_bind_allowlist(const HostCapabilities& host) {
    return port_allowlist(host, "bind4,bind6,inet_ingress", false);
}

std::string seccomp_filter(const HostCapabilities& host) {
    return host.seccomp ? "seccomp_bpf+user_notification" : kUnavailable;
}

std::string kept_capabilities(const HostCapabilities&) {
    return "capabilities_in_user_namespace";
}

std::string identity(const HostCapabilities&) {
    return "user_namespace+uts_namespace";
}

bool always(const Config&) {
    return true;
}

const Rule kRules[] = {
    {"limits.memory_bytes", "/limits/memory_bytes",
     [](const Config& c) { return c.limits.memory_bytes.has_value(); }, memory_limit},
    {"limits.cpu_cores", "/limits/cpu_cores",
     [](const Config& c) { return c.limits.cpu_cores.has_value(); }, cpu_cores_limit},
    {"limits.cpu_time_ms", "/limits/cpu_time_ms",
     [](const Config& c) { return c.limits.cpu_time_ms.has_value(); }, cpu_time_limit},
    {"limits.wall_time_ms", "/limits/wall_time_ms",
     [](const Config& c) { return c.limits.wall_time_ms.has_value(); }, host_timer},
    {"limits.processes", "/limits/processes",
     [](const Config& c) { return c.limits.processes.has_value(); }, process_limit},
    {"limits.open_files", "/limits/open_files",
     [](const Config& c) { return c.limits.open_files.has_value(); }, rlimit_nofile},
    {"limits.file_size_bytes", "/limits/file_size_bytes",
     [](const Config& c) { return c.limits.file_size_bytes.has_value(); }, rlimit_fsize},
    {"filesystem", "/filesystem", always, filesystem_view},
    {"network.mode", "/network/mode",
     [](const Config& c) { return c.network.mode != NetworkMode::host; }, network_namespace},
    {"network.tcp_connect", "/network/tcp_connect",
     [](const Config& c) { return c.network.tcp_connect.has_value(); }, tcp_connect_allowlist},
    {"network.tcp_bind", "/network/tcp_bind",
     [](const Config& c) { return c.network.tcp_bind.has_value(); }, tcp_bind_allowlist},
    {"network.udp_connect", "/network/udp_connect",
     [](const Config& c) { return c.network.udp_connect.has_value(); }, udp_connect_allowlist},
    {"network.udp_bind", "/network/udp_bind",
     [](const Config& c) { return c.network.udp_bind.has_value(); }, udp_bind_allowlist},
    {"syscalls", "/syscalls/policy",
     [](const Config& c) {
         return c.syscalls.policy != SyscallPolicy::none || !c.syscalls.deny.empty() ||
                !c.syscalls.allow.empty();
     },
     seccomp_filter},
    {"capabilities", "/capabilities", [](const Config& c) { return !c.capabilities.empty(); },
     kept_capabilities},
    {"env", "/env", always, execve_environment},
    {"identity", "/identity", always, identity},
};

}  // namespace

Result<void> check_enforceable(const Config& config, const HostCapabilities& host) {
    if (!host.user_namespaces) {
        return Error{ErrorKind::unsupported_config,
                     "this user may not create user namespaces, on which every sandbox is built "
                     "(see /proc/sys/user/max_user_namespaces and "
                     "/proc/sys/kernel/unprivileged_userns_clone)",
                     "", 0};
    }
    for (const auto& rule : kRules) {
        if (rule.is_set(config) && rule.mechanism(host) == kUnavailable) {
            const bool port_rule = std::string_view(rule.pointer).starts_with("/network/") &&
                                   std::string_view(rule.pointer) != "/network/mode";
            std::string why;
            if (port_rule) {
                why = " (" +
                      (host.socket_bpf_unavailable.empty()
                           ? std::string("no seccomp filter for the socket families")
                           : host.socket_bpf_unavailable) +
                      ")";
            }
            return Error{ErrorKind::unsupported_config,
                         std::string(rule.key) +
                             " is set, but nothing on this host can enforce it" + why +
                             "; refusing to run with less isolation than configured",
                         rule.pointer, 0};
        }
    }
    return success();
}

std::vector<std::pair<std::string, std::string>> enforcement_features(
    const HostCapabilities& host) {
    std::vector<std::pair<std::string, std::string>> features;
    for (const auto& rule : kRules) {
        features.emplace_back(rule.key, host.user_namespaces ? rule.mechanism(host) : kUnavailable);
    }
    // Which cgroup layout the host has and, when resin can use none of it, why: the rlimit
    // fallbacks above are then in force (docs/limits.md).
    features.emplace_back("cgroup.version", to_string(host.cgroup_layout.version));
    if (!host.cgroups.any() && !host.cgroups.why_not.empty()) {
        features.emplace_back("cgroup.unavailable_because", host.cgroups.why_not);
    }
    if (!host.socket_bpf_unavailable.empty()) {
        features.emplace_back("network.port_allowlist.unavailable_because",
                              host.socket_bpf_unavailable);
    }
    return features;
}

std::vector<std::pair<std::string, std::string>> enforcement_of(const Config& config,
                                                                const HostCapabilities& host) {
    std::vector<std::pair<std::string, std::string>> enforced;
    for (const auto& rule : kRules) {
        if (rule.is_set(config)) {
            enforced.emplace_back(rule.key, rule.mechanism(host));
        }
    }
    return enforced;
}

}  // namespace resin::sandbox
