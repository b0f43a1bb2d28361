// The per-process config: one typed value built from a profile file or the protocol's config field
// (docs/config.md). Every field has a restrictive default; an absent optional limit means "no
// limit".
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace resin::sandbox {

struct Limits {
    std::optional<std::uint64_t> memory_bytes;
    std::optional<double> cpu_cores;
    std::optional<std::uint64_t> cpu_time_ms;
    std::optional<std::uint64_t> wall_time_ms;
    std::optional<std::uint64_t> processes;
    std::optional<std::uint64_t> open_files;
    std::optional<std::uint64_t> file_size_bytes;
    bool operator==(const Limits&) const = default;
};

enum class Access { ro, rw };

// Who owns on the host what the sandbox creates in an rw bind (docs/config.md, "Ownership").
// sandbox: the sandbox's host uid; directory: the directory's owner, through an idmapped mount.
enum class Ownership { sandbox, directory };

struct BindMount {
    std::string path;    // where it appears inside the sandbox (absolute, normalised)
    std::string source;  // the host path; defaults to `path`
    Access access = Access::ro;
    bool optional = false;  // a missing source is skipped instead of refused
    Ownership ownership = Ownership::sandbox;
    bool operator==(const BindMount&) const = default;
};

// Every tmpfs has an inode bound: an empty file costs no size_bytes but about 1 KiB of kernel
// memory. One per 4 KiB page of size lets as many files exist as size_bytes could fill with data,
// and bounds their own memory to a quarter of size_bytes.
constexpr std::uint64_t kTmpfsBytesPerInode = 4096;
constexpr std::uint64_t tmpfs_inodes_for(std::uint64_t size_bytes) {
    return size_bytes / kTmpfsBytesPerInode;
}

struct TmpfsMount {
    std::string path;
    std::uint64_t size_bytes = 0;
    // Files and directories it may hold; absent: one per 4 KiB of size_bytes (tmpfs_inodes_for).
    std::optional<std::uint64_t> inodes;
    bool operator==(const TmpfsMount&) const = default;
};

struct Filesystem {
    std::vector<BindMount> mounts;
    std::vector<TmpfsMount> tmpfs;
    std::string cwd = "/";
    bool operator==(const Filesystem&) const = default;
};

enum class NetworkMode { none, loopback, host };

struct Network {
    NetworkMode mode = NetworkMode::none;
    // The port allowlist. All four absent: no port rule. Any present: nothing leaves or listens
    // outside the four lists, an absent one counting as empty; TCP (MPTCP included) and UDP are
    // the only IP sockets then, and AF_UNIX, AF_INET, AF_INET6 and AF_NETLINK the only families.
    std::optional<std::vector<std::uint16_t>> tcp_connect;
    std::optional<std::vector<std::uint16_t>> tcp_bind;
    std::optional<std::vector<std::uint16_t>> udp_connect;
    std::optional<std::vector<std::uint16_t>> udp_bind;
    bool has_port_allowlist() const {
        return tcp_connect.has_value() || tcp_bind.has_value() || udp_connect.has_value() ||
               udp_bind.has_value();
    }
    bool operator==(const Network&) const = default;
};

enum class SyscallPolicy { default_policy, none };
enum class SyscallAction { kill, errno_eperm, log };

struct Syscalls {
    SyscallPolicy policy = SyscallPolicy::default_policy;
    std::vector<std::string> deny;   // syscall names, removed from the policy
    std::vector<std::string> allow;  // syscall names, added to the policy
    SyscallAction action = SyscallAction::kill;
    bool operator==(const Syscalls&) const = default;
};

struct Env {
    bool clear = true;                       // start from an empty environment
    std::vector<std::string> keep;           // names copied from resin's environment when clearing
    std::map<std::string, std::string> set;  // added last; PATH gets a default when clearing
    bool operator==(const Env&) const = default;
};

struct Identity {
    std::uint32_t uid = 65534;
    std::uint32_t gid = 65534;
    std::string hostname = "sandbox";
    bool operator==(const Identity&) const = default;
};

struct Config {
    Limits limits;
    Filesystem filesystem;
    Network network;
    Syscalls syscalls;
    std::vector<std::string> capabilities;  // upper-case CAP_* names, as in capabilities(7)
    Env env;
    Identity identity;
    bool operator==(const Config&) const = default;
};

inline constexpr const char* kDefaultPath = "/usr/local/bin:/usr/bin:/bin";

// A cleared environment that neither sets nor keeps PATH gets kDefaultPath.
inline bool needs_default_path(const Env& env) {
    return env.clear && env.set.count("PATH") == 0 &&
           std::find(env.keep.begin(), env.keep.end(), "PATH") == env.keep.end();
}

}  // namespace resin::sandbox
