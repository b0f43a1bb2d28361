// The host ids root resin reserves as the owners of sandboxes' user namespaces
// (sandbox/namespace_owner.hpp), as uids and as gids of the same numbers. A sandbox's identity
// may not be one of them: it would run as the uid that owns another sandbox's namespaces.
#pragma once

#include <cstdint>
#include <string>

namespace resin::sandbox {

inline constexpr std::uint32_t kReservedIdFirst = 0x7FF00000;  // 2146435072
inline constexpr std::uint32_t kReservedIdCount = 65536;
inline constexpr std::uint32_t kReservedIdLast = kReservedIdFirst + kReservedIdCount - 1;

constexpr bool is_reserved_id(std::uint64_t id) {
    return id >= kReservedIdFirst && id <= kReservedIdLast;
}

// Why such an id is refused, for the validator's and the plan's errors.
inline std::string reserved_id_range_text() {
    return "between " + std::to_string(kReservedIdFirst) + " and " +
           std::to_string(kReservedIdLast) +
           ", the host ids resin reserves for the owners of sandboxes' namespaces";
}

}  // namespace resin::sandbox
