// Big-endian primitives for the codec. ByteReader never reads past its span and never allocates
// more than the bytes it was given.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace resin::proto {

class ByteReader {
  public:
    explicit ByteReader(std::span<const std::uint8_t> bytes) : bytes_(bytes) {}

    std::optional<std::uint8_t> u8();
    std::optional<std::uint16_t> u16();
    std::optional<std::uint32_t> u32();
    std::optional<std::uint64_t> u64();
    std::optional<std::string> bytes();  // u32 length + data

    // A list count, accepted only if `count` items of at least `min_item_size` bytes can still fit.
    std::optional<std::uint32_t> count(std::size_t min_item_size);

    std::size_t remaining() const { return bytes_.size() - offset_; }
    std::size_t offset() const { return offset_; }

  private:
    std::optional<std::uint64_t> unsigned_be(std::size_t width);

    std::span<const std::uint8_t> bytes_;
    std::size_t offset_ = 0;
};

class ByteWriter {
  public:
    explicit ByteWriter(std::vector<std::uint8_t>& out) : out_(out) {}

    void u8(std::uint8_t value) { out_.push_back(value); }
    void u16(std::uint16_t value) { unsigned_be(value, 2); }
    void u32(std::uint32_t value) { unsigned_be(value, 4); }
    void u64(std::uint64_t value) { unsigned_be(value, 8); }
    void bytes(const std::string& value);

  private:
    void unsigned_be(std::uint64_t value, std::size_t width);

    std::vector<std::uint8_t>& out_;
};

}  // namespace resin::proto
