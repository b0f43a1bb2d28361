#include "proto/codec.hpp"

#include <type_traits>

#include "proto/byte_io.hpp"

namespace resin::proto {
namespace {

constexpr std::size_t kMinStringSize = 4;  // an empty `string` is its u32 length

DecodeError malformed(std::uint32_t request_id, std::string message) {
    return DecodeError{ErrorCode::malformed_packet, request_id, std::move(message)};
}

// Decodes the fields after the header. Each returns the packet or a message naming what was wrong.
class FieldDecoder {
  public:
    FieldDecoder(ByteReader& reader, std::uint32_t request_id)
        : reader_(reader), request_id_(request_id) {}

    DecodeResult decode(PacketType type) {
        switch (type) {
            case PacketType::hello:
                return hello();
            case PacketType::start_process:
                return start_process();
            case PacketType::kill_process:
                return kill_process();
            case PacketType::stop_process:
                return stop_process();
            case PacketType::data_in:
                return data_in();
            case PacketType::close_stdin:
                return finish(CloseStdin{request_id_});
            case PacketType::grant_credit:
                return grant_credit();
            case PacketType::set_shutdown_grace:
                return set_shutdown_grace();
            case PacketType::prepare:
                return finish(Prepare{request_id_, take(reader_.bytes(), "config")});
            case PacketType::start:
                return start();
            case PacketType::hello_reply:
                return hello_reply();
            case PacketType::process_started:
                return process_started();
            case PacketType::data_out:
                return data_out();
            case PacketType::exit_status:
                return exit_status();
            case PacketType::error_report:
                return error_report();
            case PacketType::stdin_credit:
                return stdin_credit();
            case PacketType::prepared:
                return finish(Prepared{request_id_});
        }
        return DecodeError{ErrorCode::unknown_packet_type, request_id_, "unknown packet type"};
    }

  private:
    // A field's value, or T{} once a field is missing: the first missing field is remembered (and
    // its offset), and finish() reports it, so each decoder reads its fields in a straight line.
    template <typename T>
    T take(std::optional<T> value, const char* field) {
        if (!value) {
            if (missing_ == nullptr) {
                missing_ = field;
                missing_offset_ = reader_.offset();
            }
            return T{};
        }
        return std::move(*value);
    }

    // Checks of a field's value are only made while every field before it was there.
    bool complete() const { return missing_ == nullptr; }

    template <typename T>
    DecodeResult finish(T packet) {
        if (!complete()) {
            return malformed(request_id_, std::string("truncated or bad length at field '") +
                                              missing_ + "' (offset " +
                                              std::to_string(missing_offset_ + kLengthPrefixSize) +
                                              ")");
        }
        if (reader_.remaining() != 0) {
            return malformed(request_id_, std::string(to_string(packet_type(packet))) + ": " +
                                              std::to_string(reader_.remaining()) +
                                              " trailing bytes after the last field");
        }
        return Packet{std::move(packet)};
    }

    DecodeResult hello() { return finish(Hello{request_id_, take(reader_.u32(), "version")}); }

    // A list<string>: its count is checked against the bytes left before anything is reserved.
    std::vector<std::string> strings(const char* count_field, const char* item_field) {
        const std::uint32_t count = take(reader_.count(kMinStringSize), count_field);
        std::vector<std::string> items;
        items.reserve(count);
        for (std::uint32_t i = 0; i < count && complete(); ++i) {
            items.push_back(take(reader_.bytes(), item_field));
        }
        return items;
    }

    DecodeResult start_process() {
        StartProcess start{request_id_, take(reader_.bytes(), "executable"), {}, {}};
        start.args = strings("args count", "args");
        start.config = take(reader_.bytes(), "config");
        return finish(std::move(start));
    }

    DecodeResult start() {
        Start packet{request_id_, take(reader_.bytes(), "executable"), {}, {}, {}};
        packet.args = strings("args count", "args");
        packet.env = strings("env count", "env");
        packet.cwd = take(reader_.bytes(), "cwd");
        return finish(std::move(packet));
    }

    DecodeResult kill_process() {
        return finish(KillProcess{request_id_, take(reader_.u8(), "signal")});
    }

    DecodeResult stop_process() {
        return finish(StopProcess{request_id_, take(reader_.u32(), "grace_ms")});
    }

    DecodeResult data_in() { return finish(DataIn{request_id_, take(reader_.bytes(), "data")}); }

    DecodeResult grant_credit() {
        return finish(GrantCredit{request_id_, take(reader_.u32(), "bytes")});
    }

    DecodeResult set_shutdown_grace() {
        return finish(SetShutdownGrace{request_id_, take(reader_.u32(), "grace_ms")});
    }

