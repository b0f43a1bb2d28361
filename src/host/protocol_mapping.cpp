#include "host/protocol_mapping.hpp"

namespace resin::host {

proto::ExitReason exit_reason_of(sandbox::ExitReason reason) {
    using In = sandbox::ExitReason;
    using Out = proto::ExitReason;
    switch (reason) {
        case In::exited:
            return Out::exited;
        case In::signaled:
            return Out::signaled;
        case In::killed:
            return Out::killed;
        case In::wall_time_limit:
            return Out::wall_time_limit;
        case In::cpu_time_limit:
            return Out::cpu_time_limit;
        case In::memory_limit:
            return Out::memory_limit;
        case In::seccomp:
            return Out::seccomp;
    }
    return Out::signaled;
}

proto::ErrorCode error_code_for(sandbox::ErrorKind kind) {
    using Kind = sandbox::ErrorKind;
    using Code = proto::ErrorCode;
    switch (kind) {
        case Kind::invalid_config:
            return Code::invalid_config;
        case Kind::unsupported_config:
            return Code::unsupported_config;
        case Kind::executable_not_found:
            return Code::executable_not_found;
        case Kind::permission_denied:
            return Code::permission_denied;
        case Kind::spawn_failed:
            return Code::spawn_failed;
        case Kind::internal:
            return Code::internal_error;
    }
    return Code::internal_error;
}

proto::ExitStatus exit_status_of(const sandbox::ExitReport& report, std::uint32_t request_id) {
    proto::ExitStatus status;
    status.request_id = request_id;
    status.reason = exit_reason_of(report.reason);
    status.exit_code = static_cast<std::uint8_t>(report.signal == 0 ? report.exit_code : 0);
    status.signal = static_cast<std::uint8_t>(report.signal);
    status.core_dumped = report.core_dumped;
    status.wall_us = report.usage.wall_us;
    status.cpu_user_us = report.usage.cpu_user_us;
    status.cpu_system_us = report.usage.cpu_system_us;
    status.peak_memory_bytes = report.usage.peak_memory_bytes;
    status.peak_processes = report.usage.peak_processes;
    status.detail = report.detail;
    return status;
}

}  // namespace resin::host
