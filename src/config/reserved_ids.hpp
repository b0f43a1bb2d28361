// The host ids root resin reserves as the owners of sandboxes' user namespaces
// (sandbox/namespace_owner.hpp), as uids and as gids of the same numbers. A sandbox's identity
// may not be one of them: it would run as the uid that owns another sandbox's namespaces.
#pragma once

#include <cstdint>

namespace resin::sandbox {

inline constexpr std::uint32_t kReservedIdFirst = 0x7FF00000;  // 2146435072
inline constexpr std::uint32_t kReservedIdCount = 65536;
inline constexpr std::uint32_t kReservedIdLast = kReservedIdFirst + kReservedIdCount - 1;

constexpr bool is_reserved_id(std::uint64_t id) {
    return id >= kReservedIdFirst && id <= kReservedIdLast;
}

}  // namespace resin::sandbox
