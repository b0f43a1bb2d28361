// The frame reader splits a byte stream at any boundary and refuses bad lengths without allocating.
#include <gtest/gtest.h>

#include "proto/codec.hpp"
#include "proto/frame_reader.hpp"

namespace resin::proto {
namespace {

std::vector<std::vector<std::uint8_t>> drain(FrameReader& reader) {
    std::vector<std::vector<std::uint8_t>> bodies;
    while (auto next = reader.next()) {
        bodies.push_back(std::get<std::vector<std::uint8_t>>(*next));
    }
    return bodies;
}

TEST(FrameReader, ReassemblesFramesFedOneByteAtATime) {
    std::vector<std::uint8_t> stream;
    encode_frame(Hello{1, 1}, stream);
    encode_frame(DataIn{2, std::string(3000, 'a')}, stream);
    encode_frame(CloseStdin{3}, stream);

    FrameReader reader;
    std::vector<std::vector<std::uint8_t>> bodies;
    for (auto byte : stream) {
        reader.feed(std::span(&byte, 1));
        auto more = drain(reader);
        bodies.insert(bodies.end(), more.begin(), more.end());
    }
    ASSERT_EQ(bodies.size(), 3u);
    EXPECT_EQ(std::get<Packet>(decode_packet(bodies[1])),
              Packet(DataIn{2, std::string(3000, 'a')}));
    EXPECT_EQ(reader.buffered(), 0u);
}

TEST(FrameReader, ManyFramesInOneFeed) {
    std::vector<std::uint8_t> stream;
    for (std::uint32_t i = 1; i <= 1000; ++i) {
        encode_frame(GrantCredit{i, i}, stream);
    }
    FrameReader reader;
    reader.feed(stream);
    EXPECT_EQ(drain(reader).size(), 1000u);
}

TEST(FrameReader, OversizedLengthFailsAtThePrefixAndStaysFailed) {
    FrameReader reader;
    const std::uint8_t prefix[] = {0xFF, 0xFF, 0xFF, 0xFF};
    reader.feed(prefix);
    auto next = reader.next();
    ASSERT_TRUE(next.has_value());
    ASSERT_TRUE(std::holds_alternative<DecodeError>(*next));
    EXPECT_EQ(std::get<DecodeError>(*next).code, ErrorCode::packet_too_large);
    EXPECT_EQ(reader.buffered(), 0u);

    auto frame = encode_frame(Hello{1, 1});
    reader.feed(frame);
    next = reader.next();
    ASSERT_TRUE(next.has_value());
    EXPECT_TRUE(std::holds_alternative<DecodeError>(*next));
}

TEST(FrameReader, ZeroLengthIsAnError) {
    FrameReader reader;
    const std::uint8_t prefix[] = {0, 0, 0, 0};
    reader.feed(prefix);
    auto next = reader.next();
    ASSERT_TRUE(next.has_value());
    EXPECT_EQ(std::get<DecodeError>(*next).code, ErrorCode::malformed_packet);
}

TEST(FrameReader, IncompleteFrameWaits) {
    auto frame = encode_frame(DataIn{1, "abc"});
    FrameReader reader;
    reader.feed(std::span(frame.data(), frame.size() - 1));
    EXPECT_FALSE(reader.next().has_value());
    reader.feed(std::span(frame.data() + frame.size() - 1, 1));
    EXPECT_TRUE(reader.next().has_value());
}

}  // namespace
}  // namespace resin::proto
