// The config value rules that are more than a type and a range: paths, names, syscalls,
// capabilities. The check_* functions return nullopt for an acceptable value, else the requirement
// it breaks
// ("must ..."), ready to be followed by ", got <value>".
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace resin::sandbox {

// Absolute and normalised: no empty, "." or ".." component, no trailing '/' (except "/"), no NUL,
// shorter than PATH_MAX.
std::optional<std::string> check_path(std::string_view path);

// 1 to 64 characters of [A-Za-z0-9.-], not starting with '-' or '.'.
std::optional<std::string> check_hostname(std::string_view hostname);

// Variable names: non-empty, without '=' or NUL. Values: without NUL.
std::optional<std::string> check_env_name(std::string_view name);
std::optional<std::string> check_env_value(std::string_view value);

// Whether libseccomp knows the name for the native architecture (including its pseudo-syscalls,
// which keep a profile portable across architectures).
bool is_known_syscall(std::string_view name);

// "cap_net_bind_service" or "CAP_NET_BIND_SERVICE" -> "CAP_NET_BIND_SERVICE"; nullopt if the
// name is not a capability name libcap knows.
std::optional<std::string> canonical_capability(std::string_view name);

}  // namespace resin::sandbox
