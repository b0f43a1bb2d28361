// Forwards the command's stdout and stderr to the port as DataOut frames, never reading more than
// the client's credit allows: with no credit the pipes fill up and the command blocks in write(2).
//
// Each frame announces exactly the bytes already waiting in a pipe (FIONREAD, capped by credit and
// the packet size), and the writer then splices that many bytes from the pipe to the port.
#pragma once

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <cstdint>
#include <functional>
#include <optional>

#include "host/output_credit.hpp"
#include "host/port_writer.hpp"
#include "sandbox/unique_fd.hpp"

namespace resin::host {

class OutputForwarder {
  public:
    OutputForwarder(boost::asio::io_context& io, PortWriter& writer, OutputCredit& credit,
                    std::uint32_t request_id, sandbox::UniqueFd stdout_pipe,
                    sandbox::UniqueFd stderr_pipe, std::function<void()> on_end_of_output);
    OutputForwarder(const OutputForwarder&) = delete;
    OutputForwarder& operator=(const OutputForwarder&) = delete;

    // Sends what the pipes hold as far as credit and the port allow. Call whenever credit is
    // granted or the writer drains; the pipes' own readiness calls it too.
    void pump();
    // Forwards nothing more (the session is ending).
    void stop() { stopped_ = true; }
    // The client is gone: reads and drops the command's output from now on, so a command that
    // prints while it handles SIGTERM is not blocked by a full pipe. Never touches the writer.
    void discard();

  private:
    struct Source {
        boost::asio::posix::stream_descriptor pipe;
        proto::Stream stream;
        bool waiting = false;
        bool ended = false;
    };

    // Bytes waiting in the pipe, or nullopt at end-of-file.
    static std::optional<std::size_t> ready_bytes(Source& source);
    void wait_readable(Source& source);
    void end(Source& source);
    void drop_ready_output();

    PortWriter& writer_;
    OutputCredit& credit_;
    std::uint32_t request_id_;
    std::array<Source, 2> sources_;
    std::size_t next_source_ = 0;  // alternates, so a chatty stream cannot starve the other
    std::function<void()> on_end_of_output_;
    bool stopped_ = false;
    bool discarding_ = false;
};

}  // namespace resin::host
