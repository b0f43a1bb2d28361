#include "sandbox/cgroup_v2.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <sstream>

#include "sandbox/cgroup_files.hpp"
#include "sandbox/cgroup_reaper.hpp"
#include "sandbox/unique_fd.hpp"

namespace resin::sandbox {
namespace {

constexpr std::uint64_t kCpuPeriodUs = 100000;
constexpr const char* kLeaf = "resin.leaf";

bool has_xattr_one(const std::string& path, const char* name) {
    char value[8] = {};
    const ssize_t size = ::getxattr(path.c_str(), name, value, sizeof value - 1);
    return size > 0 && value[0] == '1';
}

bool is_delegated(const std::string& directory) {
    const char* by_hand = std::getenv("RESIN_CGROUP_DELEGATED");
    return (by_hand != nullptr && std::strcmp(by_hand, "1") == 0) ||
           has_xattr_one(directory, "trusted.delegate") ||
           has_xattr_one(directory, "user.delegate");
}

std::string parent_of(const std::string& directory) {
    return directory.substr(0, directory.rfind('/'));
}

bool kernel_at_least(int major, int minor) {
    utsname name{};
    int have_major = 0;
    int have_minor = 0;
    return ::uname(&name) == 0 &&
           std::sscanf(name.release, "%d.%d", &have_major, &have_minor) == 2 &&
           (have_major > major || (have_major == major && have_minor >= minor));
}

bool lists(const std::string& words, const std::string& word) {
    std::istringstream stream(words);
    for (std::string w; stream >> w;) {
        if (w == word) {
            return true;
        }
    }
    return false;
}

// Makes `base` able to give its children `controllers`: moves the processes in it into the leaf
// (the no-internal-processes rule) and enables the controllers in its subtree_control.
Result<void> prepare_base(const std::string& base, bool is_root, const std::string& controllers) {
    if (!is_root && !read_cgroup_procs(base).empty()) {
        const std::string leaf = base + "/" + kLeaf;
        if (::mkdir(leaf.c_str(), 0755) != 0 && errno != EEXIST) {
            return system_error(ErrorKind::spawn_failed, "creating " + leaf, errno);
        }
        for (int round = 0; round < 100; ++round) {
            const auto pids = read_cgroup_procs(base);
            if (pids.empty()) {
                break;
            }
            for (pid_t pid : pids) {
                (void)write_cgroup_file(leaf + "/cgroup.procs", std::to_string(pid));
            }
        }
    }
    const auto enabled = read_cgroup_file(base + "/cgroup.subtree_control").value_or("");
    std::string wanted;
    std::istringstream stream(controllers);
    for (std::string controller; stream >> controller;) {
        if (!lists(enabled, controller)) {
            wanted += (wanted.empty() ? "+" : " +") + controller;
        }
    }
    if (wanted.empty()) {
        return success();
    }
    return write_cgroup_file(base + "/cgroup.subtree_control", wanted);
}

class CgroupV2 final : public SandboxCgroup {
  public:
    CgroupV2(std::string directory, UniqueFd directory_fd)
        : directory_(std::move(directory)), directory_fd_(std::move(directory_fd)) {}

    ~CgroupV2() override {
        kill_all();
        remove_cgroup_directory(directory_);
    }

    Result<void> apply(const CgroupLimits& limits) {
        if (limits.memory_bytes) {
            RESIN_TRYV(write_cgroup_file(directory_ + "/memory.max",
                                         std::to_string(*limits.memory_bytes)));
            if (path_exists(directory_ + "/memory.swap.max")) {
                RESIN_TRYV(write_cgroup_file(directory_ + "/memory.swap.max", "0"));
            }
            // On OOM the kernel kills the whole sandbox together, not one process of it.
            RESIN_TRYV(write_cgroup_file(directory_ + "/memory.oom.group", "1"));
        }
        if (limits.cpu_cores) {
            const auto quota =
                static_cast<std::uint64_t>(std::llround(*limits.cpu_cores * kCpuPeriodUs));
            RESIN_TRYV(
                write_cgroup_file(directory_ + "/cpu.max",
                                  std::to_string(quota) + " " + std::to_string(kCpuPeriodUs)));
        }
        if (limits.processes) {
            RESIN_TRYV(
                write_cgroup_file(directory_ + "/pids.max", std::to_string(*limits.processes + 1)));
        }
        return success();
    }

    int clone_into() const override { return directory_fd_.get(); }

    std::vector<std::string> self_join_files() const override { return {}; }

    int oom_event_fd() const override { return -1; }

    std::uint64_t cpu_time_us() override {
        return read_cgroup_key(directory_ + "/cpu.stat", "usage_usec").value_or(0);
    }

