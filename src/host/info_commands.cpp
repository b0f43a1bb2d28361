#include "host/info_commands.hpp"

#include <cstdio>
#include <variant>
#include <vector>

#include "host/config_source.hpp"
#include "host/exit_codes.hpp"
#include "host/features.hpp"

namespace resin::host {

int check_config(const std::string& path) {
    auto loaded = load_file_config(path);
    if (auto* errors = std::get_if<std::vector<sandbox::ConfigError>>(&loaded)) {
        for (const auto& error : *errors) {
            std::fprintf(stderr, "%s\n", sandbox::format(error).c_str());
        }
        return kExitConfigInvalid;
    }
    std::printf("%s\n", effective_config_json(std::get<sandbox::Config>(loaded)).dump(2).c_str());
    return kExitOk;
}

int print_features() {
    for (const auto& [key, mechanism] : feature_list(sandbox::probe_host())) {
        std::printf("%s\t%s\n", key.c_str(), mechanism.c_str());
    }
    return kExitOk;
}

}  // namespace resin::host
