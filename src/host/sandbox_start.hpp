// The one way resin builds a sandbox, for the port session and the CLI alike: load the config,
// plan it on this host (refusing what the host cannot enforce), prepare the sandbox, and start the
// command in it, at once or when a Start arrives.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "config/config_error.hpp"
#include "config/result.hpp"
#include "sandbox/host_probe.hpp"
#include "sandbox/plan.hpp"
#include "sandbox/sandbox.hpp"

namespace resin::host {

// Where the config comes from: a profile file (CLI) or a StartProcess or Prepare config field
// (port).
struct ConfigFile {
    std::string path;
};
struct ConfigRequest {
    std::string json_text;
    std::uint32_t request_id = 0;
};
using ConfigOrigin = std::variant<ConfigFile, ConfigRequest>;

// Called once the plan is made, just before the launch: the command's stdio (the port's pipes
// belong to the sandbox's uid on the host) and whatever else the caller sets up only for a sandbox
// that will start. Its error ends the start.
using PrepareLaunch = std::function<sandbox::Result<sandbox::Stdio>(const sandbox::Plan&)>;

struct PlannedSandbox {
    sandbox::Plan plan;
    std::unique_ptr<sandbox::Sandbox> sandbox;
};

// The config's errors (never empty), or why planning or launching failed.
using StartFailure = std::variant<std::vector<sandbox::ConfigError>, sandbox::Error>;

// A sandbox whose init waits for its command (Sandbox::start).
std::variant<PlannedSandbox, StartFailure> prepare_sandbox(const ConfigOrigin& origin,
                                                           const sandbox::HostCapabilities& host,
                                                           const PrepareLaunch& prepare_launch);

// prepare_sandbox, then the command.
std::variant<PlannedSandbox, StartFailure> start_sandbox(const ConfigOrigin& origin,
                                                         const sandbox::HostCapabilities& host,
                                                         const sandbox::Command& command,
                                                         const PrepareLaunch& prepare_launch);

}  // namespace resin::host
