// A client of `resin --port`, as an Erlang port would be: spawns the real resin binary with its fds
// 3 and 4 connected to pipes and speaks the protocol through src/proto. Every receive is bounded by
// a timeout, so a hung resin fails a test instead of hanging it.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "proto/frame_reader.hpp"
#include "proto/packets.hpp"
#include "sandbox/unique_fd.hpp"

namespace resin::test {

inline constexpr std::chrono::milliseconds kReplyTimeout{30000};

class PortClient {
  public:
    // Spawns `resin --port`, with its stderr on `resin_stderr` if one is given (else this
    // process's own).
    explicit PortClient(int resin_stderr = -1);
    PortClient(const PortClient&) = delete;
    PortClient& operator=(const PortClient&) = delete;
    // Closes the port and reaps resin (killing it if it does not exit on its own).
    ~PortClient();

    pid_t pid() const { return pid_; }
    // resin's packets, for a caller that parses the stream itself (the benchmark).
    int from_resin_fd() const { return from_resin_.get(); }
    // resin's requests pipe, for a caller that writes frames itself (the benchmark).
    int to_resin_fd() const { return to_resin_.get(); }

    void send(const proto::Packet& packet);
    void send_bytes(std::span<const std::uint8_t> bytes);

    // The next packet; nullopt if none arrives in time, resin closed the port, or it sent bytes
    // that do not decode. last_error() says which. StdinCredit packets (version 2) are absorbed
    // into stdin_credit() unless set_absorb_stdin_credit(false).
    std::optional<proto::Packet> receive(std::chrono::milliseconds timeout = kReplyTimeout);

    void set_absorb_stdin_credit(bool absorb) { absorb_stdin_credit_ = absorb; }
    // DataIn payload bytes resin has granted and the client has not spent (see spend_stdin_credit).
    std::uint64_t stdin_credit() const { return stdin_credit_; }
    void spend_stdin_credit(std::uint64_t bytes) { stdin_credit_ -= bytes; }
    std::uint64_t stdin_credit_packets() const { return stdin_credit_packets_; }
    const std::string& last_error() const { return last_error_; }
    // The version the handshake agreed on (0 before it).
    std::uint32_t session_version() const { return session_version_; }
    void set_session_version(std::uint32_t version) { session_version_ = version; }
    // True if resin sends nothing (and does not close the port) within `quiet`.
    bool stays_quiet_for(std::chrono::milliseconds quiet);
    // True once resin has closed its end of the port (end-of-file on fd 4).
    bool port_closed_by_resin(std::chrono::milliseconds timeout = kReplyTimeout);

    // End-of-file on resin's fd 3, as when the Erlang port is closed.
    void close_port();
    // Closes the client's reading end of resin's fd 4: resin's next write fails with EPIPE.
    void stop_reading() { from_resin_.reset(); }
    // resin's wait status, or nullopt if it is still running after `timeout`.
    std::optional<int> wait_exit(std::chrono::milliseconds timeout = kReplyTimeout);

  private:
    enum class Fill { bytes, end_of_file, timeout };
    Fill fill(std::chrono::steady_clock::time_point deadline);

    pid_t pid_ = -1;
    sandbox::UniqueFd pidfd_;
    sandbox::UniqueFd to_resin_;
    sandbox::UniqueFd from_resin_;
    proto::FrameReader frames_;
    std::vector<std::uint8_t> buffer_;
    std::optional<int> exit_status_;
    bool absorb_stdin_credit_ = true;
    std::uint64_t stdin_credit_ = 0;
    std::uint64_t stdin_credit_packets_ = 0;
    std::string last_error_;
    std::uint32_t session_version_ = 0;
};

}  // namespace resin::test
