#include "host/stdin_feeder.hpp"

#include <unistd.h>

#include <cerrno>

namespace resin::host {

StdinFeeder::StdinFeeder(boost::asio::io_context& io, sandbox::UniqueFd stdin_pipe,
                         std::size_t max_queued, Events events)
    : pipe_(io, stdin_pipe.release()), max_queued_(max_queued), events_(std::move(events)) {}

std::optional<proto::ErrorCode> StdinFeeder::feed(std::string data) {
    if (close_requested_) {
        return proto::ErrorCode::stdin_closed;
    }
    if (broken_) {
        return proto::ErrorCode::stdin_broken;
    }
    if (!pipe_.is_open() || data.empty()) {
        return std::nullopt;
    }
    if (data.size() > max_queued_ - queued_bytes_) {
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
            const std::size_t discarded = queued_bytes_;
            broken_ = true;
            close_pipe();
            if (events_.on_broken) {
                events_.on_broken(discarded);
            }
            return;
        }
        written_of_front_ += static_cast<std::size_t>(n);
        queued_bytes_ -= static_cast<std::size_t>(n);
        unreported_written_ += static_cast<std::size_t>(n);
        if (written_of_front_ == front.size()) {
            queue_.pop_front();
            written_of_front_ = 0;
        }
        if (unreported_written_ >= kStdinCreditBatch) {
            report_written();
        }
    }
    report_written();
    if (close_requested_) {
        close_pipe();
    }
}

// Called with a partial batch only when the queue ran empty: while bytes are queued, the command's
// reads complete the batch.
void StdinFeeder::report_written() {
    if (unreported_written_ == 0 || close_requested_) {
        return;
    }
    const std::size_t bytes = unreported_written_;
    unreported_written_ = 0;
    if (events_.on_written) {
        events_.on_written(bytes);
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
