#include "host/port_session.hpp"

#include <algorithm>
#include <boost/asio/buffer.hpp>
#include <chrono>
#include <variant>

#include "host/exit_codes.hpp"
#include "host/failure.hpp"
#include "host/features.hpp"
#include "host/output_forwarder.hpp"
#include "host/pipes.hpp"
#include "host/protocol_mapping.hpp"
#include "host/sandbox_start.hpp"
#include "host/stdin_feeder.hpp"
#include "host/supervisor.hpp"
#include "proto/codec.hpp"
#include "sandbox/netns_pool.hpp"
#include "sandbox/plan.hpp"
#include "sandbox/sandbox.hpp"

namespace resin::host {
namespace {

constexpr std::size_t kReadBufferSize = 64 * 1024;
// Replies waiting for a client that does not read: beyond this, resin stops reading its requests.
constexpr std::size_t kMaxQueuedReplyBytes = 1024 * 1024;
constexpr int kMaxSignal = 64;
// After the client left: how long resin may outlive the shutdown grace (SIGKILL, reaping).
constexpr std::chrono::seconds kShutdownBound{2};
// After a fatal error: how long resin waits for the client to take what was queued and the
// ErrorReport before it exits all the same.
constexpr std::chrono::seconds kFatalReportBound{2};

bool contains_nul(const std::string& text) {
    return text.find('\0') != std::string::npos;
}

}  // namespace

// A sandbox whose init waits for its command, and the command's stdio pipes.
struct PortSession::Prepared {
    PlannedSandbox sandbox;
    ChildStdioPipes pipes;
};

struct PortSession::Process {
    Process(boost::asio::io_context& io, PortSession& session, std::uint32_t id,
            std::unique_ptr<sandbox::Sandbox> launched, ChildStdioPipes& pipes,
            const sandbox::SupervisionPart& supervision)
        : request_id(id),
          sandbox(std::move(launched)),
          stdin_feeder(io, std::move(pipes.in.write),
                       session.is_v2() ? proto::kStdinWindow : kMaxQueuedStdinBytes,
                       {[&session](std::size_t bytes) { session.on_stdin_written(bytes); },
                        [&session](std::size_t discarded) { session.on_stdin_broken(discarded); }}),
          output(io, session.writer_, session.credit_, id, std::move(pipes.out.read),
                 std::move(pipes.err.read), [&session] { session.on_output_ended(); }),
          supervisor(io, *sandbox, supervision, [&session](sandbox::ExitReport report) {
              session.on_process_exit(std::move(report));
          }) {}

