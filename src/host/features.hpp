// What this resin can enforce on this host, plus facts about resin itself: the HelloReply feature
// list and what `resin --features` prints.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "sandbox/host_probe.hpp"

namespace resin::host {

std::vector<std::pair<std::string, std::string>> feature_list(
    const sandbox::HostCapabilities& host);

}  // namespace resin::host
