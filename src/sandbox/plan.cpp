#include "sandbox/plan.hpp"

#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "sandbox/mount_ownership.hpp"

extern char** environ;

namespace resin::sandbox {
namespace {

// uid/gid 0 inside must never be root on the host: a process whose kernel uid is 0 passes DAC and
// sysctl checks on host files (e.g. /proc/sys) whatever its user namespace.
constexpr std::uint32_t kOverflowId = 65534;

std::size_t depth(const std::string& path) {
    return path == "/" ? 0 : static_cast<std::size_t>(std::count(path.begin(), path.end(), '/'));
}

bool is_within(const std::string& path, const std::string& dir) {
    return path == dir || (path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 &&
                           path[dir.size()] == '/');
}

std::vector<std::string> build_environment(const Env& env) {
    std::vector<std::pair<std::string, std::string>> variables;
    auto put = [&variables](const std::string& name, const std::string& value) {
        auto it = std::find_if(variables.begin(), variables.end(),
                               [&name](const auto& v) { return v.first == name; });
        if (it != variables.end()) {
            it->second = value;
        } else {
            variables.emplace_back(name, value);
        }
    };
    if (env.clear) {
        for (const auto& name : env.keep) {
            if (const char* value = std::getenv(name.c_str())) {
                put(name, value);
            }
        }
        // A kept PATH is resin's own, even when resin has none; only an environment that names no
        // PATH at all gets the default (the parser shows it too, for configs built in code it is
        // here).
        if (needs_default_path(env)) {
            put("PATH", kDefaultPath);
        }
    } else {
        for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
            const char* equals = std::strchr(*entry, '=');
            if (equals != nullptr) {
                put(std::string(*entry, static_cast<std::size_t>(equals - *entry)), equals + 1);
            }
        }
    }
    for (const auto& [name, value] : env.set) {
        put(name, value);
    }
    std::vector<std::string> environment;
    environment.reserve(variables.size());
    for (const auto& [name, value] : variables) {
        environment.push_back(name + "=" + value);
    }
    return environment;
}

IdMapping map_id(std::uint32_t inside, std::uint32_t caller, bool privileged) {
    if (!privileged) {
        return {inside, caller};  // the only mapping the kernel allows an unprivileged user
    }
    return {inside, inside == 0 ? kOverflowId : inside};
}

Result<void> refuse_reserved_path(const std::string& path, const std::string& pointer) {
    for (const char* reserved : {"/proc", "/dev"}) {
        if (is_within(path, reserved)) {
            return Error{ErrorKind::invalid_config,
                         path + " is inside " + reserved + ", which resin provides itself", pointer,
                         0};
        }
    }
    return success();
}

// The sandbox's own host ids, which ownership "directory" maps onto the source's owner.
struct SandboxIds {
    IdMapping uid;
    IdMapping gid;
    bool privileged = false;
};

Result<std::optional<MountStep>> plan_bind(const BindMount& mount, std::size_t index,
                                           const SandboxIds& ids) {
    const std::string pointer = "/filesystem/mounts/" + std::to_string(index);
    RESIN_TRYV(refuse_reserved_path(mount.path, pointer + "/path"));
    const std::string& source = mount.source.empty() ? mount.path : mount.source;
    struct stat link_info {};
    if (::lstat(source.c_str(), &link_info) != 0) {
        const int err = errno;
        if (err == ENOENT && mount.optional) {
            return std::optional<MountStep>();
        }
        return Error{ErrorKind::invalid_config,
                     "mount source " + source + ": " + std::strerror(err) +
                         (err == ENOENT ? " (mark the mount \"optional\": true to skip it)" : ""),
                     pointer + "/source", err};
    }
    MountStep step;
    step.target = mount.path;
    step.source = source;
    step.read_only = mount.access == Access::ro;
    step.pointer = pointer;
    if (mount.ownership == Ownership::directory) {
        // Opened and checked without following any symbolic link (mount_ownership.hpp).
        step.kind = MountStep::Kind::bind;
        RESIN_TRYV(plan_ownership(step, mount, ids.uid, ids.gid, ids.privileged));
        return std::optional<MountStep>(step);
    }
    if (S_ISLNK(link_info.st_mode) && source == mount.path) {
        // Merged-/usr hosts: /bin -> usr/bin. Recreate the link rather than binding its target.
        std::string target(PATH_MAX, '\0');
        const ssize_t length = ::readlink(source.c_str(), target.data(), target.size());
        if (length < 0) {
            return system_error(ErrorKind::invalid_config, "mount source " + source, errno);
        }
        target.resize(static_cast<std::size_t>(length));
        step.kind = MountStep::Kind::symlink;
        step.source = target;
        return std::optional<MountStep>(step);
    }
    struct stat info {};
    if (::stat(source.c_str(), &info) != 0) {
        const int err = errno;
        if (err == ENOENT && mount.optional) {
            return std::optional<MountStep>();
        }
        return Error{ErrorKind::invalid_config,
                     "mount source " + source + " (a symlink): " + std::strerror(err),
                     pointer + "/source", err};
    }
    step.kind = MountStep::Kind::bind;
    step.source_is_directory = S_ISDIR(info.st_mode);
    return std::optional<MountStep>(step);
}

Result<std::vector<MountStep>> plan_mounts(const Filesystem& filesystem, const SandboxIds& ids) {
    std::vector<MountStep> steps;
    for (std::size_t i = 0; i < filesystem.mounts.size(); ++i) {
        RESIN_TRY(auto step, plan_bind(filesystem.mounts[i], i, ids));
        if (step) {
            steps.push_back(std::move(*step));
        }
    }
    for (std::size_t i = 0; i < filesystem.tmpfs.size(); ++i) {
        const auto& tmpfs = filesystem.tmpfs[i];
        const std::string pointer = "/filesystem/tmpfs/" + std::to_string(i);
        RESIN_TRYV(refuse_reserved_path(tmpfs.path, pointer + "/path"));
        MountStep step;
        step.kind = MountStep::Kind::tmpfs;
        step.target = tmpfs.path;
        step.read_only = false;
        step.size_bytes = tmpfs.size_bytes;
        step.inodes = tmpfs.inodes.value_or(tmpfs_inodes_for(tmpfs.size_bytes));
        step.pointer = pointer;
        steps.push_back(std::move(step));
    }
    std::stable_sort(steps.begin(), steps.end(), [](const MountStep& a, const MountStep& b) {
        return depth(a.target) < depth(b.target);
    });
    return steps;
}

// A host directory or file the sandbox can write: what it leaves there outlives it on the host.
bool has_writable_bind(const std::vector<MountStep>& mounts) {
    return std::any_of(mounts.begin(), mounts.end(), [](const MountStep& step) {
        return step.kind == MountStep::Kind::bind && !step.read_only;
    });
}

// Which limits the sandbox's cgroup takes and which fall back to rlimits. check_enforceable has
// already refused any limit neither can enforce.
void plan_limits(Plan& plan) {
    const auto& limits = plan.config.limits;
    const auto& cgroups = plan.host.cgroups;
    plan.own_cgroup = cgroups.any();
    if (limits.memory_bytes && !cgroups.memory) {
        plan.rlimit_address_space = limits.memory_bytes;
    }
    if (limits.cpu_time_ms && !cgroups.cpu_time) {
        plan.rlimit_cpu_seconds = (*limits.cpu_time_ms + 999) / 1000;
    }
    if (limits.processes && !cgroups.pids) {
        plan.rlimit_processes = *limits.processes + 1;  // the sandbox's init is one more
    }
}

}  // namespace

