// Validates a profile document (a file in config/ or the protocol's StartProcess config field) into
// a Config, reporting every error with its JSON pointer. Pure: no file or environment access.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <variant>
#include <vector>

#include "config/config.hpp"
#include "config/config_error.hpp"

namespace resin::sandbox {

// A Config, or every error found (never empty), in document order.
using ConfigParseResult = std::variant<Config, std::vector<ConfigError>>;

// `source` names the document in each error. Absent and null keys take the defaults of config.hpp;
// unknown keys are errors. `extends` must be a string but is not followed (see profile_loader.hpp).
ConfigParseResult parse_config(const nlohmann::json& doc, const std::string& source);

}  // namespace resin::sandbox
