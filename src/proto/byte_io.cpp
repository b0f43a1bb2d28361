#include "proto/byte_io.hpp"

#include <limits>

namespace resin::proto {

std::optional<std::uint64_t> ByteReader::unsigned_be(std::size_t width) {
    if (remaining() < width) {
        return std::nullopt;
    }
    std::uint64_t value = 0;
    for (std::size_t i = 0; i < width; ++i) {
        value = (value << 8) | bytes_[offset_ + i];
    }
    offset_ += width;
    return value;
}

std::optional<std::uint8_t> ByteReader::u8() {
    auto value = unsigned_be(1);
    if (!value) {
        return std::nullopt;
    }
    return static_cast<std::uint8_t>(*value);
}

std::optional<std::uint16_t> ByteReader::u16() {
    auto value = unsigned_be(2);
    if (!value) {
        return std::nullopt;
    }
    return static_cast<std::uint16_t>(*value);
}

std::optional<std::uint32_t> ByteReader::u32() {
    auto value = unsigned_be(4);
    if (!value) {
        return std::nullopt;
    }
    return static_cast<std::uint32_t>(*value);
}

std::optional<std::uint64_t> ByteReader::u64() {
    return unsigned_be(8);
}

std::optional<std::string> ByteReader::bytes() {
    const std::size_t start = offset_;
    auto length = u32();
    if (!length || *length > remaining()) {
        offset_ = start;
        return std::nullopt;
    }
    const auto* data = reinterpret_cast<const char*>(bytes_.data() + offset_);
    offset_ += *length;
    return std::string(data, *length);
}

std::optional<std::uint32_t> ByteReader::count(std::size_t min_item_size) {
    const std::size_t start = offset_;
    auto n = u32();
    if (!n || (min_item_size > 0 && *n > remaining() / min_item_size)) {
        offset_ = start;
        return std::nullopt;
    }
    return n;
}

void ByteWriter::unsigned_be(std::uint64_t value, std::size_t width) {
    for (std::size_t i = width; i-- > 0;) {
        out_.push_back(static_cast<std::uint8_t>(value >> (8 * i)));
    }
}

void ByteWriter::bytes(const std::string& value) {
    u32(static_cast<std::uint32_t>(value.size()));
    // As bytes, not chars: one memcpy instead of a converting loop (DataIn payloads are 1 MiB).
    const auto* data = reinterpret_cast<const std::uint8_t*>(value.data());
    out_.insert(out_.end(), data, data + value.size());
}

}  // namespace resin::proto
