// An immutable, validated plan of one sandbox, built from a config on this host before any syscall
// of the launch runs. Everything the launcher does is decided here, and each mechanism is given
// only its part; a config the host cannot enforce never becomes a plan (fail closed).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "config/config.hpp"
#include "config/result.hpp"
#include "sandbox/enforcement.hpp"
#include "sandbox/host_probe.hpp"
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

// Each part below is what one mechanism needs, and all it reads: the planner alone reads the
// config and the host's capabilities, and decides.

// identity.cpp: the user namespace's id maps, the uid/gid switch, the hostname.
struct IdentityPart {
    IdMapping uid;
    IdMapping gid;
    // Unprivileged, the kernel forbids setgroups(2) in the new user namespace, so the sandbox keeps
    // the caller's supplementary groups (documented in docs/security.md).
    bool drop_supplementary_groups = true;
    std::string hostname;
};

// mounts.cpp: the sandbox's filesystem.
struct MountsPart {
    std::vector<MountStep> steps;  // made in this order (a parent before its children)
};

// One path Landlock grants rights beneath: everything its ABI handles, or only reading.
struct LandlockPath {
    std::string path;  // inside the sandbox
    bool read_only = true;
};

// landlock.cpp: the command's Landlock ruleset.
struct LandlockPart {
    int abi = 0;                      // 0: no ruleset
    std::vector<LandlockPath> paths;  // beneath each mount (/, /proc and /dev are landlock.cpp's)
    // The port allowlist's second layer for TCP (ABI >= 4): connect and bind only to these ports
    // (and bind to port 0, an ephemeral port).
    bool restrict_tcp = false;
    std::vector<std::uint16_t> tcp_connect;
    std::vector<std::uint16_t> tcp_bind;
    bool scope_signals = false;                // ABI >= 6
    bool scope_abstract_unix_sockets = false;  // ABI >= 6, with a network namespace of its own
};

// capabilities.cpp: the capabilities the command keeps (cap_value_t values).
struct CapabilitiesPart {
    std::vector<int> keep;
};

// network.cpp, socket_allowlist.cpp.
struct NetworkPart {
    bool new_namespace = true;
    bool loopback_up = false;
    // A pooled namespace belongs to a user namespace of the pool's, where a kept CAP_NET_* would
    // mean nothing: then the clone makes the namespace.
    bool may_use_pool = true;
    std::optional<Network> port_allowlist;  // the cgroup BPF programs' rules
};

// cgroup*.cpp: a cgroup of its own where the host allows, with the limits it enforces.
struct CgroupPart {
    bool own = false;
    CgroupLayout layout;
    CgroupSupport support;
    CgroupLimits limits;
};

// rlimits.cpp. Where the cgroup cannot take a limit, its rlimit (weaker: per process; see
// docs/limits.md). No core dumps: 0, or 1 where core_pattern pipes them to a program, since the
// kernel runs that program as host root whatever RLIMIT_CORE is, except for the value 1.
struct RlimitsPart {
    std::uint64_t core = 0;
    std::optional<std::uint64_t> open_files;
    std::optional<std::uint64_t> file_size_bytes;
    std::optional<std::uint64_t> address_space;
    std::optional<std::uint64_t> cpu_seconds;
    std::optional<std::uint64_t> processes;
};

// launcher.cpp's command step: what it runs in.
struct CommandPart {
    std::vector<std::string> environment;  // NAME=value: exactly the command's environment
    std::string cwd;
};

// sandbox.cpp and the host's supervisor: the limits resin enforces by watching.
struct SupervisionPart {
    std::optional<std::uint64_t> wall_time_ms;       // a host timer
    std::optional<std::uint64_t> cpu_time_limit_us;  // the cgroup's CPU time, polled
    unsigned cpu_parallelism = 1;                    // how fast the tree can burn CPU time
    std::optional<std::uint64_t> rlimit_cpu_ns;      // RLIMIT_CPU's kill, to classify the end
};

class Plan {
  public:
    const IdentityPart& identity() const { return identity_; }
    const MountsPart& mounts() const { return mounts_; }
    const LandlockPart& landlock() const { return landlock_; }
    const CapabilitiesPart& capabilities() const { return capabilities_; }
    const NetworkPart& network() const { return network_; }
    const CgroupPart& cgroup() const { return cgroup_; }
    const RlimitsPart& rlimits() const { return rlimits_; }
    const SeccompFilters& seccomp() const { return seccomp_; }  // installed in order; empty: none
    // Whether the filters allow every step the command's process takes after them when they are
    // installed before its start (launcher.cpp: reading the command block, chdir, the rlimits,
    // execve): the default policy does, and what `allow` adds to it or policy "none" installs
    // without a `deny`; a `deny` may name any of those steps, and its filters go last.
    bool seccomp_allows_start_steps() const { return seccomp_allows_start_steps_; }
    const CommandPart& command() const { return command_; }
    const SupervisionPart& supervision() const { return supervision_; }
    const HostCapabilities& host() const { return host_; }

  private:
    friend Result<Plan> make_plan(const Config& config, const HostCapabilities& host);
    // The same plan with the sandbox's host ids reserved for it (mount_ownership.hpp).
    friend Plan with_reserved_ids(const Plan& plan, uid_t reserved);
    Plan() = default;

    IdentityPart identity_;
    MountsPart mounts_;
    LandlockPart landlock_;
    CapabilitiesPart capabilities_;
    NetworkPart network_;
    CgroupPart cgroup_;
    RlimitsPart rlimits_;
    SeccompFilters seccomp_;
    bool seccomp_allows_start_steps_ = false;
    CommandPart command_;
    SupervisionPart supervision_;
    HostCapabilities host_;
};

// Fails with unsupported_config (and the JSON pointer) for any restriction this host cannot
// enforce, and with invalid_config for host-dependent errors (a mount source that does not exist).
Result<Plan> make_plan(const Config& config, const HostCapabilities& host);

}  // namespace resin::sandbox
