// One client on the port: the session state machine of docs/protocol.md. Reads requests from fd 3,
// answers through the PortWriter, runs at most one sandboxed process, and ends resin when the
// process has been reported, the client goes away, or the stream breaks.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/result.hpp"
#include "host/output_credit.hpp"
#include "host/pipes.hpp"
#include "host/port_fds.hpp"
#include "host/port_writer.hpp"
#include "host/sandbox_start.hpp"
#include "proto/frame_reader.hpp"
#include "sandbox/exit_report.hpp"
#include "sandbox/host_probe.hpp"

namespace resin::host {

class PortSession {
  public:
    PortSession(boost::asio::io_context& io, PortFds port, sandbox::HostCapabilities host);
    PortSession(const PortSession&) = delete;
    PortSession& operator=(const PortSession&) = delete;
    ~PortSession();

    void start();
    // SIGTERM or SIGHUP: the sandbox's tree is killed and resin exits.
    void shut_down(int signal);
    // Valid once the io_context has stopped.
    int exit_code() const { return exit_code_; }

  private:
    // prepared: a sandbox waits for its command (Start). ended: ExitStatus is out; resin answers
    // requests until the client closes the port. spent: the prepared sandbox's command failed to
    // start, and the sandbox is gone.
    enum class State { awaiting_hello, ready, prepared, running, ended, spent, closing };
    struct Prepared;
    struct Process;

    void read_port();
    void on_port_bytes(std::size_t count);
    void handle_frames();
    void handle(proto::Packet packet);
    void on_hello(const proto::Hello& hello);
    void on_start(const proto::StartProcess& request);
    void on_prepare(const proto::Prepare& request);
    void on_start_prepared(const proto::Start& request);
    std::optional<std::string> why_no_new_command() const;
    static std::optional<std::string> invalid_start(const proto::Start& request);
    static PrepareLaunch stdio_pipes_into(std::optional<ChildStdioPipes>& pipes);
    void run(std::uint32_t id, PlannedSandbox started, ChildStdioPipes& pipes);
    void on_kill(const proto::KillProcess& request);
    void on_stop(const proto::StopProcess& request);
    void on_data_in(proto::DataIn request);
    void on_close_stdin(const proto::CloseStdin& request);
    void on_grant(const proto::GrantCredit& request);
    void on_set_shutdown_grace(const proto::SetShutdownGrace& request);
    void on_stdin_written(std::size_t bytes);
    void on_stdin_broken(std::size_t discarded);
    bool is_v2() const { return version_ >= 2; }
    bool has_process(std::uint32_t request_id);

    void report(std::uint32_t request_id, proto::ErrorCode code, std::string message,
                std::string json_pointer = {});
    void report(std::uint32_t request_id, const sandbox::Error& error);
    void report(std::uint32_t request_id, const StartFailure& failure);
    void fail_fatally(std::uint32_t request_id, proto::ErrorCode code, std::string message);

    void on_process_exit(sandbox::ExitReport report);
    void on_output_ended();
    void send_exit_status_once_complete();
    void on_writer_drained();
    // EOF on fd 3 or a write error on fd 4: a running tree gets SIGTERM and the shutdown grace.
    void on_client_gone();
    void refill_network_pool_once(bool used_a_namespace);
    // `report` names the fatal ErrorReport on stderr if the client does not read it in time.
    void exit_when_flushed(int exit_code, std::string report);
    void exit_now(int exit_code);

    boost::asio::io_context& io_;
    sandbox::HostCapabilities host_;
    PortWriter writer_;
    boost::asio::posix::stream_descriptor port_in_;
    proto::FrameReader frames_;
    std::vector<std::uint8_t> read_buffer_;
    bool reading_paused_ = false;
    State state_ = State::awaiting_hello;
    std::uint32_t version_ = 0;  // the session's protocol version, once Hello is answered
    OutputCredit credit_;
    // Version 2: DataIn payload bytes the client may still send (granted minus received).
    std::uint64_t stdin_credit_ = 0;
    bool stdin_broken_ = false;
    std::chrono::milliseconds shutdown_grace_{proto::kDefaultShutdownGraceMs};
    bool client_gone_ = false;
    // Bounds how long resin outlives the grace after the client left.
    boost::asio::steady_timer shutdown_deadline_;
    // Bounds how long a fatal ErrorReport waits for a client that does not read.
    boost::asio::steady_timer fatal_report_deadline_;
    std::unique_ptr<Prepared> prepared_;
    std::unique_ptr<Process> process_;
    std::optional<int> exit_code_when_flushed_;
    bool netns_pool_refilled_ = false;
    int exit_code_ = 0;
};

}  // namespace resin::host
