#include "support/configs.hpp"

#include <nlohmann/json.hpp>

namespace resin::test {

std::string runnable_config(const ConfigExtras& extras) {
    nlohmann::json mounts = nlohmann::json::array();
    for (const char* path : {"/usr", "/bin", "/lib"}) {
        mounts.push_back({{"path", path}});
    }
    mounts.push_back({{"path", "/lib64"}, {"optional", true}});
    for (const auto& path : extras.mounts) {
        mounts.push_back({{"path", path}});
    }
    nlohmann::json config = {
        {"filesystem", {{"mounts", mounts}}},
        {"syscalls", {{"policy", "none"}}},
    };
    if (extras.wall_time_ms) {
        config["limits"]["wall_time_ms"] = *extras.wall_time_ms;
    }
    return config.dump();
}

}  // namespace resin::test
