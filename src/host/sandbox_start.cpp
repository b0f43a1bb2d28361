#include "host/sandbox_start.hpp"

#include <utility>

#include "host/config_source.hpp"

namespace resin::host {
namespace {

ConfigLoad load(const ConfigOrigin& origin) {
    if (const auto* file = std::get_if<ConfigFile>(&origin)) {
        return load_file_config(file->path);
    }
    const auto& request = std::get<ConfigRequest>(origin);
    return load_request_config(request.json_text, request.request_id);
}

}  // namespace

std::variant<PlannedSandbox, StartFailure> prepare_sandbox(const ConfigOrigin& origin,
                                                           const sandbox::HostCapabilities& host,
                                                           const PrepareLaunch& prepare_launch) {
    auto loaded = load(origin);
    if (auto* errors = std::get_if<std::vector<sandbox::ConfigError>>(&loaded)) {
        return StartFailure(std::move(*errors));
    }
    // make_plan checks first: a config this host cannot enforce never becomes a plan.
    auto plan = sandbox::make_plan(std::get<sandbox::Config>(loaded), host);
    if (!plan) {
        return StartFailure(plan.error());
    }
    auto stdio = prepare_launch(plan.value());
    if (!stdio) {
        return StartFailure(stdio.error());
    }
    sandbox::Sandbox::remove_cgroups_when_killed(plan.value());
    auto prepared = sandbox::Sandbox::prepare(plan.value(), stdio.value());
    if (!prepared) {
        return StartFailure(prepared.error());
    }
    return PlannedSandbox{std::move(plan).value(), std::move(prepared).value()};
}

std::variant<PlannedSandbox, StartFailure> start_sandbox(const ConfigOrigin& origin,
                                                         const sandbox::HostCapabilities& host,
                                                         const sandbox::Command& command,
                                                         const PrepareLaunch& prepare_launch) {
    auto prepared = prepare_sandbox(origin, host, prepare_launch);
    if (auto* sandbox = std::get_if<PlannedSandbox>(&prepared)) {
        if (auto started = sandbox->sandbox->start(command); !started) {
            return StartFailure(started.error());
        }
    }
    return prepared;
}

}  // namespace resin::host
