#include "support/configs.hpp"

#include <nlohmann/json.hpp>

namespace resin::test {

std::string default_profile_json(const ConfigExtras& extras) {
    nlohmann::json config = {{"extends", "default"}};
    if (!extras.mounts.empty()) {
        // A merge patch replaces the profile's whole list: name the system directories again.
        nlohmann::json mounts = nlohmann::json::array();
        for (const char* path : {"/usr", "/bin", "/lib", "/lib64"}) {
            mounts.push_back({{"path", path}, {"optional", true}});
        }
        for (const auto& path : extras.mounts) {
            mounts.push_back({{"path", path}});
        }
        config["filesystem"]["mounts"] = mounts;
    }
    for (const auto& [key, limit] : {std::pair{"wall_time_ms", extras.wall_time_ms},
                                     std::pair{"cpu_time_ms", extras.cpu_time_ms},
                                     std::pair{"memory_bytes", extras.memory_bytes}}) {
        if (limit) {
            config["limits"][key] = *limit;
        }
    }
    return config.dump();
}

}  // namespace resin::test
