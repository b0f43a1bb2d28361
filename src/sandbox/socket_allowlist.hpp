// Enforcement of the port allowlist (network.tcp_connect, tcp_bind, udp_connect, udp_bind): the
// cgroup BPF programs of socket_allowlist_programs.hpp, attached to a cgroup v2 that holds only
// the sandbox. On a pure v2 host that is the sandbox's own cgroup; on a hybrid host, whose v2
// hierarchy has no controllers but takes BPF programs all the same, a v2 cgroup of its own under
// resin's, which the sandbox's init is cloned into (CLONE_INTO_CGROUP: writing cgroup.procs would
// cost an RCU grace period per spawn) before joining its v1 cgroups, and which goes with the
// sandbox. Loading networking BPF programs needs CAP_BPF (or CAP_SYS_ADMIN) and CAP_NET_ADMIN:
// resin as root.
#pragma once

#include <memory>
#include <string>

#include "config/config.hpp"
#include "config/result.hpp"
#include "sandbox/cgroup.hpp"
#include "sandbox/cgroup_layout.hpp"
#include "sandbox/unique_fd.hpp"

namespace resin::sandbox {

// Why this host cannot attach the programs, or "" if it can (probed once at start-up).
std::string socket_bpf_unavailable_because(const CgroupLayout& layout,
                                           const CgroupSupport& cgroups);

class SocketAllowlist {
  public:
    // Attaches the programs for `network` to `sandbox_cgroup` (pure v2: its clone_into()
    // directory), or to a new v2 cgroup of its own (hybrid) that clone_into() gives.
    static Result<std::unique_ptr<SocketAllowlist>> attach(const Network& network,
                                                           const CgroupLayout& layout,
                                                           const SandboxCgroup* sandbox_cgroup);
    ~SocketAllowlist();  // removes the cgroup it made (the programs go with it)
    SocketAllowlist(const SocketAllowlist&) = delete;
    SocketAllowlist& operator=(const SocketAllowlist&) = delete;

    // A directory fd for clone3's CLONE_INTO_CGROUP when the allowlist made the cgroup, or -1.
    int clone_into() const { return made_directory_fd_.get(); }

  private:
    SocketAllowlist() = default;
    std::string made_directory_;
    UniqueFd made_directory_fd_;
};

}  // namespace resin::sandbox
