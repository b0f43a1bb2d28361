// The names of the exit reasons, by wire value (protocol.md): the one table behind the protocol's
// ExitReason and the sandbox's, which lists the same reasons in the same order (both static_assert
// it). Header-only, so the sandbox library names its reasons without linking the protocol.
#pragma once

#include <cstddef>
#include <iterator>

namespace resin::proto {

inline constexpr const char* kExitReasonNames[] = {
    "exited", "signaled", "killed", "wall_time_limit", "cpu_time_limit", "memory_limit", "seccomp",
};

// "unknown" for a value beyond the table.
constexpr const char* exit_reason_name(std::size_t value) {
    return value < std::size(kExitReasonNames) ? kExitReasonNames[value] : "unknown";
}

}  // namespace resin::proto
