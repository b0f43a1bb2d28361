// What this host can enforce, probed once at start-up (cheaply: resin starts once per sandbox).
#pragma once

#include <sys/types.h>

#include <string>

#include "sandbox/cgroup.hpp"
#include "sandbox/cgroup_layout.hpp"

namespace resin::sandbox {

struct HostCapabilities {
    uid_t euid = 0;
    gid_t egid = 0;
    bool privileged = false;        // CAP_SYS_ADMIN in the initial user namespace (root)
    bool user_namespaces = false;   // this user may create a user namespace
    int landlock_abi = 0;           // 0: Landlock unavailable
    bool core_dumps_piped = false;  // kernel.core_pattern hands core dumps to a program (as root)
    bool seccomp = false;           // seccomp filters with user notification (Linux >= 5.0)
    CgroupLayout cgroup_layout;
    CgroupSupport cgroups;  // what resin's cgroups can enforce
    // Why the port allowlist's cgroup BPF programs cannot be attached; empty: they can.
    std::string socket_bpf_unavailable;
};

HostCapabilities probe_host();

}  // namespace resin::sandbox
