// The cgroup v2 backend: one cgroup in the unified hierarchy.
//
// Where: under resin's own cgroup, which must be the root or delegated to resin (systemd's
// Delegate=yes marks it with the trusted.delegate or user.delegate xattr; RESIN_CGROUP_DELEGATED=1
// says so by hand). A non-root cgroup can only give its children controllers while it has no
// processes of its own, so the first resin moves the processes found there (the BEAM, itself) into
// a leaf named resin.leaf, enables the controllers, and creates sandbox cgroups beside that leaf;
// a resin that starts inside resin.leaf uses its parent the same way.
#pragma once

#include "sandbox/cgroup.hpp"

namespace resin::sandbox {

// The directory sandbox cgroups go in, or empty with `why_not` set.
std::string cgroup_v2_base(const CgroupLayout& layout, std::string& why_not);

CgroupSupport probe_cgroup_v2(const CgroupLayout& layout);

Result<std::unique_ptr<SandboxCgroup>> create_cgroup_v2(const CgroupLayout& layout,
                                                        const CgroupSupport& support,
                                                        const CgroupLimits& limits);

// Kills what is in a sandbox cgroup (cgroup.kill, or freeze and kill), then removes it; whether
// it is gone.
bool kill_and_remove_cgroup_v2(const std::string& directory);

}  // namespace resin::sandbox
