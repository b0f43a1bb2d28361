// Queues DataIn bytes for the command's stdin and writes them as the command reads, never blocking
// the event loop. The queue is bounded; CloseStdin closes the pipe once the queue is written. It
// reports the bytes that reach the pipe (so a v2 session can grant stdin credit) and a broken pipe.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <cstddef>
#include <deque>
#include <functional>
#include <optional>
#include <string>

#include "proto/packets.hpp"
#include "sandbox/unique_fd.hpp"

namespace resin::host {

// The queue bound of a version 1 session, which has no stdin credit.
inline constexpr std::size_t kMaxQueuedStdinBytes = 16 * 1024 * 1024;
// Written bytes are reported in batches of at least this, or when the queue runs empty.
inline constexpr std::size_t kStdinCreditBatch = 64 * 1024;

class StdinFeeder {
  public:
    struct Events {
        // `bytes` more reached the pipe since the last call. Not called once CloseStdin came.
        std::function<void(std::size_t bytes)> on_written;
        // The pipe broke (EPIPE: the command closed its stdin or exited); `discarded` queued bytes
        // were dropped. Called at most once; the feeder then refuses data with stdin_broken.
        std::function<void(std::size_t discarded)> on_broken;
    };

    StdinFeeder(boost::asio::io_context& io, sandbox::UniqueFd stdin_pipe, std::size_t max_queued,
                Events events);
    StdinFeeder(const StdinFeeder&) = delete;
    StdinFeeder& operator=(const StdinFeeder&) = delete;

    // Queues `data`, or says why not: stdin_closed (after CloseStdin), stdin_broken (the pipe
    // broke; the data is dropped), stdin_overflow (more than `max_queued` would be queued).
    std::optional<proto::ErrorCode> feed(std::string data);
    void close_when_written();
    bool close_requested() const { return close_requested_; }

  private:
    void write_queued();
    void report_written();
    void close_pipe();

    boost::asio::posix::stream_descriptor pipe_;
    std::size_t max_queued_;
    Events events_;
    std::deque<std::string> queue_;
    std::size_t written_of_front_ = 0;
    std::size_t queued_bytes_ = 0;
    std::size_t unreported_written_ = 0;
    bool waiting_ = false;
    bool close_requested_ = false;
    bool broken_ = false;
};

}  // namespace resin::host