    DecodeResult stdin_credit() {
        return finish(StdinCredit{request_id_, take(reader_.u32(), "bytes")});
    }

    DecodeResult hello_reply() {
        HelloReply reply{request_id_, take(reader_.u32(), "version"), {}};
        const std::uint32_t count = take(reader_.count(2 * kMinStringSize), "features count");
        reply.features.reserve(count);
        for (std::uint32_t i = 0; i < count && complete(); ++i) {
            auto key = take(reader_.bytes(), "feature key");
            auto value = take(reader_.bytes(), "feature value");
            reply.features.emplace_back(std::move(key), std::move(value));
        }
        return finish(std::move(reply));
    }

    DecodeResult process_started() {
        return finish(ProcessStarted{request_id_, take(reader_.u32(), "os_pid")});
    }

    DecodeResult data_out() {
        const std::uint8_t stream = take(reader_.u8(), "stream");
        if (complete() && stream != static_cast<std::uint8_t>(Stream::stdout_stream) &&
            stream != static_cast<std::uint8_t>(Stream::stderr_stream)) {
            return malformed(request_id_, "data_out: stream " + std::to_string(stream) +
                                              " is neither 1 (stdout) nor 2 (stderr)");
        }
        std::string data = take(reader_.bytes(), "data");
        if (complete() && data.empty()) {
            return malformed(request_id_, "data_out: empty data");
        }
        return finish(DataOut{request_id_, static_cast<Stream>(stream), std::move(data)});
    }

    DecodeResult exit_status() {
        ExitStatus status{};
        status.request_id = request_id_;
        const std::uint8_t reason = take(reader_.u8(), "reason");
        if (complete() && reason > kLastExitReason) {
            return malformed(request_id_, "exit_status: unknown reason " + std::to_string(reason));
        }
        status.reason = static_cast<ExitReason>(reason);
        status.exit_code = take(reader_.u8(), "exit_code/signal/core_dumped");
        status.signal = take(reader_.u8(), "exit_code/signal/core_dumped");
        const std::uint8_t core = take(reader_.u8(), "exit_code/signal/core_dumped");
        if (complete() && core > 1) {
            return malformed(request_id_, "exit_status: core_dumped is neither 0 nor 1");
        }
        status.core_dumped = core == 1;
        for (auto* field : {&status.wall_us, &status.cpu_user_us, &status.cpu_system_us,
                            &status.peak_memory_bytes}) {
            *field = take(reader_.u64(), "usage");
        }
        status.peak_processes = take(reader_.u32(), "peak_processes");
        status.detail = take(reader_.bytes(), "detail");
        return finish(std::move(status));
    }

    DecodeResult error_report() {
        const std::uint16_t code = take(reader_.u16(), "code");
        if (complete() && (code == 0 || code > kLastErrorCode)) {
            return malformed(request_id_, "error_report: unknown code " + std::to_string(code));
        }
        const std::uint8_t fatal = take(reader_.u8(), "fatal");
        if (complete() && fatal > 1) {
            return malformed(request_id_, "error_report: fatal is neither 0 nor 1");
        }
        auto message = take(reader_.bytes(), "message");
        auto pointer = take(reader_.bytes(), "json_pointer");
        return finish(ErrorReport{request_id_, static_cast<ErrorCode>(code), fatal == 1,
                                  std::move(message), std::move(pointer)});
    }

    ByteReader& reader_;
    std::uint32_t request_id_;
    const char* missing_ = nullptr;  // the first field that was not there
    std::size_t missing_offset_ = 0;
};

bool is_known_type(std::uint8_t type) {
    return (type >= 0x01 && type <= 0x0a) || (type >= 0x81 && type <= 0x87);
}

class FieldEncoder {
  public:
    explicit FieldEncoder(ByteWriter& writer) : w_(writer) {}

