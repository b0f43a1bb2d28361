// The one ordered writer to the port (fd 4). Control packets are encoded and queued; a DataOut's
// payload is spliced straight from the child's pipe, so output never passes through resin's memory.
// Everything queued is written in order and whole: while a frame is partly written nothing else
// reaches the port.
#pragma once

#include <sys/types.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <cstdint>
#include <deque>
#include <functional>
#include <variant>
#include <vector>

#include "proto/packets.hpp"
#include "sandbox/unique_fd.hpp"

namespace resin::host {

class PortWriter {
  public:
    struct Handlers {
        std::function<void()> on_drained;  // the port was backed up and everything queued is out
        std::function<void()> on_failed;   // the port cannot be written (the client is gone)
    };

    PortWriter(boost::asio::io_context& io, sandbox::UniqueFd port_out, Handlers handlers);
    PortWriter(const PortWriter&) = delete;
    PortWriter& operator=(const PortWriter&) = delete;

    void send(const proto::Packet& packet);

    // Sends a DataOut whose `size` payload bytes are waiting in the pipe `source`, of which resin
    // is the only reader. Call only when idle(): one payload in flight bounds what pipes are read.
    void send_data_out_from_pipe(std::uint32_t request_id, proto::Stream stream, int source,
                                 std::uint32_t size);

    // The client is gone: drops what is queued and writes nothing more, without calling on_failed.
    void abandon();

    bool idle() const { return queue_.empty(); }
    // The port cannot be written (or was abandoned): nothing sent from now on goes anywhere.
    bool failed() const { return failed_; }
    // Encoded bytes waiting for the port; the session stops reading requests while this is large.
    std::size_t queued_bytes() const { return queued_bytes_; }

  private:
    struct Bytes {
        std::vector<std::uint8_t> data;
        std::size_t written = 0;
    };
    struct PipePayload {
        int source;
        std::size_t left;
    };
    enum class Progress { done, blocked, splice_unsupported, failed };

    void enqueue(Bytes bytes);
    void flush();
    Progress write_bytes(Bytes& bytes);
    Progress splice_payload(PipePayload& payload);
    bool read_payload_into(Bytes& bytes, int source, std::size_t size);
    void fail();

    boost::asio::io_context& io_;
    boost::asio::posix::stream_descriptor port_;
    Handlers handlers_;
    std::deque<std::variant<Bytes, PipePayload>> queue_;
    std::size_t queued_bytes_ = 0;
    bool waiting_for_port_ = false;
    bool failed_ = false;
    bool splice_works_ = true;  // false once the port refused splice (e.g. a file opened O_APPEND)
};

}  // namespace resin::host
