#include "proto/packets.hpp"

#include <iterator>

#include "proto/exit_reason_names.hpp"

namespace resin::proto {
namespace {

template <typename T>
struct TypeOf;
template <>
struct TypeOf<Hello> : std::integral_constant<PacketType, PacketType::hello> {};
template <>
struct TypeOf<StartProcess> : std::integral_constant<PacketType, PacketType::start_process> {};
template <>
struct TypeOf<KillProcess> : std::integral_constant<PacketType, PacketType::kill_process> {};
template <>
struct TypeOf<StopProcess> : std::integral_constant<PacketType, PacketType::stop_process> {};
template <>
struct TypeOf<DataIn> : std::integral_constant<PacketType, PacketType::data_in> {};
template <>
struct TypeOf<CloseStdin> : std::integral_constant<PacketType, PacketType::close_stdin> {};
template <>
struct TypeOf<GrantCredit> : std::integral_constant<PacketType, PacketType::grant_credit> {};
template <>
struct TypeOf<SetShutdownGrace>
    : std::integral_constant<PacketType, PacketType::set_shutdown_grace> {};
template <>
struct TypeOf<Prepare> : std::integral_constant<PacketType, PacketType::prepare> {};
template <>
struct TypeOf<Start> : std::integral_constant<PacketType, PacketType::start> {};
template <>
struct TypeOf<Prepared> : std::integral_constant<PacketType, PacketType::prepared> {};
template <>
struct TypeOf<StdinCredit> : std::integral_constant<PacketType, PacketType::stdin_credit> {};
template <>
struct TypeOf<HelloReply> : std::integral_constant<PacketType, PacketType::hello_reply> {};
template <>
struct TypeOf<ProcessStarted> : std::integral_constant<PacketType, PacketType::process_started> {};
template <>
struct TypeOf<DataOut> : std::integral_constant<PacketType, PacketType::data_out> {};
template <>
struct TypeOf<ExitStatus> : std::integral_constant<PacketType, PacketType::exit_status> {};
template <>
struct TypeOf<ErrorReport> : std::integral_constant<PacketType, PacketType::error_report> {};

}  // namespace

PacketType packet_type(const Packet& packet) {
    return std::visit([](const auto& p) { return TypeOf<std::decay_t<decltype(p)>>::value; },
                      packet);
}

bool exists_in_version(PacketType type, std::uint32_t version) {
    switch (type) {
        case PacketType::set_shutdown_grace:
        case PacketType::stdin_credit:
            return version >= 2;
        case PacketType::prepare:
        case PacketType::start:
        case PacketType::prepared:
            return version >= 3;
        default:
            return true;
    }
}

std::string spoken_versions() {
    std::string versions = std::to_string(kOldestProtocolVersion);
    for (std::uint32_t version = kOldestProtocolVersion + 1; version <= kProtocolVersion;
         ++version) {
        versions += (version == kProtocolVersion ? " and " : ", ") + std::to_string(version);
    }
    return versions;
}

std::uint32_t request_id(const Packet& packet) {
    return std::visit([](const auto& p) { return p.request_id; }, packet);
}

const char* to_string(PacketType type) {
    switch (type) {
        case PacketType::hello:
            return "hello";
        case PacketType::start_process:
            return "start_process";
        case PacketType::kill_process:
            return "kill_process";
        case PacketType::stop_process:
            return "stop_process";
        case PacketType::data_in:
            return "data_in";
        case PacketType::close_stdin:
            return "close_stdin";
        case PacketType::grant_credit:
            return "grant_credit";
        case PacketType::set_shutdown_grace:
            return "set_shutdown_grace";
        case PacketType::prepare:
            return "prepare";
        case PacketType::start:
            return "start";
        case PacketType::hello_reply:
            return "hello_reply";
        case PacketType::process_started:
            return "process_started";
        case PacketType::data_out:
            return "data_out";
        case PacketType::exit_status:
            return "exit_status";
        case PacketType::error_report:
            return "error_report";
        case PacketType::stdin_credit:
            return "stdin_credit";
        case PacketType::prepared:
            return "prepared";
    }
    return "unknown";
}

static_assert(std::size(kExitReasonNames) == kLastExitReason + 1);

const char* to_string(ExitReason reason) {
    return exit_reason_name(static_cast<std::size_t>(reason));
}

const char* to_string(ErrorCode code) {
    switch (code) {
        case ErrorCode::malformed_packet:
            return "malformed_packet";
        case ErrorCode::packet_too_large:
            return "packet_too_large";
        case ErrorCode::unknown_packet_type:
            return "unknown_packet_type";
        case ErrorCode::version_mismatch:
            return "version_mismatch";
        case ErrorCode::unexpected_packet:
            return "unexpected_packet";
        case ErrorCode::invalid_request:
            return "invalid_request";
        case ErrorCode::invalid_config:
            return "invalid_config";
        case ErrorCode::unsupported_config:
            return "unsupported_config";
        case ErrorCode::executable_not_found:
            return "executable_not_found";
        case ErrorCode::permission_denied:
            return "permission_denied";
        case ErrorCode::spawn_failed:
            return "spawn_failed";
        case ErrorCode::no_process:
            return "no_process";
        case ErrorCode::stdin_closed:
            return "stdin_closed";
        case ErrorCode::stdin_overflow:
            return "stdin_overflow";
        case ErrorCode::internal_error:
            return "internal_error";
        case ErrorCode::stdin_broken:
            return "stdin_broken";
    }
    return "unknown";
}

}  // namespace resin::proto
