// Splits a byte stream into packet bodies using the 4-byte length prefix. Pure: the caller does the
// I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <variant>
#include <vector>

#include "proto/codec.hpp"

namespace resin::proto {

class FrameReader {
  public:
    // Appends bytes received from the stream.
    void feed(std::span<const std::uint8_t> bytes);

    // The next complete packet body, an error for an unacceptable length prefix (after which the
    // stream is out of sync: the reader stays failed), or nullopt when more bytes are needed.
    using Next = std::variant<std::vector<std::uint8_t>, DecodeError>;
    std::optional<Next> next();

    // Bytes received but not yet returned; bounded by one frame plus one read.
    std::size_t buffered() const { return buffer_.size() - consumed_; }

  private:
    std::vector<std::uint8_t> buffer_;
    std::size_t consumed_ = 0;
    std::optional<DecodeError> failed_;
};

}  // namespace resin::proto
