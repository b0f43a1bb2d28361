// Sandbox values as protocol values: error kinds as ErrorReport codes, an ExitReport as ExitStatus.
#pragma once

#include <cstdint>

#include "config/result.hpp"
#include "proto/packets.hpp"
#include "sandbox/exit_report.hpp"

namespace resin::host {

proto::ErrorCode error_code_for(sandbox::ErrorKind kind);

proto::ExitReason exit_reason_of(sandbox::ExitReason reason);

proto::ExitStatus exit_status_of(const sandbox::ExitReport& report, std::uint32_t request_id);

}  // namespace resin::host
