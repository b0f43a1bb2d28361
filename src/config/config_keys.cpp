#include "config/config_keys.hpp"

#include <array>

namespace resin::sandbox {
namespace {

constexpr std::array<std::string_view, 45> kKeyPatterns = {
    "/$schema",
    "/description",
    "/extends",
    "/limits",
    "/limits/memory_bytes",
    "/limits/cpu_cores",
    "/limits/cpu_time_ms",
    "/limits/wall_time_ms",
    "/limits/processes",
    "/limits/open_files",
    "/limits/file_size_bytes",
    "/filesystem",
    "/filesystem/mounts",
    "/filesystem/mounts/*/path",
    "/filesystem/mounts/*/source",
    "/filesystem/mounts/*/access",
    "/filesystem/mounts/*/optional",
    "/filesystem/mounts/*/ownership",
    "/filesystem/mounts/*/remove",
    "/filesystem/tmpfs",
    "/filesystem/tmpfs/*/path",
    "/filesystem/tmpfs/*/size_bytes",
    "/filesystem/tmpfs/*/inodes",
    "/filesystem/tmpfs/*/remove",
    "/filesystem/cwd",
    "/network",
    "/network/mode",
    "/network/tcp_connect",
    "/network/tcp_bind",
    "/network/udp_connect",
    "/network/udp_bind",
    "/syscalls",
    "/syscalls/policy",
    "/syscalls/deny",
    "/syscalls/allow",
    "/syscalls/action",
    "/capabilities",
    "/env",
    "/env/clear",
    "/env/keep",
    "/env/set",
    "/identity",
    "/identity/uid",
    "/identity/gid",
    "/identity/hostname",
};

}  // namespace

std::span<const std::string_view> config_key_patterns() {
    return kKeyPatterns;
}

}  // namespace resin::sandbox
