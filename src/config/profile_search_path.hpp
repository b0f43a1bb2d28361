// Where `"extends": "<name>"` looks for <name>.json: an ordered list of directories.
#pragma once

#include <filesystem>
#include <optional>
#include <string_view>
#include <vector>

namespace resin::sandbox {

struct SearchPath {
    std::vector<std::filesystem::path> dirs;  // tried in order; the first that has the file wins
    bool operator==(const SearchPath&) const = default;
};

// The search path of the running resin: the directories of $RESIN_PROFILE_PATH, then
// <directory of the resin executable>/config, then <that directory>/../share/resin/config (the
// installed layout), then the source tree's config/ (RESIN_SOURCE_CONFIG_DIR).
SearchPath default_search_path();

// default_search_path() from explicit inputs. `profile_path_env` is colon-separated (empty entries
// are skipped); `executable` is the resin binary, if known.
SearchPath make_search_path(std::string_view profile_path_env,
                            const std::optional<std::filesystem::path>& executable,
                            const std::filesystem::path& source_config_dir);

// The first <dir>/<name>.json that exists.
std::optional<std::filesystem::path> find_profile(const SearchPath& search_path,
                                                  std::string_view name);

}  // namespace resin::sandbox
