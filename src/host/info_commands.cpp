#include "host/info_commands.hpp"

#include <cstdio>
#include <variant>
#include <vector>

#include "host/config_source.hpp"
#include "host/exit_codes.hpp"
#include "host/features.hpp"
#include "sandbox/enforcement.hpp"
#include "sandbox/plan.hpp"

namespace resin::host {

int check_config(const std::string& path) {
    auto loaded = load_file_config(path);
    if (auto* errors = std::get_if<std::vector<sandbox::ConfigError>>(&loaded)) {
        for (const auto& error : *errors) {
            std::fprintf(stderr, "%s\n", sandbox::format(error).c_str());
        }
        return kExitConfigInvalid;
    }
    const auto& config = std::get<sandbox::Config>(loaded);
    // Valid is not enough: a restriction this host cannot enforce would be refused at launch.
    const sandbox::HostCapabilities host = sandbox::probe_host();
    if (auto plan = sandbox::make_plan(config, host); !plan) {
        const auto& error = plan.error();
        std::fprintf(stderr, "%s: %s%s\n", path.c_str(),
                     error.pointer.empty() ? "" : (error.pointer + ": ").c_str(),
                     error.message.c_str());
        return kExitConfigInvalid;
    }
    std::printf("%s\n", effective_config_json(config).dump(2).c_str());
    for (const auto& [key, mechanism] : sandbox::enforcement_of(config, host)) {
        std::fprintf(stderr, "%s: enforced by %s\n", key.c_str(), mechanism.c_str());
    }
    return kExitOk;
}

int print_features() {
    for (const auto& [key, mechanism] : feature_list(sandbox::probe_host())) {
        std::printf("%s\t%s\n", key.c_str(), mechanism.c_str());
    }
    return kExitOk;
}

}  // namespace resin::host
