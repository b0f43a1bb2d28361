#include "support/sandbox_cgroups.hpp"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <stdexcept>

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

namespace {

// The sandbox cgroups, in any parent, whose names begin with one of `prefixes`.
std::vector<std::string> sandbox_cgroups_prefixed(const std::set<std::string>& prefixes) {
    std::vector<std::string> found;
    for (const auto& parent : sandbox_cgroup_parents()) {
        DIR* dir = ::opendir(parent.c_str());
        if (dir == nullptr) {
            continue;
        }
        while (const dirent* entry = ::readdir(dir)) {
            const std::string name = entry->d_name;
            for (const auto& prefix : prefixes) {
                if (name.rfind(prefix, 0) == 0) {
                    found.push_back(parent + "/" + name);
                    break;
                }
            }
        }
        ::closedir(dir);
    }
    return found;
}

}  // namespace

std::string namespace_inode(const std::string& ns_file) {
    struct stat info {};
    if (::stat(ns_file.c_str(), &info) != 0) {
        if (errno == ENOENT && ns_file.ends_with("/time")) {
            return "0";
        }
        throw std::runtime_error("stat " + ns_file + ": " + std::strerror(errno));
    }
    return std::to_string(info.st_ino);
}

std::vector<std::string> sandbox_cgroups_of(const std::vector<pid_t>& pids) {
    const std::string own = "resin-" + namespace_inode("/proc/self/ns/pid") + "-" +
                            namespace_inode("/proc/self/ns/time") + "-";
    std::set<std::string> prefixes;
    for (pid_t pid : pids) {
        prefixes.insert(own + std::to_string(pid) + "-");
    }
    return sandbox_cgroups_prefixed(prefixes);
}

std::vector<std::string> sandbox_cgroups_in_pid_namespace_of(pid_t pid) {
    return sandbox_cgroups_prefixed(
        {"resin-" + namespace_inode("/proc/" + std::to_string(pid) + "/ns/pid") + "-"});
}

std::vector<std::string> sandbox_cgroups_in_time_namespace_of(pid_t pid) {
    return sandbox_cgroups_prefixed({"resin-" + namespace_inode("/proc/self/ns/pid") + "-" +
                                     namespace_inode("/proc/" + std::to_string(pid) + "/ns/time") +
                                     "-"});
}

std::vector<std::string> sandbox_cgroups_holding(pid_t pid) {
    std::ifstream membership("/proc/" + std::to_string(pid) + "/cgroup");
    std::set<std::string> names;
    for (std::string line; std::getline(membership, line);) {
        const std::string name = line.substr(line.rfind('/') + 1);
        if (name.rfind("resin-", 0) == 0) {
            names.insert(name);
        }
    }
    std::vector<std::string> found;
    for (const auto& parent : sandbox_cgroup_parents()) {
        for (const auto& name : names) {
            if (std::filesystem::is_directory(parent + "/" + name)) {
                found.push_back(parent + "/" + name);
            }
        }
    }
    return found;
}

void make_cgroup_sweep_due() {
    // Every set of parents has its marker (cgroup_sweep_marker): all of them go.
    DIR* dir = ::opendir("/run/resin");
    if (dir == nullptr) {
        return;
    }
    while (const dirent* entry = ::readdir(dir)) {
        if (std::string(entry->d_name).rfind("cgroup-sweep-", 0) == 0) {
            ::unlinkat(::dirfd(dir), entry->d_name, 0);
        }
    }
    ::closedir(dir);
}

}  // namespace resin::test
