// The complete effective config as a profile document (what `resin --check-config` prints).
#pragma once

#include <nlohmann/json.hpp>

#include "config/config.hpp"

namespace resin::sandbox {

// Every field, defaults included; optional limits and port lists only when set. For any Config that
// parse_config() produced, parse_config(to_json(config)) yields that same Config.
nlohmann::json to_json(const Config& config);

}  // namespace resin::sandbox
