// The cgroup v1 backend: one cgroup per controller hierarchy (memory, cpu, cpuacct, pids, freezer).
#pragma once

#include "sandbox/cgroup.hpp"

namespace resin::sandbox {

Result<std::unique_ptr<SandboxCgroup>> create_cgroup_v1(const CgroupLayout& layout,
                                                        const CgroupSupport& support,
                                                        const CgroupLimits& limits);

// Freezes and kills what is in one hierarchy's sandbox cgroup, then removes it; whether it is
// gone.
bool kill_and_remove_cgroup_v1(const std::string& directory);

}  // namespace resin::sandbox
