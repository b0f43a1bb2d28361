// Which cgroup hierarchies this host has and where resin sits in them, detected by filesystem magic
// (statfs) and /proc/self/cgroup, never guessed from paths.
#pragma once

#include <map>
#include <optional>
#include <string>

namespace resin::sandbox {

enum class CgroupVersion { none, v1, hybrid, v2 };

const char* to_string(CgroupVersion version);

struct CgroupLayout {
    CgroupVersion version = CgroupVersion::none;
    // cgroup v2 (pure v2, or the unified mount of a hybrid host): where it is mounted and the
    // directory of resin's own cgroup in it.
    std::string unified_mount;
    std::string unified_own;
    // cgroup v1: per controller (memory, cpu, cpuacct, pids, freezer), the directory of resin's own
    // cgroup in that controller's hierarchy.
    std::map<std::string, std::string> v1_own;
};

CgroupLayout detect_cgroup_layout();

}  // namespace resin::sandbox
