// Where resin gets a Config: a profile file (CLI) or a StartProcess config field (port), both
// through the profile loader with resin's own search path for `extends`.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <variant>
#include <vector>

#include "config/config.hpp"
#include "config/config_error.hpp"

namespace resin::host {

// A Config, or every error found (never empty).
using ConfigLoad = std::variant<sandbox::Config, std::vector<sandbox::ConfigError>>;

ConfigLoad load_file_config(const std::string& path);
ConfigLoad load_request_config(const std::string& json_text, std::uint32_t request_id);

// The effective config as a profile document (`resin --check-config`).
nlohmann::json effective_config_json(const sandbox::Config& config);

}  // namespace resin::host
