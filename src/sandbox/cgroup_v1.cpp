#include "sandbox/cgroup_v1.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <map>

#include "sandbox/cgroup_files.hpp"
#include "sandbox/cgroup_reaper.hpp"
#include "sandbox/unique_fd.hpp"

namespace resin::sandbox {
namespace {

constexpr std::uint64_t kCpuPeriodUs = 100000;

// Freezes the cgroup so nothing in it can fork, kills every task, thaws so the kills land. An empty
// cgroup (the usual case: the sandbox's init died and took its pid namespace with it) has nothing
// that could fork.
void freeze_kill_thaw(const std::string& freezer) {
    if (read_cgroup_procs(freezer).empty()) {
        return;
    }
    const bool frozen = write_cgroup_file(freezer + "/freezer.state", "FROZEN").has_value();
    if (frozen) {
        for (int attempt = 0; attempt < 1000; ++attempt) {
            auto state = read_cgroup_file(freezer + "/freezer.state");
            if (!state || state->rfind("FROZEN", 0) == 0) {
                break;
            }
        }
    }
    for (pid_t pid : read_cgroup_procs(freezer)) {
        ::kill(pid, SIGKILL);
    }
    if (frozen) {
        (void)write_cgroup_file(freezer + "/freezer.state", "THAWED");
    }
}

// cpuacct.usage is the tree's exact CPU time; usage_user and usage_sys are sampled at the scheduler
// tick and drift from it by up to a tenth on a busy host. Like the kernel for a task's times (and
// cgroup v2 for cpu.stat), report the exact total, split in the sampled ratio.
void split_cpu_time(const std::string& cpuacct, CgroupUsage& usage) {
    const std::uint64_t total_us = read_cgroup_u64(cpuacct + "/cpuacct.usage").value_or(0) / 1000;
    const std::uint64_t user = read_cgroup_u64(cpuacct + "/cpuacct.usage_user").value_or(0);
    const std::uint64_t system = read_cgroup_u64(cpuacct + "/cpuacct.usage_sys").value_or(0);
    if (user + system == 0) {
        usage.cpu_user_us = total_us;  // too short to be sampled: the kernel calls it user time
        usage.cpu_system_us = 0;
        return;
    }
    usage.cpu_user_us =
        static_cast<std::uint64_t>(static_cast<double>(total_us) * static_cast<double>(user) /
                                   static_cast<double>(user + system));
    usage.cpu_system_us = total_us - usage.cpu_user_us;
}

// Kills what is in a directory of a hierarchy without a freezer: repeat until it is empty.
void kill_until_empty(const std::string& directory) {
    for (int round = 0; round < 100; ++round) {
        const auto pids = read_cgroup_procs(directory);
        if (pids.empty()) {
            return;
        }
        for (pid_t pid : pids) {
            ::kill(pid, SIGKILL);
        }
    }
}

class CgroupV1 final : public SandboxCgroup {
  public:
    explicit CgroupV1(std::map<std::string, std::string> directories)
        : directories_(std::move(directories)) {}

    ~CgroupV1() override {
        kill_all();
        for (const auto& [controller, directory] : directories_) {
            remove_cgroup_directory(directory);
        }
    }

    Result<void> apply(const CgroupLimits& limits) {
        if (limits.memory_bytes) {
            const std::string bytes = std::to_string(*limits.memory_bytes);
            const auto& memory = directories_.at("memory");
            RESIN_TRYV(write_cgroup_file(memory + "/memory.limit_in_bytes", bytes));
            if (path_exists(memory + "/memory.memsw.limit_in_bytes")) {
                RESIN_TRYV(write_cgroup_file(memory + "/memory.memsw.limit_in_bytes", bytes));
            } else {
                RESIN_TRYV(write_cgroup_file(memory + "/memory.swappiness", "0"));
            }
        }
        if (limits.cpu_cores) {
            const auto& cpu = directories_.at("cpu");
            const auto quota =
                static_cast<std::uint64_t>(std::llround(*limits.cpu_cores * kCpuPeriodUs));
            RESIN_TRYV(write_cgroup_file(cpu + "/cpu.cfs_period_us", std::to_string(kCpuPeriodUs)));
            RESIN_TRYV(write_cgroup_file(cpu + "/cpu.cfs_quota_us", std::to_string(quota)));
        }
        if (limits.processes) {
            // The sandbox's init is one more process than the command's tree.
            RESIN_TRYV(write_cgroup_file(directories_.at("pids") + "/pids.max",
                                         std::to_string(*limits.processes + 1)));
        }
        if (directories_.count("memory") != 0) {
            RESIN_TRYV(watch_oom(directories_.at("memory")));
        }
        return success();
    }

