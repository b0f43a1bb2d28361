// Pure encoding and decoding of packets: bytes in, values out, every malformed input an error
// value.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "proto/packets.hpp"

namespace resin::proto {

struct DecodeError {
    ErrorCode code = ErrorCode::malformed_packet;  // malformed_packet, packet_too_large or
                                                   // unknown_packet_type
    std::uint32_t request_id = 0;  // the packet's id when its header could be read, else 0
    std::string message;
    bool operator==(const DecodeError&) const = default;
};

using DecodeResult = std::variant<Packet, DecodeError>;

// Decodes one packet body (the bytes after the length prefix).
DecodeResult decode_packet(std::span<const std::uint8_t> body);

// Encodes a packet as a complete frame: the 4-byte length prefix followed by the body. Appends to
// `out`.
void encode_frame(const Packet& packet, std::vector<std::uint8_t>& out);
std::vector<std::uint8_t> encode_frame(const Packet& packet);

// The header of a DataOut frame carrying `payload_size` bytes, so the host can write the payload
// straight from the child's pipe (splice) without building the frame in memory first.
inline constexpr std::size_t kDataOutFrameHeaderSize = kLengthPrefixSize + kHeaderSize + 1 + 4;
inline constexpr std::uint32_t kMaxDataOutPayload =
    kMaxPacketSize - static_cast<std::uint32_t>(kDataOutFrameHeaderSize - kLengthPrefixSize);
std::array<std::uint8_t, kDataOutFrameHeaderSize> encode_data_out_frame_header(
    std::uint32_t request_id, Stream stream, std::uint32_t payload_size);

// Validates a frame's length prefix: nullopt if acceptable, else the error to report.
std::optional<DecodeError> check_frame_length(std::uint32_t length);

}  // namespace resin::proto
