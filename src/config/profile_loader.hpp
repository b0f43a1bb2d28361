// Loads a profile and the chain of profiles it `extends`, merges them (RFC 7396 JSON Merge Patch,
// child onto parent) and validates the result (docs/config.md). Does the file I/O that
// parse_config() leaves out.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "config/config.hpp"
#include "config/config_error.hpp"
#include "config/profile_search_path.hpp"

namespace resin::sandbox {

// At most this many `extends` are followed from the document being loaded.
inline constexpr std::size_t kMaxExtendsDepth = 16;
// A profile file larger than this is refused rather than read.
inline constexpr std::size_t kMaxProfileBytes = 1024 * 1024;

struct LoadedConfig {
    Config config;
    nlohmann::json merged;  // the whole chain merged, without `extends` (before defaults apply)
};

// A LoadedConfig, or every error found (never empty). Each document of the chain is validated on
// its own first, so an error names the file that has it; then the merged document.
using ConfigLoadResult = std::variant<LoadedConfig, std::vector<ConfigError>>;

ConfigLoadResult load_config_file(const std::filesystem::path& path, const SearchPath& search_path);

// A document that did not come from a file (the protocol's config field): `source` names it in
// errors, and its `extends` may not be a relative path.
ConfigLoadResult load_config_text(std::string_view json_text, const std::string& source,
                                  const SearchPath& search_path);

}  // namespace resin::sandbox
