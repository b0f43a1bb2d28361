#include "host/port_writer.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <cerrno>

#include "proto/codec.hpp"

namespace resin::host {

PortWriter::PortWriter(boost::asio::io_context& io, sandbox::UniqueFd port_out, Handlers handlers)
    : io_(io), port_(io, port_out.release()), handlers_(std::move(handlers)) {}

void PortWriter::send(const proto::Packet& packet) {
    Bytes frame;
    proto::encode_frame(packet, frame.data);
    enqueue(std::move(frame));
}

void PortWriter::send_data_out_from_pipe(std::uint32_t request_id, proto::Stream stream, int source,
                                         std::uint32_t size) {
    if (failed_) {
        return;
    }
    const auto header = proto::encode_data_out_frame_header(request_id, stream, size);
    Bytes frame{{header.begin(), header.end()}};
    if (!splice_works_) {
        if (!read_payload_into(frame, source, size)) {
            fail();
            return;
        }
        enqueue(std::move(frame));
        return;
    }
    queued_bytes_ += frame.data.size();
    queue_.emplace_back(std::move(frame));
    queue_.emplace_back(PipePayload{source, size});
    if (!waiting_for_port_) {
        flush();
    }
}

void PortWriter::enqueue(Bytes bytes) {
    if (failed_) {
        return;
    }
    queued_bytes_ += bytes.data.size();
    queue_.emplace_back(std::move(bytes));
    if (!waiting_for_port_) {
        flush();
    }
}

void PortWriter::flush() {
    while (!queue_.empty()) {
        auto& front = queue_.front();
        const Progress progress = std::holds_alternative<Bytes>(front)
                                      ? write_bytes(std::get<Bytes>(front))
                                      : splice_payload(std::get<PipePayload>(front));
        switch (progress) {
            case Progress::done:
                queue_.pop_front();
                break;
            case Progress::blocked:
                waiting_for_port_ = true;
                port_.async_wait(boost::asio::posix::stream_descriptor::wait_write,
                                 [this](const boost::system::error_code& error) {
                                     if (error == boost::asio::error::operation_aborted) {
                                         return;
                                     }
                                     waiting_for_port_ = false;
                                     flush();
                                     if (idle() && !failed_) {
                                         handlers_.on_drained();
                                     }
                                 });
                return;
            case Progress::splice_unsupported: {
                splice_works_ = false;
                const PipePayload payload = std::get<PipePayload>(front);
                Bytes copied;
                if (!read_payload_into(copied, payload.source, payload.left)) {
                    fail();
                    return;
                }
                queued_bytes_ += copied.data.size();
                front = std::move(copied);
                break;
            }
            case Progress::failed:
                fail();
                return;
        }
    }
}

PortWriter::Progress PortWriter::write_bytes(Bytes& bytes) {
    while (bytes.written < bytes.data.size()) {
        const ssize_t n = ::write(port_.native_handle(), bytes.data.data() + bytes.written,
                                  bytes.data.size() - bytes.written);
        if (n > 0) {
            bytes.written += static_cast<std::size_t>(n);
            queued_bytes_ -= static_cast<std::size_t>(n);
        } else if (n < 0 && errno == EAGAIN) {
            return Progress::blocked;
        } else if (!(n < 0 && errno == EINTR)) {
            return Progress::failed;
        }
    }
    return Progress::done;
}

PortWriter::Progress PortWriter::splice_payload(PipePayload& payload) {
    while (payload.left > 0) {
        const ssize_t n = ::splice(payload.source, nullptr, port_.native_handle(), nullptr,
                                   payload.left, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
        if (n > 0) {
            payload.left -= static_cast<std::size_t>(n);
        } else if (n < 0 && errno == EAGAIN) {
            // The source holds at least `left` bytes (we are its only reader), so the port is full.
            return Progress::blocked;
        } else if (n < 0 && errno == EINVAL) {
            return Progress::splice_unsupported;
        } else if (!(n < 0 && errno == EINTR)) {
            return Progress::failed;
        }
    }
    return Progress::done;
}

bool PortWriter::read_payload_into(Bytes& bytes, int source, std::size_t size) {
    const std::size_t start = bytes.data.size();
    bytes.data.resize(start + size);
    std::size_t got = 0;
    while (got < size) {
        const ssize_t n = ::read(source, bytes.data.data() + start + got, size - got);
        if (n > 0) {
            got += static_cast<std::size_t>(n);
        } else if (!(n < 0 && errno == EINTR)) {
            return false;
        }
    }
    return true;
}

void PortWriter::abandon() {
    failed_ = true;
    queue_.clear();
    queued_bytes_ = 0;
    boost::system::error_code ignored;
    port_.cancel(ignored);
}

void PortWriter::fail() {
    if (failed_) {
        return;
    }
    failed_ = true;
    queue_.clear();
    queued_bytes_ = 0;
    // Posted, so the session never ends inside one of its own calls to send().
    boost::asio::post(io_, handlers_.on_failed);
}

}  // namespace resin::host