Result<Plan> make_plan(const Config& config, const HostCapabilities& host) {
    RESIN_TRYV(check_enforceable(config, host));
    Plan plan;
    plan.config = config;
    plan.host = host;
    plan.environment = build_environment(config.env);
    plan.uid = map_id(config.identity.uid, host.euid, host.privileged);
    plan.gid = map_id(config.identity.gid, host.egid, host.privileged);
    plan.drop_supplementary_groups = host.privileged;
    RESIN_TRY(plan.mounts,
              plan_mounts(config.filesystem, SandboxIds{plan.uid, plan.gid, host.privileged}));
    RESIN_TRYV(refuse_owner_escalation(plan));
    plan.new_network_namespace = config.network.mode != NetworkMode::host;
    plan_limits(plan);
    plan.rlimit_core = host.core_dumps_piped ? 1 : 0;
    RESIN_TRY(plan.seccomp, seccomp_filters_for(config.syscalls));
    if (config.network.has_port_allowlist()) {
        RESIN_TRY(SeccompFilter families, socket_family_filter(config.syscalls));
        plan.seccomp.push_back(std::move(families));
    }
    if (has_writable_bind(plan.mounts)) {
        RESIN_TRY(SeccompFilter set_id, set_id_mode_filter(config.syscalls));
        plan.seccomp.push_back(std::move(set_id));
    }
    return plan;
}

}  // namespace resin::sandbox
