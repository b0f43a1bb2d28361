// Queues DataIn bytes for the command's stdin and writes them as the command reads, never blocking
// the event loop. The queue is bounded; CloseStdin closes the pipe once the queue is written.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <cstddef>
#include <deque>
#include <optional>
#include <string>

#include "proto/packets.hpp"
#include "sandbox/unique_fd.hpp"

namespace resin::host {

inline constexpr std::size_t kMaxQueuedStdinBytes = 16 * 1024 * 1024;

class StdinFeeder {
  public:
    StdinFeeder(boost::asio::io_context& io, sandbox::UniqueFd stdin_pipe);
    StdinFeeder(const StdinFeeder&) = delete;
    StdinFeeder& operator=(const StdinFeeder&) = delete;

    // Queues `data`, or says why not (stdin_closed, stdin_overflow). Bytes for a command that has
    // closed its stdin are dropped: that is the command's choice, not the client's error.
    std::optional<proto::ErrorCode> feed(std::string data);
    void close_when_written();

  private:
    void write_queued();
    void close_pipe();

    boost::asio::posix::stream_descriptor pipe_;
    std::deque<std::string> queue_;
    std::size_t written_of_front_ = 0;
    std::size_t queued_bytes_ = 0;
    bool waiting_ = false;
    bool close_requested_ = false;
};

}  // namespace resin::host
