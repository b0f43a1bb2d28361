#include "sandbox/plan.hpp"

#include <limits.h>
#include <sys/capability.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <unordered_map>

#include "config/reserved_ids.hpp"
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
    // Linear in the number of variables however many a config sets (a config is up to 1 MiB).
    std::unordered_map<std::string, std::size_t> index;
    auto put = [&variables, &index](const std::string& name, const std::string& value) {
        const auto [it, added] = index.try_emplace(name, variables.size());
        if (added) {
            variables.emplace_back(name, value);
        } else {
            variables[it->second].second = value;
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

// The parser refuses these too; a Config built in code reaches the plan without it, and a sandbox
// running as a namespace owner's uid could reach another sandbox's namespaces.
Result<void> refuse_reserved_id(std::uint32_t id, const std::string& pointer) {
    if (!is_reserved_id(id)) {
        return success();
    }
    return Error{ErrorKind::invalid_config, std::to_string(id) + " is " + reserved_id_range_text(),
                 pointer, 0};
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
CgroupPart plan_cgroup(const Limits& limits, const HostCapabilities& host) {
    return CgroupPart{host.cgroups.any(), host.cgroup_layout, host.cgroups,
                      CgroupLimits{limits.memory_bytes, limits.cpu_cores, limits.processes}};
}

RlimitsPart plan_rlimits(const Limits& limits, const HostCapabilities& host) {
    RlimitsPart rlimits;
    rlimits.core = host.core_dumps_piped ? 1 : 0;
    rlimits.open_files = limits.open_files;
    rlimits.file_size_bytes = limits.file_size_bytes;
    const auto& cgroups = host.cgroups;
    if (limits.memory_bytes && !cgroups.memory) {
        rlimits.address_space = limits.memory_bytes;
    }
    if (limits.cpu_time_ms && !cgroups.cpu_time) {
        rlimits.cpu_seconds = (*limits.cpu_time_ms + 999) / 1000;
    }
    if (limits.processes && !cgroups.pids) {
        rlimits.processes = *limits.processes + 1;  // the sandbox's init is one more
    }
    return rlimits;
}

// How many cores the tree can keep busy at once: the soonest it can spend its CPU time.
unsigned cpu_parallelism(const Limits& limits) {
    // Configured, not online: a core brought online later must not make the bound too late.
    const long online = ::sysconf(_SC_NPROCESSORS_CONF);
    double cores = online > 0 ? static_cast<double>(online) : 1.0;
    if (limits.cpu_cores) {
        cores = std::min(cores, std::ceil(*limits.cpu_cores));
    }
    return std::max(1u, static_cast<unsigned>(cores));
}

SupervisionPart plan_supervision(const Limits& limits, const RlimitsPart& rlimits) {
    SupervisionPart supervision;
    supervision.wall_time_ms = limits.wall_time_ms;
    if (limits.cpu_time_ms && !rlimits.cpu_seconds) {
        supervision.cpu_time_limit_us = *limits.cpu_time_ms * 1000;
        supervision.cpu_parallelism = cpu_parallelism(limits);
    }
    if (rlimits.cpu_seconds) {
        supervision.rlimit_cpu_ns = *rlimits.cpu_seconds * 1000000000u;
    }
    return supervision;
}

LandlockPart plan_landlock(const MountsPart& mounts, const Network& network,
                           const HostCapabilities& host) {
    LandlockPart landlock;
    landlock.abi = std::max(host.landlock_abi, 0);
    if (landlock.abi == 0) {
        return landlock;
    }
    for (const auto& step : mounts.steps) {
        if (step.kind != MountStep::Kind::symlink) {
            landlock.paths.push_back({step.target, step.read_only});
        }
    }
    // Under a port allowlist an absent list is an empty one (the cgroup BPF programs are the
    // whole rule; Landlock's TCP rights are a second layer).
    landlock.restrict_tcp = network.has_port_allowlist() && landlock.abi >= 4;
    if (landlock.restrict_tcp) {
        landlock.tcp_connect = network.tcp_connect.value_or(std::vector<std::uint16_t>{});
        landlock.tcp_bind = network.tcp_bind.value_or(std::vector<std::uint16_t>{});
    }
    landlock.scope_signals = landlock.abi >= 6;
    landlock.scope_abstract_unix_sockets = landlock.abi >= 6 && network.mode != NetworkMode::host;
    return landlock;
}

CapabilitiesPart plan_capabilities(const std::vector<std::string>& names) {
    CapabilitiesPart capabilities;
    for (const auto& name : names) {
        cap_value_t cap = 0;
        if (cap_from_name(name.c_str(), &cap) == 0) {  // the validator knows every name
            capabilities.keep.push_back(cap);
        }
    }
    return capabilities;
}

NetworkPart plan_network(const Config& config) {
    NetworkPart network;
    network.new_namespace = config.network.mode != NetworkMode::host;
    network.loopback_up = config.network.mode == NetworkMode::loopback;
    const auto& caps = config.capabilities;
    network.may_use_pool = std::none_of(caps.begin(), caps.end(), [](const std::string& cap) {
        return cap.rfind("CAP_NET_", 0) == 0;
    });
    if (config.network.has_port_allowlist()) {
        network.port_allowlist = config.network;
    }
    return network;
}

}  // namespace

Result<Plan> make_plan(const Config& config, const HostCapabilities& host) {
    RESIN_TRYV(check_enforceable(config, host));
    RESIN_TRYV(refuse_reserved_id(config.identity.uid, "/identity/uid"));
    RESIN_TRYV(refuse_reserved_id(config.identity.gid, "/identity/gid"));
    Plan plan;
    plan.host_ = host;
    plan.command_ = CommandPart{build_environment(config.env), config.filesystem.cwd};
    plan.identity_.uid = map_id(config.identity.uid, host.euid, host.privileged);
    plan.identity_.gid = map_id(config.identity.gid, host.egid, host.privileged);
    plan.identity_.drop_supplementary_groups = host.privileged;
    plan.identity_.hostname = config.identity.hostname;
    RESIN_TRY(plan.mounts_.steps,
              plan_mounts(config.filesystem,
                          SandboxIds{plan.identity_.uid, plan.identity_.gid, host.privileged}));
    RESIN_TRYV(refuse_owner_escalation(plan.mounts_, config.capabilities));
    plan.landlock_ = plan_landlock(plan.mounts_, config.network, host);
    plan.capabilities_ = plan_capabilities(config.capabilities);
    plan.network_ = plan_network(config);
    plan.cgroup_ = plan_cgroup(config.limits, host);
    plan.rlimits_ = plan_rlimits(config.limits, host);
    plan.supervision_ = plan_supervision(config.limits, plan.rlimits_);
    RESIN_TRY(plan.seccomp_, seccomp_filters_for(config.syscalls));
    plan.seccomp_allows_start_steps_ = config.syscalls.deny.empty();
    if (config.network.has_port_allowlist()) {
        RESIN_TRY(SeccompFilter families, socket_family_filter(config.syscalls));
        plan.seccomp_.push_back(std::move(families));
    }
    if (has_writable_bind(plan.mounts_.steps)) {
        RESIN_TRY(SeccompFilter set_id, set_id_mode_filter(config.syscalls));
        plan.seccomp_.push_back(std::move(set_id));
    }
    return plan;
}

}  // namespace resin::sandbox