    CgroupUsage usage() override {
        CgroupUsage usage;
        usage.cpu_user_us = read_cgroup_key(directory_ + "/cpu.stat", "user_usec").value_or(0);
        usage.cpu_system_us = read_cgroup_key(directory_ + "/cpu.stat", "system_usec").value_or(0);
        usage.peak_memory_bytes = read_cgroup_u64(directory_ + "/memory.peak").value_or(0);
        const auto peak = read_cgroup_u64(directory_ + "/pids.peak").value_or(0);
        usage.peak_processes = peak > 1 ? static_cast<std::uint32_t>(peak - 1) : 0;
        const std::string events = directory_ + "/memory.events";
        usage.oom_killed = read_cgroup_key(events, "oom_kill").value_or(0) > 0 ||
                           read_cgroup_key(events, "oom_group_kill").value_or(0) > 0;
        return usage;
    }

    void kill_all() override { kill_cgroup_v2(directory_); }

    static void kill_cgroup_v2(const std::string& directory) {
        if (path_exists(directory + "/cgroup.kill")) {
            (void)write_cgroup_file(directory + "/cgroup.kill", "1");
            return;
        }
        (void)write_cgroup_file(directory + "/cgroup.freeze", "1");
        for (pid_t pid : read_cgroup_procs(directory)) {
            ::kill(pid, SIGKILL);
        }
        (void)write_cgroup_file(directory + "/cgroup.freeze", "0");
    }

  private:
    std::string directory_;
    UniqueFd directory_fd_;
};

}  // namespace

std::string cgroup_v2_base(const CgroupLayout& layout, std::string& why_not) {
    std::string base = layout.unified_own;
    if (base.size() > std::strlen(kLeaf) &&
        base.compare(base.size() - std::strlen(kLeaf), std::string::npos, kLeaf) == 0) {
        base = parent_of(base);
    }
    if (base != layout.unified_mount && !is_delegated(base)) {
        why_not = "resin's cgroup " + base +
                  " is not delegated to it (run it under systemd with Delegate=yes, or set "
                  "RESIN_CGROUP_DELEGATED=1 for a cgroup you created for it)";
        return {};
    }
    if (::access((base + "/cgroup.subtree_control").c_str(), W_OK) != 0) {
        why_not = "resin may not write to its cgroup " + base;
        return {};
    }
    return base;
}

CgroupSupport probe_cgroup_v2(const CgroupLayout& layout) {
    CgroupSupport support;
    support.version = layout.version;
    const std::string base = cgroup_v2_base(layout, support.why_not);
    if (base.empty()) {
        return support;
    }
    // Controllers the base can hand to its children (its own cgroup.controllers).
    const auto available = read_cgroup_file(base + "/cgroup.controllers").value_or("");
    support.memory = lists(available, "memory");
    support.cpu = lists(available, "cpu");
    support.pids = lists(available, "pids");
    support.cpu_time = true;  // cpu.stat's usage is there without the cpu controller
    support.kill = kernel_at_least(5, 14);
    return support;
}

Result<std::unique_ptr<SandboxCgroup>> create_cgroup_v2(const CgroupLayout& layout,
                                                        const CgroupSupport& support,
                                                        const CgroupLimits& limits) {
    std::string why_not;
    const std::string base = cgroup_v2_base(layout, why_not);
    if (base.empty()) {
        return Error{ErrorKind::spawn_failed, why_not, "", 0};
    }
    std::string controllers;
    for (const auto& [name, usable] :
         {std::pair{"memory", support.memory}, std::pair{"cpu", support.cpu},
          std::pair{"pids", support.pids}}) {
        if (usable) {
            controllers += std::string(controllers.empty() ? "" : " ") + name;
        }
    }
    RESIN_TRYV(prepare_base(base, base == layout.unified_mount, controllers));
    cgroup_reaper_watch(base);
    const std::string directory = base + "/" + sandbox_cgroup_name();
    if (::mkdir(directory.c_str(), 0755) != 0) {
        return system_error(ErrorKind::spawn_failed, "creating the cgroup " + directory, errno);
    }
    UniqueFd directory_fd(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    auto cgroup = std::make_unique<CgroupV2>(directory, std::move(directory_fd));
    RESIN_TRYV(cgroup->apply(limits));
    return std::unique_ptr<SandboxCgroup>(std::move(cgroup));
}

bool kill_and_remove_cgroup_v2(const std::string& directory) {
    CgroupV2::kill_cgroup_v2(directory);
    return remove_cgroup_directory(directory);
}

}  // namespace resin::sandbox
