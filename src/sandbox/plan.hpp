// An immutable, validated plan of one sandbox, built from a config on this host before any syscall of
// the launch runs. Everything the launcher needs is decided here; a config the host cannot enforce
// never becomes a plan (fail closed).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "sandbox/config.hpp"
#include "sandbox/host_probe.hpp"
#include "sandbox/result.hpp"

namespace resin::sandbox {

struct Plan {
    Config config;
    HostCapabilities host;
    std::vector<std::string> environment;  // NAME=value: exactly the command's environment
};

// Fails with unsupported_config (and the JSON pointer) for any restriction this host cannot enforce,
// and with invalid_config for host-dependent errors (a mount source that does not exist).
Result<Plan> make_plan(const Config& config, const HostCapabilities& host);

// Per config key, the mechanism that enforces it on this host, or "unavailable": the handshake's
// feature list and `resin --features`.
std::vector<std::pair<std::string, std::string>> enforcement_features(const HostCapabilities& host);

}  // namespace resin::sandbox
