// Which mechanism enforces each config key on this host. The one table behind both the fail-closed
// check of a config and the feature list resin advertises.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "config/config.hpp"
#include "config/result.hpp"
#include "sandbox/host_probe.hpp"

namespace resin::sandbox {

inline constexpr const char* kUnavailable = "unavailable";

// Refuses (unsupported_config, with the key's JSON pointer) the first restriction the config sets
// that nothing on this host can enforce.
Result<void> check_enforceable(const Config& config, const HostCapabilities& host);

// Each key's mechanism, then cgroup.version and, when resin can use no cgroup,
// cgroup.unavailable_because.
std::vector<std::pair<std::string, std::string>> enforcement_features(const HostCapabilities& host);

// For the restrictions `config` sets: the key and what enforces it on this host (resin
// --check-config shows it).
std::vector<std::pair<std::string, std::string>> enforcement_of(const Config& config,
                                                                const HostCapabilities& host);

}  // namespace resin::sandbox
