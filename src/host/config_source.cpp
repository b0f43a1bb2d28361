#include "host/config_source.hpp"

#include "config/config_to_json.hpp"
#include "config/profile_loader.hpp"

namespace resin::host {
namespace {

ConfigLoad config_of(sandbox::ConfigLoadResult loaded) {
    if (auto* errors = std::get_if<std::vector<sandbox::ConfigError>>(&loaded)) {
        return std::move(*errors);
    }
    return std::get<sandbox::LoadedConfig>(std::move(loaded)).config;
}

}  // namespace

ConfigLoad load_file_config(const std::string& path) {
    return config_of(sandbox::load_config_file(path, sandbox::default_search_path()));
}

ConfigLoad load_request_config(const std::string& json_text, std::uint32_t request_id) {
    return config_of(sandbox::load_config_text(
        json_text, "config field of request " + std::to_string(request_id),
        sandbox::default_search_path()));
}

nlohmann::json effective_config_json(const sandbox::Config& config) {
    return sandbox::to_json(config);
}

}  // namespace resin::host
