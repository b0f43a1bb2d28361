#include "host/exit_report_json.hpp"

#include "host/protocol_mapping.hpp"

namespace resin::host {
namespace {

double microseconds_as_ms(std::uint64_t us) {
    return static_cast<double>(us) / 1000.0;
}

}  // namespace

nlohmann::json exit_report_json(const sandbox::ExitReport& report) {
    const bool signaled = report.signal != 0;
    return {
        {"exit_code", signaled ? nlohmann::json(nullptr) : nlohmann::json(report.exit_code)},
        {"signal", signaled ? nlohmann::json(report.signal) : nlohmann::json(nullptr)},
        {"core_dumped", report.core_dumped},
        {"reason", proto::to_string(exit_reason_of(report.reason))},
        {"detail", report.detail},
        {"usage",
         {
             {"wall_ms", microseconds_as_ms(report.usage.wall_us)},
             {"cpu_user_ms", microseconds_as_ms(report.usage.cpu_user_us)},
             {"cpu_system_ms", microseconds_as_ms(report.usage.cpu_system_us)},
             {"peak_memory_bytes", report.usage.peak_memory_bytes},
             {"peak_processes", report.usage.peak_processes},
         }},
    };
}

}  // namespace resin::host
