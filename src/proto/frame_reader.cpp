#include "proto/frame_reader.hpp"

namespace resin::proto {

void FrameReader::feed(std::span<const std::uint8_t> bytes) {
    if (failed_) {
        return;
    }
    if (consumed_ > 0 && consumed_ == buffer_.size()) {
        buffer_.clear();
        consumed_ = 0;
    }
    buffer_.insert(buffer_.end(), bytes.begin(), bytes.end());
}

std::optional<FrameReader::Next> FrameReader::next() {
    if (failed_) {
        return Next{*failed_};
    }
    if (buffered() < kLengthPrefixSize) {
        return std::nullopt;
    }
    const std::uint8_t* p = buffer_.data() + consumed_;
    const std::uint32_t length = (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) |
                                 (std::uint32_t{p[2]} << 8) | std::uint32_t{p[3]};
    if (auto error = check_frame_length(length)) {
        failed_ = error;
        buffer_.clear();
        buffer_.shrink_to_fit();
        consumed_ = 0;
        return Next{*failed_};
    }
    if (buffered() - kLengthPrefixSize < length) {
        return std::nullopt;
    }
    const auto* body = p + kLengthPrefixSize;
    std::vector<std::uint8_t> frame(body, body + length);
    consumed_ += kLengthPrefixSize + length;
    if (consumed_ == buffer_.size()) {
        buffer_.clear();
        consumed_ = 0;
    } else if (consumed_ > kMaxPacketSize) {
        buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(consumed_));
        consumed_ = 0;
    }
    return Next{std::move(frame)};
}

}  // namespace resin::proto
