// Configs for tests.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace resin::test {

struct ConfigExtras {
    std::vector<std::string> mounts{};  // more host directories, read-only at the same path
    std::optional<std::uint64_t> wall_time_ms{};
    std::optional<std::uint64_t> cpu_time_ms{};
    std::optional<std::uint64_t> memory_bytes{};
};

// The host's /usr, /bin, /lib and /lib64 read-only, and no syscall filter (the seccomp layer has
// not landed, and a config asking for one is refused rather than run unfiltered).
std::string default_profile_json(const ConfigExtras& extras = {});

}  // namespace resin::test
