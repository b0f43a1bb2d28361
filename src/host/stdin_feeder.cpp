#include "host/stdin_feeder.hpp"

#include <unistd.h>

#include <cerrno>

namespace resin::host {

StdinFeeder::StdinFeeder(boost::asio::io_context& io, sandbox::UniqueFd stdin_pipe)
    : pipe_(io, stdin_pipe.release()) {}

std::optional<proto::ErrorCode> StdinFeeder::feed(std::string data) {
    if (close_requested_) {
        return proto::ErrorCode::stdin_closed;
    }
    if (!pipe_.is_open() || data.empty()) {
        return std::nullopt;
    }
    if (data.size() > kMaxQueuedStdinBytes - queued_bytes_) {
        return proto::ErrorCode::stdin_overflow;
    }
    queued_bytes_ += data.size();
    queue_.push_back(std::move(data));
    if (!waiting_) {
        write_queued();
    }
    return std::nullopt;
}

void StdinFeeder::close_when_written() {
    close_requested_ = true;
    if (queue_.empty()) {
        close_pipe();
    }
}

void StdinFeeder::write_queued() {
    while (!queue_.empty()) {
        const std::string& front = queue_.front();
        const ssize_t n = ::write(pipe_.native_handle(), front.data() + written_of_front_,
                                  front.size() - written_of_front_);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && errno == EAGAIN) {
            waiting_ = true;
            pipe_.async_wait(boost::asio::posix::stream_descriptor::wait_write,
                             [this](const boost::system::error_code& error) {
                                 if (error == boost::asio::error::operation_aborted) {
                                     return;
                                 }
                                 waiting_ = false;
                                 write_queued();
                             });
            return;
        }
        if (n <= 0) {
            // EPIPE: the command closed its stdin; what it did not read it never will.
            close_pipe();
            return;
        }
        written_of_front_ += static_cast<std::size_t>(n);
        queued_bytes_ -= static_cast<std::size_t>(n);
        if (written_of_front_ == front.size()) {
            queue_.pop_front();
            written_of_front_ = 0;
        }
    }
    if (close_requested_) {
        close_pipe();
    }
}

void StdinFeeder::close_pipe() {
    queue_.clear();
    written_of_front_ = 0;
    queued_bytes_ = 0;
    boost::system::error_code ignored;
    pipe_.close(ignored);
}

}  // namespace resin::host
