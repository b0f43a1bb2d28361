// The JSON spelling of every config enumeration, in one place: the parser, to_json and the tests
// all use these tables.
#pragma once

#include <array>
#include <optional>
#include <span>
#include <string_view>

#include "config/config.hpp"

namespace resin::sandbox {

template <typename Enum>
struct EnumName {
    Enum value;
    std::string_view name;
};

inline constexpr std::array kAccessNames = {
    EnumName<Access>{Access::ro, "ro"},
    EnumName<Access>{Access::rw, "rw"},
};

inline constexpr std::array kOwnershipNames = {
    EnumName<Ownership>{Ownership::sandbox, "sandbox"},
    EnumName<Ownership>{Ownership::directory, "directory"},
};

inline constexpr std::array kNetworkModeNames = {
    EnumName<NetworkMode>{NetworkMode::none, "none"},
    EnumName<NetworkMode>{NetworkMode::loopback, "loopback"},
    EnumName<NetworkMode>{NetworkMode::host, "host"},
};

inline constexpr std::array kSyscallPolicyNames = {
    EnumName<SyscallPolicy>{SyscallPolicy::default_policy, "default"},
    EnumName<SyscallPolicy>{SyscallPolicy::none, "none"},
};

inline constexpr std::array kSyscallActionNames = {
    EnumName<SyscallAction>{SyscallAction::kill, "kill"},
    EnumName<SyscallAction>{SyscallAction::errno_eperm, "errno"},
    EnumName<SyscallAction>{SyscallAction::log, "log"},
};

// Overloaded on the enum type so that the templates below find the right table.
constexpr std::span<const EnumName<Access>> enum_names(Access) {
    return kAccessNames;
}
constexpr std::span<const EnumName<Ownership>> enum_names(Ownership) {
    return kOwnershipNames;
}
constexpr std::span<const EnumName<NetworkMode>> enum_names(NetworkMode) {
    return kNetworkModeNames;
}
constexpr std::span<const EnumName<SyscallPolicy>> enum_names(SyscallPolicy) {
    return kSyscallPolicyNames;
}
constexpr std::span<const EnumName<SyscallAction>> enum_names(SyscallAction) {
    return kSyscallActionNames;
}

template <typename Enum>
constexpr std::span<const EnumName<Enum>> enum_names() {
    return enum_names(Enum{});
}

template <typename Enum>
constexpr std::string_view enum_to_name(Enum value) {
    for (const auto& entry : enum_names<Enum>()) {
        if (entry.value == value) {
            return entry.name;
        }
    }
    return {};
}

template <typename Enum>
constexpr std::optional<Enum> enum_from_name(std::string_view name) {
    for (const auto& entry : enum_names<Enum>()) {
        if (entry.name == name) {
            return entry.value;
        }
    }
    return std::nullopt;
}

}  // namespace resin::sandbox