    int clone_into() const override { return -1; }

    std::vector<std::string> self_join_files() const override {
        std::vector<std::string> files;
        for (const auto& [controller, directory] : directories_) {
            files.push_back(directory + "/tasks");  // one thread: the process is single-threaded
        }
        return files;
    }

    int oom_event_fd() const override { return oom_event_.get(); }

    std::uint64_t cpu_time_us() override {
        auto it = directories_.find("cpuacct");
        if (it == directories_.end()) {
            return 0;
        }
        return read_cgroup_u64(it->second + "/cpuacct.usage").value_or(0) / 1000;
    }

    CgroupUsage usage() override {
        CgroupUsage usage;
        if (auto it = directories_.find("cpuacct"); it != directories_.end()) {
            split_cpu_time(it->second, usage);
        }
        if (auto it = directories_.find("memory"); it != directories_.end()) {
            usage.peak_memory_bytes =
                read_cgroup_u64(it->second + "/memory.max_usage_in_bytes").value_or(0);
            usage.oom_killed =
                read_cgroup_key(it->second + "/memory.oom_control", "oom_kill").value_or(0) > 0;
        }
        if (auto it = directories_.find("pids"); it != directories_.end()) {
            // pids.peak counts the sandbox's init too.
            const auto peak = read_cgroup_u64(it->second + "/pids.peak").value_or(0);
            usage.peak_processes = peak > 1 ? static_cast<std::uint32_t>(peak - 1) : 0;
        }
        return usage;
    }

    void kill_all() override {
        if (auto it = directories_.find("freezer"); it != directories_.end()) {
            freeze_kill_thaw(it->second);
        }
        for (const auto& [controller, directory] : directories_) {
            kill_until_empty(directory);
        }
    }

  private:
    // An eventfd that the kernel signals when the memory cgroup hits OOM (cgroup.event_control).
    Result<void> watch_oom(const std::string& memory) {
        oom_event_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
        oom_control_.reset(::open((memory + "/memory.oom_control").c_str(), O_RDONLY | O_CLOEXEC));
        if (!oom_event_ || !oom_control_) {
            return system_error(ErrorKind::spawn_failed, "watching " + memory + " for OOM", errno);
        }
        return write_cgroup_file(
            memory + "/cgroup.event_control",
            std::to_string(oom_event_.get()) + " " + std::to_string(oom_control_.get()));
    }

    std::map<std::string, std::string> directories_;
    UniqueFd oom_event_;
    UniqueFd oom_control_;
};

}  // namespace

Result<std::unique_ptr<SandboxCgroup>> create_cgroup_v1(const CgroupLayout& layout,
                                                        const CgroupSupport& support,
                                                        const CgroupLimits& limits) {
    const std::pair<const char*, bool> wanted[] = {
        {"memory", support.memory}, {"cpu", support.cpu},      {"cpuacct", support.cpu_time},
        {"pids", support.pids},     {"freezer", support.kill},
    };
    const std::string name = sandbox_cgroup_name();
    std::vector<std::string> parents;
    for (const auto& [controller, usable] : wanted) {
        if (usable) {
            parents.push_back(layout.v1_own.at(controller));
        }
    }
    for (const auto& parent : parents) {
        cgroup_reaper_watch(parent);
    }
    std::map<std::string, std::string> directories;
    for (const auto& [controller, usable] : wanted) {
        if (!usable) {
            continue;
        }
        const std::string& own = layout.v1_own.at(controller);
        const std::string directory = own + "/" + name;
        if (::mkdir(directory.c_str(), 0755) != 0) {
            const int err = errno;
            for (const auto& [made, made_directory] : directories) {
                ::rmdir(made_directory.c_str());
            }
            return system_error(ErrorKind::spawn_failed, "creating the cgroup " + directory, err);
        }
        directories.emplace(controller, directory);
    }
    auto cgroup = std::make_unique<CgroupV1>(std::move(directories));
    RESIN_TRYV(cgroup->apply(limits));
    return std::unique_ptr<SandboxCgroup>(std::move(cgroup));
}

bool kill_and_remove_cgroup_v1(const std::string& directory) {
    freeze_kill_thaw(directory);
    kill_until_empty(directory);
    return remove_cgroup_directory(directory);
}

}  // namespace resin::sandbox
