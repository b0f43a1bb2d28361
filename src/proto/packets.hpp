// The packets of the shellac protocol, version 3 (docs/protocol.md), as plain values. Version 2
// sessions use the same packets minus Prepare, Start and Prepared; version 1 sessions lack
// SetShutdownGrace and StdinCredit too (exists_in_version).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace resin::proto {

// The newest version resin speaks; it accepts every version from kOldestProtocolVersion on.
inline constexpr std::uint32_t kProtocolVersion = 3;
inline constexpr std::uint32_t kOldestProtocolVersion = 1;
// The stdin credit resin grants a v2 client right after ProcessStarted, and the most it ever
// queues for the child's stdin.
inline constexpr std::uint32_t kStdinWindow = 1024 * 1024;
// SetShutdownGrace above this is invalid_request; without one, resin waits kDefaultShutdownGraceMs.
inline constexpr std::uint32_t kMaxShutdownGraceMs = 3'600'000;
inline constexpr std::uint32_t kDefaultShutdownGraceMs = 5000;
inline constexpr std::uint32_t kMaxPacketSize = 1024 * 1024;
inline constexpr std::size_t kLengthPrefixSize = 4;
inline constexpr std::size_t kHeaderSize = 1 + 4;  // type + request id

enum class PacketType : std::uint8_t {
    hello = 0x01,
    start_process = 0x02,
    kill_process = 0x03,
    stop_process = 0x04,
    data_in = 0x05,
    close_stdin = 0x06,
    grant_credit = 0x07,
    set_shutdown_grace = 0x08,
    prepare = 0x09,
    start = 0x0a,
    hello_reply = 0x81,
    process_started = 0x82,
    data_out = 0x83,
    exit_status = 0x84,
    error_report = 0x85,
    stdin_credit = 0x86,
    prepared = 0x87,
};

enum class Stream : std::uint8_t { stdout_stream = 1, stderr_stream = 2 };

enum class ExitReason : std::uint8_t {
    exited = 0,
    signaled = 1,
    killed = 2,
    wall_time_limit = 3,
    cpu_time_limit = 4,
    memory_limit = 5,
    seccomp = 6,
};
inline constexpr std::uint8_t kLastExitReason = 6;

enum class ErrorCode : std::uint16_t {
    malformed_packet = 1,
    packet_too_large = 2,
    unknown_packet_type = 3,
    version_mismatch = 4,
    unexpected_packet = 5,
    invalid_request = 6,
    invalid_config = 7,
    unsupported_config = 8,
    executable_not_found = 9,
    permission_denied = 10,
    spawn_failed = 11,
    no_process = 12,
    stdin_closed = 13,
    stdin_overflow = 14,
    internal_error = 15,
    stdin_broken = 16,
};
inline constexpr std::uint16_t kLastErrorCode = 16;

// Client -> resin.
struct Hello {
    std::uint32_t request_id = 0;
    std::uint32_t version = kProtocolVersion;
    bool operator==(const Hello&) const = default;
};

struct StartProcess {
    std::uint32_t request_id = 0;
    std::string executable;
    std::vector<std::string> args;
    std::string config;
    bool operator==(const StartProcess&) const = default;
};

struct KillProcess {
    std::uint32_t request_id = 0;
    std::uint8_t signal = 0;
    bool operator==(const KillProcess&) const = default;
};

struct StopProcess {
    std::uint32_t request_id = 0;
    std::uint32_t grace_ms = 0;
    bool operator==(const StopProcess&) const = default;
};

struct DataIn {
    std::uint32_t request_id = 0;
    std::string data;
    bool operator==(const DataIn&) const = default;
};

struct CloseStdin {
    std::uint32_t request_id = 0;
    bool operator==(const CloseStdin&) const = default;
};

struct GrantCredit {
    std::uint32_t request_id = 0;
    std::uint32_t bytes = 0;
    bool operator==(const GrantCredit&) const = default;
};

// Since version 2.
struct SetShutdownGrace {
    std::uint32_t request_id = 0;
    std::uint32_t grace_ms = 0;
    bool operator==(const SetShutdownGrace&) const = default;
};

// Since version 3. Builds the sandbox `config` describes (the same JSON as StartProcess's config),
// without a command.
struct Prepare {
    std::uint32_t request_id = 0;
    std::string config;
    bool operator==(const Prepare&) const = default;
};

// Since version 3. Runs a command in the prepared sandbox. `env` entries are applied after the
// config's env: "NAME=VALUE" sets NAME, "NAME" removes it. An empty `cwd` is the config's
// filesystem.cwd.
struct Start {
    std::uint32_t request_id = 0;
    std::string executable;
    std::vector<std::string> args;
    std::vector<std::string> env;
    std::string cwd;
    bool operator==(const Start&) const = default;
};

// resin -> client.
struct HelloReply {
    std::uint32_t request_id = 0;
    std::uint32_t version = kProtocolVersion;
    std::vector<std::pair<std::string, std::string>> features;
    bool operator==(const HelloReply&) const = default;
};

struct ProcessStarted {
    std::uint32_t request_id = 0;
    std::uint32_t os_pid = 0;
    bool operator==(const ProcessStarted&) const = default;
};

struct DataOut {
    std::uint32_t request_id = 0;
    Stream stream = Stream::stdout_stream;
    std::string data;
    bool operator==(const DataOut&) const = default;
};

struct ExitStatus {
    std::uint32_t request_id = 0;
    ExitReason reason = ExitReason::exited;
    std::uint8_t exit_code = 0;
    std::uint8_t signal = 0;
    bool core_dumped = false;
    std::uint64_t wall_us = 0;
    std::uint64_t cpu_user_us = 0;
    std::uint64_t cpu_system_us = 0;
    std::uint64_t peak_memory_bytes = 0;
    std::uint32_t peak_processes = 0;
    std::string detail;
    bool operator==(const ExitStatus&) const = default;
};

struct ErrorReport {
    std::uint32_t request_id = 0;
    ErrorCode code = ErrorCode::internal_error;
    bool fatal = false;
    std::string message;
    std::string json_pointer;
    bool operator==(const ErrorReport&) const = default;
};

// Since version 2.
struct StdinCredit {
    std::uint32_t request_id = 0;
    std::uint32_t bytes = 0;
    bool operator==(const StdinCredit&) const = default;
};

// Since version 3. The sandbox of the Prepare with this request id is built.
struct Prepared {
    std::uint32_t request_id = 0;
    bool operator==(const Prepared&) const = default;
};

using Packet =
    std::variant<Hello, StartProcess, KillProcess, StopProcess, DataIn, CloseStdin, GrantCredit,
                 SetShutdownGrace, Prepare, Start, HelloReply, ProcessStarted, DataOut, ExitStatus,
                 ErrorReport, StdinCredit, Prepared>;

// The versions resin speaks, for messages: "1, 2 and 3".
std::string spoken_versions();

// Whether a packet of this type exists in a session of `version` (1 lacks the v2 packets, 1 and 2
// the v3 ones).
bool exists_in_version(PacketType type, std::uint32_t version);

PacketType packet_type(const Packet& packet);
std::uint32_t request_id(const Packet& packet);

// Stable lower-case names, as used in docs/protocol.md, `--report` JSON and lacca's atoms.
const char* to_string(PacketType type);
const char* to_string(ExitReason reason);
const char* to_string(ErrorCode code);

}  // namespace resin::proto
