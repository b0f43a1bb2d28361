// How a sandbox ended, as the JSON object `resin --report` writes (docs/host.md).
#pragma once

#include <nlohmann/json.hpp>

#include "sandbox/exit_report.hpp"

namespace resin::host {

nlohmann::json exit_report_json(const sandbox::ExitReport& report);

}  // namespace resin::host