    std::uint32_t request_id;
    std::unique_ptr<sandbox::Sandbox> sandbox;
    StdinFeeder stdin_feeder;
    OutputForwarder output;
    Supervisor supervisor;
    std::optional<sandbox::ExitReport> exit_report;
    bool output_ended = false;
    bool needs_network_namespace = false;  // so the namespace pool wants a refill afterwards
};

PortSession::PortSession(boost::asio::io_context& io, PortFds port, sandbox::HostCapabilities host)
    : io_(io),
      host_(host),
      writer_(io, std::move(port.out),
              {[this] { on_writer_drained(); }, [this] { on_client_gone(); }}),
      port_in_(io, port.in.release()),
      read_buffer_(kReadBufferSize),
      shutdown_deadline_(io),
      fatal_report_deadline_(io) {}

PortSession::~PortSession() = default;

void PortSession::start() {
    read_port();
}

void PortSession::shut_down(int signal) {
    exit_now(kExitSignalBase + signal);
}

void PortSession::read_port() {
    port_in_.async_read_some(boost::asio::buffer(read_buffer_),
                             [this](const boost::system::error_code& error, std::size_t count) {
                                 if (error == boost::asio::error::operation_aborted) {
                                     return;
                                 }
                                 if (error) {
                                     // End-of-file: the client closed the port or died.
                                     on_client_gone();
                                     return;
                                 }
                                 on_port_bytes(count);
                             });
}

void PortSession::on_port_bytes(std::size_t count) {
    // Once closing, requests are discarded: reading goes on only to notice the client leaving.
    if (state_ != State::closing) {
        frames_.feed({read_buffer_.data(), count});
        handle_frames();
    }
    if (writer_.queued_bytes() > kMaxQueuedReplyBytes) {
        reading_paused_ = true;
        return;
    }
    read_port();
}

void PortSession::handle_frames() {
    while (state_ != State::closing) {
        auto next = frames_.next();
        if (!next) {
            return;
        }
        if (const auto* framing = std::get_if<proto::DecodeError>(&*next)) {
            fail_fatally(framing->request_id, framing->code, framing->message);
            return;
        }
        auto decoded = proto::decode_packet(std::get<std::vector<std::uint8_t>>(*next));
        if (auto* error = std::get_if<proto::DecodeError>(&decoded)) {
            if (state_ == State::awaiting_hello) {
                fail_fatally(error->request_id, error->code, std::move(error->message));
            } else {
                report(error->request_id, error->code, std::move(error->message));
            }
            continue;
        }
        handle(std::get<proto::Packet>(std::move(decoded)));
    }
}

void PortSession::handle(proto::Packet packet) {
    const std::uint32_t id = proto::request_id(packet);
    const bool handshaken = state_ != State::awaiting_hello;
    const bool is_hello = std::holds_alternative<proto::Hello>(packet);
    if (id == 0) {
        const char* message = "request id 0 is reserved for reports no request caused";
        handshaken ? report(0, proto::ErrorCode::invalid_request, message)
                   : fail_fatally(0, proto::ErrorCode::invalid_request, message);
        return;
    }
    if (!handshaken && !is_hello) {
        fail_fatally(id, proto::ErrorCode::unexpected_packet,
                     std::string(to_string(proto::packet_type(packet))) + " before Hello");
        return;
    }
    if (handshaken && is_hello) {
        report(id, proto::ErrorCode::unexpected_packet, "a second Hello");
        return;
    }
    if (handshaken && !proto::exists_in_version(proto::packet_type(packet), version_)) {
        report(id, proto::ErrorCode::unknown_packet_type,
               std::string(to_string(proto::packet_type(packet))) +
                   " does not exist in protocol version " + std::to_string(version_));
        return;
    }
    std::visit(
        [this, id](auto&& request) {
            using T = std::decay_t<decltype(request)>;
            if constexpr (std::is_same_v<T, proto::Hello>) {
                on_hello(request);
            } else if constexpr (std::is_same_v<T, proto::StartProcess>) {
                on_start(request);
            } else if constexpr (std::is_same_v<T, proto::KillProcess>) {
                on_kill(request);
            } else if constexpr (std::is_same_v<T, proto::StopProcess>) {
                on_stop(request);
            } else if constexpr (std::is_same_v<T, proto::DataIn>) {
                on_data_in(std::move(request));
            } else if constexpr (std::is_same_v<T, proto::CloseStdin>) {
                on_close_stdin(request);
            } else if constexpr (std::is_same_v<T, proto::GrantCredit>) {
                on_grant(request);
            } else if constexpr (std::is_same_v<T, proto::SetShutdownGrace>) {
                on_set_shutdown_grace(request);
            } else if constexpr (std::is_same_v<T, proto::Prepare>) {
                on_prepare(request);
            } else if constexpr (std::is_same_v<T, proto::Start>) {
                on_start_prepared(request);
            } else {
                report(id, proto::ErrorCode::unexpected_packet,
                       std::string(to_string(proto::packet_type(request))) +
                           " is sent by resin, not to it");
            }
        },
        std::move(packet));
}

void PortSession::on_hello(const proto::Hello& hello) {
    if (hello.version < proto::kOldestProtocolVersion || hello.version > proto::kProtocolVersion) {
        fail_fatally(hello.request_id, proto::ErrorCode::version_mismatch,
                     "resin speaks protocol versions " + proto::spoken_versions() + ", not " +
                         std::to_string(hello.version));
        return;
    }
    state_ = State::ready;
    version_ = hello.version;
    writer_.send(proto::HelloReply{hello.request_id, version_, feature_list(host_)});
}

// Why a request for a new sandbox or command is refused in the current state, or nullopt.
std::optional<std::string> PortSession::why_no_new_command() const {
    switch (state_) {
        case State::running:
            return "a process is already running: one resin runs one process";
        case State::ended:
            return "the process has ended: one resin runs one process; close the port";
        case State::spent:
            return "the prepared sandbox's command failed to start: a prepared sandbox runs one "
                   "command; close the port";
        default:
            return std::nullopt;
    }
}

void PortSession::on_start(const proto::StartProcess& request) {
    const std::uint32_t id = request.request_id;
    if (state_ == State::prepared) {
        report(id, proto::ErrorCode::unexpected_packet,
               "a sandbox is prepared: start its command with Start, or close the port");
        return;
    }
    if (auto why = why_no_new_command()) {
        report(id, proto::ErrorCode::unexpected_packet, std::move(*why));
        return;
    }
    if (contains_nul(request.executable) ||
        std::any_of(request.args.begin(), request.args.end(), contains_nul)) {
        report(id, proto::ErrorCode::invalid_request, "executable or argument contains a NUL byte");
        return;
    }
    std::optional<ChildStdioPipes> pipes;
    auto started = start_sandbox(ConfigRequest{request.config, id}, host_,
                                 {request.executable, request.args}, stdio_pipes_into(pipes));
    if (pipes) {
        pipes->close_child_ends();
    }
    if (auto* failure = std::get_if<StartFailure>(&started)) {
        report(id, *failure);
        return;
    }
    run(id, std::get<PlannedSandbox>(std::move(started)), *pipes);
}

void PortSession::on_prepare(const proto::Prepare& request) {
    const std::uint32_t id = request.request_id;
    if (state_ == State::prepared) {
        report(id, proto::ErrorCode::unexpected_packet,
               "a sandbox is already prepared: one resin runs one sandbox");
        return;
    }
    if (auto why = why_no_new_command()) {
        report(id, proto::ErrorCode::unexpected_packet, std::move(*why));
        return;
    }
    std::optional<ChildStdioPipes> pipes;
    auto prepared =
        prepare_sandbox(ConfigRequest{request.config, id}, host_, stdio_pipes_into(pipes));
    if (pipes) {
        pipes->close_child_ends();
    }
    if (auto* failure = std::get_if<StartFailure>(&prepared)) {
        report(id, *failure);
        return;
    }
    prepared_ = std::make_unique<Prepared>(
        Prepared{std::get<PlannedSandbox>(std::move(prepared)), std::move(*pipes)});
    state_ = State::prepared;
    writer_.send(proto::Prepared{id});
}

void PortSession::on_start_prepared(const proto::Start& request) {
    const std::uint32_t id = request.request_id;
    if (state_ == State::ready) {
        report(id, proto::ErrorCode::unexpected_packet,
               "no sandbox is prepared: send Prepare first (or StartProcess)");
        return;
    }
    if (auto why = why_no_new_command()) {
        report(id, proto::ErrorCode::unexpected_packet, std::move(*why));
        return;
    }
    // Checked before the sandbox is used: a request refused here leaves it prepared.
    if (auto why = invalid_start(request)) {
        report(id, proto::ErrorCode::invalid_request, std::move(*why));
        return;
    }
    std::unique_ptr<Prepared> prepared = std::move(prepared_);
    auto started = prepared->sandbox.sandbox->start(
        {request.executable, request.args, request.env, request.cwd});
    if (!started) {
        state_ = State::spent;
        report(id, started.error());
        refill_network_pool_once(prepared->sandbox.plan.network().new_namespace);
        return;  // the sandbox goes with `prepared`: killed and reaped
    }
    run(id, std::move(prepared->sandbox), prepared->pipes);
}

std::optional<std::string> PortSession::invalid_start(const proto::Start& request) {
    if (contains_nul(request.executable) ||
        std::any_of(request.args.begin(), request.args.end(), contains_nul)) {
        return "executable or argument contains a NUL byte";
    }
    for (std::size_t i = 0; i < request.env.size(); ++i) {
        const std::string& entry = request.env[i];
        if (contains_nul(entry) || entry.empty() || entry.front() == '=') {
            return "env entry " + std::to_string(i) +
                   " is not NAME=VALUE or NAME (a name is not empty, and no entry has a NUL byte)";
        }
    }
    if (contains_nul(request.cwd) || (!request.cwd.empty() && request.cwd.front() != '/')) {
        return "cwd must be empty (the config's) or an absolute path without NUL bytes";
    }
    return std::nullopt;
}

PrepareLaunch PortSession::stdio_pipes_into(std::optional<ChildStdioPipes>& pipes) {
    return [&pipes](const sandbox::Plan& plan) -> sandbox::Result<sandbox::Stdio> {
        RESIN_TRY(pipes,
                  make_child_stdio_pipes(plan.identity().uid.outside, plan.identity().gid.outside));
        return pipes->child_ends();
    };
}

// The command runs: from here on the session is the same for StartProcess and Start.
void PortSession::run(std::uint32_t id, PlannedSandbox started, ChildStdioPipes& pipes) {
    auto& [plan, launched] = started;
    const auto pid = static_cast<std::uint32_t>(launched->command_pid());
    process_ =
        std::make_unique<Process>(io_, *this, id, std::move(launched), pipes, plan.supervision());
    process_->needs_network_namespace = plan.network().new_namespace;
    state_ = State::running;
    writer_.send(proto::ProcessStarted{id, pid});
    if (is_v2()) {
        stdin_credit_ = proto::kStdinWindow;
        writer_.send(proto::StdinCredit{id, proto::kStdinWindow});
    }
    process_->output.pump();
}

bool PortSession::has_process(std::uint32_t request_id) {
    if (state_ != State::running) {
        report(request_id, proto::ErrorCode::no_process, "no process is running");
        return false;
    }
    return true;
}

void PortSession::on_kill(const proto::KillProcess& request) {
    if (request.signal < 1 || request.signal > kMaxSignal) {
        report(request.request_id, proto::ErrorCode::invalid_request,
               "signal " + std::to_string(request.signal) + " is not in 1..64");
        return;
    }
    if (has_process(request.request_id)) {
        process_->supervisor.signal(request.signal);
    }
}

void PortSession::on_stop(const proto::StopProcess& request) {
    if (has_process(request.request_id)) {
        process_->supervisor.stop(std::chrono::milliseconds(request.grace_ms));
    }
}

void PortSession::on_data_in(proto::DataIn request) {
    if (!has_process(request.request_id)) {
        return;
    }
    const std::uint32_t id = request.request_id;
    const std::size_t size = request.data.size();
    StdinFeeder& feeder = process_->stdin_feeder;
    if (is_v2() && !feeder.close_requested() && !stdin_broken_) {
        if (size > stdin_credit_) {
            report(id, proto::ErrorCode::stdin_overflow,
                   "DataIn of " + std::to_string(size) + " bytes exceeds the stdin credit of " +
                       std::to_string(stdin_credit_) + " bytes; dropped");
            return;
        }
        stdin_credit_ -= size;
    }
    const auto refused = feeder.feed(std::move(request.data));
    if (!refused) {
        return;
    }
    switch (*refused) {
        case proto::ErrorCode::stdin_closed:
            report(id, *refused, "DataIn after CloseStdin");
            break;
        case proto::ErrorCode::stdin_broken:
            // Version 1 drops bytes for a command that closed its stdin without a word.
            if (is_v2()) {
                report(id, *refused,
                       "the command's stdin is broken (it closed its stdin or exited); " +
                           std::to_string(size) + " bytes dropped");
            }
            break;
        default:
            report(id, *refused,
                   "DataIn of " + std::to_string(size) + " bytes would queue more than " +
                       std::to_string(kMaxQueuedStdinBytes) + " bytes for stdin");
            break;
    }
}

void PortSession::on_stdin_written(std::size_t bytes) {
    if (!is_v2() || stdin_broken_ || state_ != State::running) {
        return;
    }
    stdin_credit_ += bytes;
    writer_.send(proto::StdinCredit{process_->request_id, static_cast<std::uint32_t>(bytes)});
}

void PortSession::on_stdin_broken(std::size_t discarded) {
    if (!is_v2() || state_ == State::closing) {
        return;
    }
    stdin_broken_ = true;
    report(process_->request_id, proto::ErrorCode::stdin_broken,
           "stdin broken: the command closed its stdin or exited; " + std::to_string(discarded) +
               " queued bytes discarded");
}

void PortSession::on_close_stdin(const proto::CloseStdin& request) {
    if (has_process(request.request_id)) {
        process_->stdin_feeder.close_when_written();
    }
}

void PortSession::on_grant(const proto::GrantCredit& request) {
    credit_.grant(request.bytes);
    if (process_) {
        process_->output.pump();
    }
}

void PortSession::on_set_shutdown_grace(const proto::SetShutdownGrace& request) {
    if (request.grace_ms > proto::kMaxShutdownGraceMs) {
        report(request.request_id, proto::ErrorCode::invalid_request,
               "shutdown grace " + std::to_string(request.grace_ms) +
                   " ms is above the maximum of " + std::to_string(proto::kMaxShutdownGraceMs) +
                   " ms");
        return;
    }
    shutdown_grace_ = std::chrono::milliseconds(request.grace_ms);
}

void PortSession::report(std::uint32_t request_id, proto::ErrorCode code, std::string message,
                         std::string json_pointer) {
    writer_.send(
        proto::ErrorReport{request_id, code, false, std::move(message), std::move(json_pointer)});
}

void PortSession::report(std::uint32_t request_id, const sandbox::Error& error) {
    report(request_id, error_code_for(error.kind), error.message, error.pointer);
}

void PortSession::report(std::uint32_t request_id, const StartFailure& failure) {
    if (const auto* errors = std::get_if<std::vector<sandbox::ConfigError>>(&failure)) {
        std::string message = errors->front().message;
        for (std::size_t i = 1; i < errors->size(); ++i) {
            message += "; " + (*errors)[i].pointer + ": " + (*errors)[i].message;
        }
        report(request_id, proto::ErrorCode::invalid_config, std::move(message),
               errors->front().pointer);
        return;
    }
    report(request_id, std::get<sandbox::Error>(failure));
}

void PortSession::fail_fatally(std::uint32_t request_id, proto::ErrorCode code,
                               std::string message) {
    state_ = State::closing;
    if (process_) {
        process_->output.stop();
        process_->supervisor.terminate(sandbox::EndCause::killed);
    }
    std::string unread = std::string(proto::to_string(code)) + ": " + message;
    writer_.send(proto::ErrorReport{request_id, code, true, std::move(message), ""});
    exit_when_flushed(kExitResinFailure, std::move(unread));
}

void PortSession::on_process_exit(sandbox::ExitReport report) {
    if (client_gone_) {
        exit_now(kExitOk);  // the tree is gone: nobody is left to report to
        return;
    }
    process_->exit_report = std::move(report);
    send_exit_status_once_complete();
}

void PortSession::on_output_ended() {
    process_->output_ended = true;
    send_exit_status_once_complete();
}

// ExitStatus goes last, after every byte of output: the client never loses output to the exit.
void PortSession::send_exit_status_once_complete() {
    if (state_ != State::running || !process_->exit_report || !process_->output_ended) {
        return;
    }
    // resin now waits for the client to close the port (read_port exits on end-of-file): exiting at
    // once would make the client's last writes fail with EPIPE, and an Erlang port that gets EPIPE
    // closes at once, dropping output and the ExitStatus it had not read yet.
    state_ = State::ended;
    writer_.send(exit_status_of(*process_->exit_report, process_->request_id));
}

void PortSession::on_writer_drained() {
    if (exit_code_when_flushed_) {
        exit_now(*exit_code_when_flushed_);
        return;
    }
    if (state_ == State::ended) {
        // Off the client's critical path: the exit report is out.
        refill_network_pool_once(process_->needs_network_namespace);
    }
    if (reading_paused_) {
        reading_paused_ = false;
        read_port();
    }
    if (process_) {
        process_->output.pump();
    }
}

// The client closed the port or died (the owner, or the whole VM): nobody will read a report or
// send a StopProcess. A running command gets SIGTERM, as StopProcess would send, and the shutdown
// grace to finish; then the whole tree is killed. resin exits when the tree is gone, at the latest
// kShutdownBound after the grace.
void PortSession::on_client_gone() {
    if (client_gone_) {
        return;
    }
    // Sending a fatal ErrorReport: the end of the client's requests (fd 3) is no reason to drop
    // it, as long as the port can still be written (exit_when_flushed bounds the wait).
    if (exit_code_when_flushed_ && !writer_.failed()) {
        return;
    }
    client_gone_ = true;
    // Closing already: a fatal ErrorReport is being sent, and its exit code stands.
    if (state_ != State::running || !process_ || process_->supervisor.ended()) {
        exit_now(exit_code_when_flushed_.value_or(kExitOk));
        return;
    }
    state_ = State::closing;
    writer_.abandon();
    process_->output.discard();
    process_->supervisor.stop(shutdown_grace_);
    shutdown_deadline_.expires_after(shutdown_grace_ + kShutdownBound);
    shutdown_deadline_.async_wait([this](const boost::system::error_code& error) {
        if (!error) {
            exit_now(kExitOk);
        }
    });
}

// A sandbox that had a network namespace from the pool used it up, whether its command ran or not.
void PortSession::refill_network_pool_once(bool used_a_namespace) {
    if (used_a_namespace && !netns_pool_refilled_) {
        netns_pool_refilled_ = true;
        sandbox::NetnsPool::refill_detached(host_);
    }
}

void PortSession::exit_when_flushed(int exit_code, std::string report) {
    exit_code_when_flushed_ = exit_code;
    if (writer_.idle()) {
        exit_now(exit_code);
        return;
    }
    // The writer goes on as the port takes it, whole frames in order (on_writer_drained exits);
    // a client that stopped reading gets kFatalReportBound.
    fatal_report_deadline_.expires_after(kFatalReportBound);
    // The client never saw the report: stderr is then the operator's only trace of why resin ended.
    fatal_report_deadline_.async_wait(
        [this, exit_code, report = std::move(report)](const boost::system::error_code& error) {
            if (!error) {
                print_failure("the client did not read the fatal ErrorReport within " +
                              std::to_string(kFatalReportBound.count()) + " s (" + report + ")");
                exit_now(exit_code);
            }
        });
}

void PortSession::exit_now(int exit_code) {
    if (prepared_) {
        refill_network_pool_once(prepared_->sandbox.plan.network().new_namespace);
    }
    if (process_) {
        process_->supervisor.terminate(sandbox::EndCause::killed);
    }
    exit_code_ = exit_code;
    io_.stop();
}

}  // namespace resin::host
