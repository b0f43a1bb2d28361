// Where resin gets a Config: a profile file (CLI) or a StartProcess config field (port). The one
// seam between the host and the config loader.
//
// PLACEHOLDER until the config loader (branch `config`) is merged: it reads `extends: "default"`
// (meaning the built-in defaults), limits.wall_time_ms, filesystem.mounts and syscalls.policy, the
// subset the launcher on main can run, and refuses every other key with an error naming its JSON
// pointer. ConfigError mirrors sandbox::ConfigError so the swap changes no caller.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <variant>
#include <vector>

#include "sandbox/config.hpp"

namespace resin::host {

struct ConfigError {
    std::string source;   // the file path, or "config field of request N"
    std::string pointer;  // RFC 6901 pointer of the offending value; "" for the whole document
    std::string message;
};

// "<source>: <pointer>: <message>", or "<source>: <message>" when the pointer is empty.
std::string format(const ConfigError& error);

// A Config, or every error found (never empty).
using ConfigLoad = std::variant<sandbox::Config, std::vector<ConfigError>>;

ConfigLoad load_file_config(const std::string& path);
ConfigLoad load_request_config(const std::string& json_text, std::uint32_t request_id);

// The effective config as a profile document (`resin --check-config`).
nlohmann::json effective_config_json(const sandbox::Config& config);

}  // namespace resin::host