    void operator()(const Hello& p) { w_.u32(p.version); }
    void operator()(const StartProcess& p) {
        w_.bytes(p.executable);
        strings(p.args);
        w_.bytes(p.config);
    }
    void operator()(const Prepare& p) { w_.bytes(p.config); }
    void operator()(const Start& p) {
        w_.bytes(p.executable);
        strings(p.args);
        strings(p.env);
        w_.bytes(p.cwd);
    }
    void operator()(const KillProcess& p) { w_.u8(p.signal); }
    void operator()(const StopProcess& p) { w_.u32(p.grace_ms); }
    void operator()(const DataIn& p) { w_.bytes(p.data); }
    void operator()(const CloseStdin&) {}
    void operator()(const GrantCredit& p) { w_.u32(p.bytes); }
    void operator()(const SetShutdownGrace& p) { w_.u32(p.grace_ms); }
    void operator()(const StdinCredit& p) { w_.u32(p.bytes); }
    void operator()(const Prepared&) {}
    void operator()(const HelloReply& p) {
        w_.u32(p.version);
        w_.u32(static_cast<std::uint32_t>(p.features.size()));
        for (const auto& [key, value] : p.features) {
            w_.bytes(key);
            w_.bytes(value);
        }
    }
    void operator()(const ProcessStarted& p) { w_.u32(p.os_pid); }
    void operator()(const DataOut& p) {
        w_.u8(static_cast<std::uint8_t>(p.stream));
        w_.bytes(p.data);
    }
    void operator()(const ExitStatus& p) {
        w_.u8(static_cast<std::uint8_t>(p.reason));
        w_.u8(p.exit_code);
        w_.u8(p.signal);
        w_.u8(p.core_dumped ? 1 : 0);
        w_.u64(p.wall_us);
        w_.u64(p.cpu_user_us);
        w_.u64(p.cpu_system_us);
        w_.u64(p.peak_memory_bytes);
        w_.u32(p.peak_processes);
        w_.bytes(p.detail);
    }
    void operator()(const ErrorReport& p) {
        w_.u16(static_cast<std::uint16_t>(p.code));
        w_.u8(p.fatal ? 1 : 0);
        w_.bytes(p.message);
        w_.bytes(p.json_pointer);
    }

  private:
    void strings(const std::vector<std::string>& items) {
        w_.u32(static_cast<std::uint32_t>(items.size()));
        for (const auto& item : items) {
            w_.bytes(item);
        }
    }

    ByteWriter& w_;
};

void put_u32_be(std::uint8_t* out, std::uint32_t value) {
    out[0] = static_cast<std::uint8_t>(value >> 24);
    out[1] = static_cast<std::uint8_t>(value >> 16);
    out[2] = static_cast<std::uint8_t>(value >> 8);
    out[3] = static_cast<std::uint8_t>(value);
}

}  // namespace

DecodeResult decode_packet(std::span<const std::uint8_t> body) {
    if (auto error = check_frame_length(static_cast<std::uint32_t>(
            std::min<std::size_t>(body.size(), kMaxPacketSize + std::size_t{1})))) {
        return *error;
    }
    ByteReader reader(body);
    const auto type = *reader.u8();
    auto request_id = reader.u32();
    if (!request_id) {
        return malformed(0, "packet of " + std::to_string(body.size()) +
                                " bytes is shorter than its 5-byte header");
    }
    if (!is_known_type(type)) {
        return DecodeError{ErrorCode::unknown_packet_type, *request_id,
                           "unknown packet type " + std::to_string(type)};
    }
    return FieldDecoder(reader, *request_id).decode(static_cast<PacketType>(type));
}

void encode_frame(const Packet& packet, std::vector<std::uint8_t>& out) {
    const std::size_t start = out.size();
    out.resize(start + kLengthPrefixSize);
    ByteWriter writer(out);
    writer.u8(static_cast<std::uint8_t>(packet_type(packet)));
    writer.u32(request_id(packet));
    std::visit(FieldEncoder(writer), packet);
    put_u32_be(out.data() + start,
               static_cast<std::uint32_t>(out.size() - start - kLengthPrefixSize));
}

std::vector<std::uint8_t> encode_frame(const Packet& packet) {
    std::vector<std::uint8_t> out;
    encode_frame(packet, out);
    return out;
}

std::array<std::uint8_t, kDataOutFrameHeaderSize> encode_data_out_frame_header(
    std::uint32_t request_id, Stream stream, std::uint32_t payload_size) {
    std::array<std::uint8_t, kDataOutFrameHeaderSize> header{};
    put_u32_be(
        header.data(),
        static_cast<std::uint32_t>(kDataOutFrameHeaderSize - kLengthPrefixSize) + payload_size);
    header[4] = static_cast<std::uint8_t>(PacketType::data_out);
    put_u32_be(header.data() + 5, request_id);
    header[9] = static_cast<std::uint8_t>(stream);
    put_u32_be(header.data() + 10, payload_size);
    return header;
}

std::optional<DecodeError> check_frame_length(std::uint32_t length) {
    if (length == 0) {
        return DecodeError{ErrorCode::malformed_packet, 0, "empty frame (length 0)"};
    }
    if (length > kMaxPacketSize) {
        return DecodeError{ErrorCode::packet_too_large, 0,
                           "frame length " + std::to_string(length) + " exceeds the maximum of " +
                               std::to_string(kMaxPacketSize) + " bytes"};
    }
    return std::nullopt;
}

}  // namespace resin::proto
