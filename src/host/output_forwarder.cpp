#include "host/output_forwarder.hpp"

#include <poll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>

#include "proto/codec.hpp"

namespace resin::host {

OutputForwarder::OutputForwarder(boost::asio::io_context& io, PortWriter& writer,
                                 OutputCredit& credit, std::uint32_t request_id,
                                 sandbox::UniqueFd stdout_pipe, sandbox::UniqueFd stderr_pipe,
                                 std::function<void()> on_end_of_output)
    : writer_(writer),
      credit_(credit),
      request_id_(request_id),
      sources_{Source{boost::asio::posix::stream_descriptor(io, stdout_pipe.release()),
                      proto::Stream::stdout_stream},
               Source{boost::asio::posix::stream_descriptor(io, stderr_pipe.release()),
                      proto::Stream::stderr_stream}},
      on_end_of_output_(std::move(on_end_of_output)) {}

void OutputForwarder::pump() {
    if (stopped_) {
        return;
    }
    if (discarding_) {
        drop_ready_output();
        return;
    }
    // A failed writer is idle but takes nothing: looping on it would spend all credit in vain.
    while (writer_.idle() && !writer_.failed()) {
        bool sent = false;
        for (std::size_t k = 0; k < sources_.size() && !sent; ++k) {
            const std::size_t index = (next_source_ + k) % sources_.size();
            Source& source = sources_[index];
            if (source.ended || source.waiting) {
                continue;
            }
            const auto ready = ready_bytes(source);
            if (!ready) {
                end(source);
            } else if (*ready == 0) {
                wait_readable(source);
            } else if (credit_.available() > 0) {
                const auto size = static_cast<std::uint32_t>(std::min<std::uint64_t>(
                    {*ready, credit_.available(), proto::kMaxDataOutPayload}));
                credit_.spend(size);
                writer_.send_data_out_from_pipe(request_id_, source.stream,
                                                source.pipe.native_handle(), size);
                next_source_ = index + 1;
                sent = true;
            }
        }
        if (!sent) {
            break;
        }
    }
}

void OutputForwarder::discard() {
    discarding_ = true;
    stopped_ = false;
    pump();
}

// One read per stream per call, then back to the event loop: a chatty command cannot hold it.
void OutputForwarder::drop_ready_output() {
    for (Source& source : sources_) {
        if (source.ended || source.waiting) {
            continue;
        }
        const auto ready = ready_bytes(source);
        if (!ready) {
            end(source);
            continue;
        }
        if (*ready > 0) {
            std::array<char, 64 * 1024> sink;
            // At most what FIONREAD announced: this read cannot block.
            (void)::read(source.pipe.native_handle(), sink.data(), std::min(*ready, sink.size()));
        }
        wait_readable(source);
    }
}

std::optional<std::size_t> OutputForwarder::ready_bytes(Source& source) {
    const int fd = source.pipe.native_handle();
    int bytes = 0;
    if (::ioctl(fd, FIONREAD, &bytes) == 0 && bytes > 0) {
        return static_cast<std::size_t>(bytes);
    }
    pollfd hangup{fd, POLLIN, 0};
    if (::poll(&hangup, 1, 0) < 0 || (hangup.revents & POLLHUP) == 0) {
        return 0;
    }
    // No writer is left, so nothing can arrive after this second look.
    if (::ioctl(fd, FIONREAD, &bytes) == 0 && bytes > 0) {
        return static_cast<std::size_t>(bytes);
    }
    return std::nullopt;
}

void OutputForwarder::wait_readable(Source& source) {
    source.waiting = true;
    source.pipe.async_wait(boost::asio::posix::stream_descriptor::wait_read,
                           [this, &source](const boost::system::error_code& error) {
                               if (error == boost::asio::error::operation_aborted) {
                                   return;
                               }
                               source.waiting = false;
                               pump();
                           });
}

void OutputForwarder::end(Source& source) {
    source.ended = true;
    source.pipe.close();
    if (std::all_of(sources_.begin(), sources_.end(), [](const Source& s) { return s.ended; })) {
        on_end_of_output_();
    }
}

}  // namespace resin::host
