// An immutable, validated plan of one sandbox, built from a config on this host before any syscall
// of the launch runs. Everything the launcher does is decided here; a config the host cannot
// enforce never becomes a plan (fail closed).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "sandbox/config.hpp"
#include "sandbox/enforcement.hpp"
#include "sandbox/host_probe.hpp"
#include "sandbox/result.hpp"
#include "sandbox/seccomp_policy.hpp"

namespace resin::sandbox {

// One line of a user namespace's uid_map or gid_map: `inside` maps to `outside` on the host.
struct IdMapping {
    std::uint32_t inside = 0;
    std::uint32_t outside = 0;
};

// Ownership "directory" through an idmapped mount: the source's owner and group on disk (inside)
// appear as, and what the sandbox creates is stored from, the sandbox's host uid and gid (outside).
struct OwnerMap {
    IdMapping uid;
    IdMapping gid;
    // The source as planned: the tree resin idmaps must be this very directory, not whatever a
    // rename put at its path since.
    std::uint64_t device = 0;
    std::uint64_t inode = 0;
};

// One entry of the sandbox's filesystem, made in plan order (a parent before its children).
struct MountStep {
    enum class Kind { bind, tmpfs, symlink };
    Kind kind = Kind::bind;
    std::string target;  // absolute path inside the sandbox
    std::string source;  // bind: the host path; symlink: the link's contents
    bool read_only = true;
    bool source_is_directory = true;
    std::uint64_t size_bytes = 0;       // tmpfs
    std::uint64_t inodes = 0;           // tmpfs: files and directories beyond its root (never 0)
    std::string pointer;                // the config field it comes from
    std::optional<OwnerMap> owner_map;  // bind: mounted idmapped (mount_ownership.hpp)
};

struct Plan {
    Config config;
    HostCapabilities host;
    std::vector<std::string> environment;  // NAME=value: exactly the command's environment
    IdMapping uid;
    IdMapping gid;
    // Unprivileged, the kernel forbids setgroups(2) in the new user namespace, so the sandbox keeps
    // the caller's supplementary groups (documented in docs/security.md).
    bool drop_supplementary_groups = true;
    std::vector<MountStep> mounts;
    bool new_network_namespace = true;
    // Limits: a cgroup of its own where the host allows, else the rlimits below (weaker: per
    // process; see docs/limits.md). Set only for limits the cgroup cannot take.
    bool own_cgroup = false;
    std::optional<std::uint64_t> rlimit_address_space;
    std::optional<std::uint64_t> rlimit_cpu_seconds;
    std::optional<std::uint64_t> rlimit_processes;
    // No core dumps: 0, or 1 where core_pattern pipes them to a program, since the kernel runs that
    // program as host root whatever RLIMIT_CORE is, except for the value 1.
    std::uint64_t rlimit_core = 0;
    SeccompFilters seccomp;  // installed in this order; empty: no filter
};

// Fails with unsupported_config (and the JSON pointer) for any restriction this host cannot
// enforce, and with invalid_config for host-dependent errors (a mount source that does not exist).
Result<Plan> make_plan(const Config& config, const HostCapabilities& host);

}  // namespace resin::sandbox
