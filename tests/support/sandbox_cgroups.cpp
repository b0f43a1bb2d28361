#include "support/sandbox_cgroups.hpp"

#include <dirent.h>
#include <unistd.h>

#include <set>

#include "sandbox/cgroup_v2.hpp"
#include "sandbox/host_probe.hpp"

namespace resin::test {

sandbox::CgroupSupport cgroup_support() {
    return sandbox::probe_host().cgroups;
}

std::vector<std::string> sandbox_cgroup_parents() {
    const sandbox::CgroupLayout layout = sandbox::probe_host().cgroup_layout;
    std::vector<std::string> parents;
    for (const auto& [controller, own] : layout.v1_own) {
        parents.push_back(own);
    }
    if (layout.version == sandbox::CgroupVersion::hybrid) {
        parents.push_back(layout.unified_own);  // the port allowlist's cgroup
    }
    if (layout.version == sandbox::CgroupVersion::v2) {
        std::string why_not;
        if (std::string base = sandbox::cgroup_v2_base(layout, why_not); !base.empty()) {
            parents.push_back(base);
        }
    }
    return parents;
}

std::vector<std::string> sandbox_cgroups_of(pid_t pid) {
    return sandbox_cgroups_of(std::vector<pid_t>{pid});
}

std::vector<std::string> sandbox_cgroups_of(const std::vector<pid_t>& pids) {
    std::set<std::string> prefixes;
    for (pid_t pid : pids) {
        prefixes.insert("resin-" + std::to_string(pid) + "-");
    }
    std::vector<std::string> found;
    for (const auto& parent : sandbox_cgroup_parents()) {
        DIR* dir = ::opendir(parent.c_str());
        if (dir == nullptr) {
            continue;
        }
        while (const dirent* entry = ::readdir(dir)) {
            const std::string name = entry->d_name;
            // resin-<pid>-...: the prefix is everything up to the second '-'.
            const auto dash = name.find('-', std::string("resin-").size());
            if (dash != std::string::npos && prefixes.count(name.substr(0, dash + 1)) != 0) {
                found.push_back(parent + "/" + name);
            }
        }
        ::closedir(dir);
    }
    return found;
}

void make_cgroup_sweep_due() {
    ::unlink(sandbox::cgroup_sweep_marker().c_str());
}

}  // namespace resin::test
