#include "config/profile_search_path.hpp"

#include <cstdlib>
#include <string>
#include <system_error>

namespace resin::sandbox {

SearchPath default_search_path() {
    const char* env = std::getenv("RESIN_PROFILE_PATH");
    std::error_code error;
    const std::filesystem::path executable = std::filesystem::read_symlink("/proc/self/exe", error);
    return make_search_path(env == nullptr ? "" : env,
                            error ? std::nullopt : std::optional(executable),
                            RESIN_SOURCE_CONFIG_DIR);
}

SearchPath make_search_path(std::string_view profile_path_env,
                            const std::optional<std::filesystem::path>& executable,
                            const std::filesystem::path& source_config_dir) {
    SearchPath search_path;
    while (!profile_path_env.empty()) {
        const std::size_t end = std::min(profile_path_env.find(':'), profile_path_env.size());
        if (end > 0) {
            search_path.dirs.emplace_back(profile_path_env.substr(0, end));
        }
        profile_path_env.remove_prefix(std::min(end + 1, profile_path_env.size()));
    }
    if (executable) {
        const std::filesystem::path bin_dir = executable->parent_path();
        search_path.dirs.push_back(bin_dir / "config");
        search_path.dirs.push_back(
            (bin_dir / ".." / "share" / "resin" / "config").lexically_normal());
    }
    search_path.dirs.push_back(source_config_dir);
    return search_path;
}

std::optional<std::filesystem::path> find_profile(const SearchPath& search_path,
                                                  std::string_view name) {
    for (const auto& dir : search_path.dirs) {
        std::filesystem::path candidate = dir / (std::string(name) + ".json");
        std::error_code error;
        if (std::filesystem::exists(candidate, error)) {
            return candidate;
        }
    }
    return std::nullopt;
}

}  // namespace resin::sandbox
