// Round trips of every packet, and every way a packet body can be malformed.
#include <gtest/gtest.h>

#include "proto/codec.hpp"

namespace resin::proto {
namespace {

std::vector<std::uint8_t> body_of(const Packet& packet) {
    auto frame = encode_frame(packet);
    return {frame.begin() + kLengthPrefixSize, frame.end()};
}

DecodeError decode_error(const std::vector<std::uint8_t>& body) {
    auto result = decode_packet(body);
    EXPECT_TRUE(std::holds_alternative<DecodeError>(result));
    if (auto* error = std::get_if<DecodeError>(&result)) {
        return *error;
    }
    return {};
}

std::vector<Packet> sample_packets() {
    ExitStatus status;
    status.request_id = 0xFFFFFFFF;
    status.reason = ExitReason::seccomp;
    status.exit_code = 255;
    status.core_dumped = true;
    status.wall_us = UINT64_MAX;
    status.detail = "syscall ptrace";
    return {
        Hello{1, 7},
        StartProcess{2, "/bin/sh", {"-c", "echo hi", "", std::string("\xff\x00x", 3)}, "{}"},
        StartProcess{3, "", {}, ""},
        KillProcess{4, 64},
        StopProcess{5, 0},
        DataIn{6, std::string(100000, 'x')},
        DataIn{7, ""},
        CloseStdin{8},
        GrantCredit{9, 0xFFFFFFFF},
        HelloReply{10, 1, {}},
        HelloReply{11, 1, {{"a", ""}, {"", "b"}}},
        ProcessStarted{12, 1},
        DataOut{13, Stream::stderr_stream, "e"},
        status,
        ErrorReport{14, ErrorCode::stdin_overflow, true, "too much", ""},
        ErrorReport{15, ErrorCode::stdin_broken, false, "broken", ""},
        SetShutdownGrace{16, 0},
        SetShutdownGrace{17, 0xFFFFFFFF},
        StdinCredit{18, 1},
        StdinCredit{19, 0xFFFFFFFF},
        Prepare{20, R"({"extends":"default"})"},
        Prepare{21, ""},
        Start{22, "/bin/sh", {"-c", "env", ""}, {"LANG=C.UTF-8", "HOME", "=", ""}, "/tmp"},
        Start{23, "", {}, {}, ""},
        Start{24,
              std::string("a\0b", 3),
              {std::string("\xff", 1)},
              {std::string("X=\0", 3)},
              std::string("\0", 1)},
        Prepared{25},
        Prepared{0xFFFFFFFF},
    };
}

TEST(ProtoCodec, EveryPacketRoundTrips) {
    for (const auto& packet : sample_packets()) {
        SCOPED_TRACE(to_string(packet_type(packet)));
        auto decoded = decode_packet(body_of(packet));
        ASSERT_TRUE(std::holds_alternative<Packet>(decoded))
            << std::get<DecodeError>(decoded).message;
        EXPECT_EQ(std::get<Packet>(decoded), packet);
    }
}

TEST(ProtoCodec, EveryTruncationOfEveryPacketIsAnErrorNotACrash) {
    for (const auto& packet : sample_packets()) {
        auto body = body_of(packet);
        for (std::size_t size = 0; size < body.size(); ++size) {
            std::vector<std::uint8_t> prefix(body.begin(), body.begin() + size);
            auto result = decode_packet(prefix);
            EXPECT_TRUE(std::holds_alternative<DecodeError>(result))
                << to_string(packet_type(packet)) << " truncated to " << size;
        }
    }
}

TEST(ProtoCodec, TrailingBytesAreAnError) {
    for (const auto& packet : sample_packets()) {
        auto body = body_of(packet);
        body.push_back(0);
        auto error = decode_error(body);
        EXPECT_EQ(error.code, ErrorCode::malformed_packet);
        EXPECT_NE(error.message.find("trailing"), std::string::npos) << error.message;
        EXPECT_EQ(error.request_id, request_id(packet));
    }
}

TEST(ProtoCodec, UnknownTypeKeepsTheRequestId) {
    auto error = decode_error({0x10, 0, 0, 0, 42});
    EXPECT_EQ(error.code, ErrorCode::unknown_packet_type);
    EXPECT_EQ(error.request_id, 42u);
}

TEST(ProtoCodec, MalformedBodyErrorCarriesTheRequestId) {
    auto error = decode_error({0x03, 0, 0, 1, 0});  // KillProcess without its signal
    EXPECT_EQ(error.code, ErrorCode::malformed_packet);
    EXPECT_EQ(error.request_id, 256u);
}

TEST(ProtoCodec, ListCountThatCannotFitIsRefusedBeforeAllocating) {
    // A StartProcess claiming 2^32-1 args in a 20-byte packet.
    std::vector<std::uint8_t> body = {0x02, 0, 0, 0, 1, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF};
    EXPECT_EQ(decode_error(body).code, ErrorCode::malformed_packet);
    // A HelloReply claiming more features than bytes.
    std::vector<std::uint8_t> reply = {0x81, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0};
    EXPECT_EQ(decode_error(reply).code, ErrorCode::malformed_packet);
}

TEST(ProtoCodec, StartListCountsThatCannotFitAreRefused) {
    // A Start whose args count claims more strings than the bytes left.
    auto args_overrun = body_of(Start{1, "echo", {}, {}, ""});
    args_overrun[16] = 0xFF;  // low byte of the args count, after the header and "echo"
    auto error = decode_error(args_overrun);
    EXPECT_EQ(error.code, ErrorCode::malformed_packet);
    EXPECT_NE(error.message.find("args count"), std::string::npos) << error.message;
    // The same for its env count, which comes after the args.
    auto env_overrun = body_of(Start{1, "echo", {"x"}, {}, ""});
    env_overrun[25] = 2;  // low byte of the env count: two strings, but only cwd's 4 bytes follow
    error = decode_error(env_overrun);
    EXPECT_EQ(error.code, ErrorCode::malformed_packet);
    EXPECT_NE(error.message.find("env count"), std::string::npos) << error.message;
}

TEST(ProtoCodec, StartWithoutItsCwdIsTruncated) {
    auto body = body_of(Start{1, "echo", {}, {"A=1"}, ""});
    body.resize(body.size() - 4);
    auto error = decode_error(body);
    EXPECT_EQ(error.code, ErrorCode::malformed_packet);
    EXPECT_NE(error.message.find("'cwd'"), std::string::npos) << error.message;
}

TEST(ProtoCodec, PreparedHasNoFields) {
    EXPECT_EQ(body_of(Prepared{9}), (std::vector<std::uint8_t>{0x87, 0, 0, 0, 9}));
    auto error = decode_error({0x87, 0, 0, 0, 9, 0});
    EXPECT_EQ(error.code, ErrorCode::malformed_packet);
    EXPECT_EQ(error.request_id, 9u);
}

TEST(ProtoCodec, OversizedBodyIsRefused) {
    std::vector<std::uint8_t> body(kMaxPacketSize + 1, 0);
    body[0] = 0x05;
    EXPECT_EQ(decode_error(body).code, ErrorCode::packet_too_large);
}

TEST(ProtoCodec, OutOfRangeEnumerationsAreRefused) {
    auto bad_stream = body_of(DataOut{1, Stream::stdout_stream, "x"});
    bad_stream[5] = 0;
    EXPECT_EQ(decode_error(bad_stream).code, ErrorCode::malformed_packet);

    auto bad_core = body_of(ExitStatus{});
    bad_core[8] = 2;
    EXPECT_EQ(decode_error(bad_core).code, ErrorCode::malformed_packet);

    auto bad_fatal = body_of(ErrorReport{1, ErrorCode::no_process, false, "", ""});
    bad_fatal[7] = 7;
    EXPECT_EQ(decode_error(bad_fatal).code, ErrorCode::malformed_packet);
}

TEST(ProtoCodec, DataOutFrameHeaderMatchesTheEncoder) {
    const std::string payload = "some output";
    auto frame = encode_frame(DataOut{77, Stream::stderr_stream, payload});
    auto header = encode_data_out_frame_header(77, Stream::stderr_stream,
                                               static_cast<std::uint32_t>(payload.size()));
    ASSERT_EQ(frame.size(), header.size() + payload.size());
    EXPECT_TRUE(std::equal(header.begin(), header.end(), frame.begin()));
}

TEST(ProtoCodec, LargestDataOutFitsTheMaximumPacket) {
    auto frame =
        encode_frame(DataOut{1, Stream::stdout_stream, std::string(kMaxDataOutPayload, 'z')});
    EXPECT_EQ(frame.size(), kLengthPrefixSize + kMaxPacketSize);
    std::vector<std::uint8_t> body(frame.begin() + kLengthPrefixSize, frame.end());
    EXPECT_TRUE(std::holds_alternative<Packet>(decode_packet(body)));
}

TEST(ProtoCodec, TypesAfterTheLastOfVersion3AreUnknown) {
    for (std::uint8_t type :
         {std::uint8_t{0x0b}, std::uint8_t{0x88}, std::uint8_t{0x00}, std::uint8_t{0x80}}) {
        auto error = decode_error({type, 0, 0, 0, 3, 0, 0, 0, 0});
        EXPECT_EQ(error.code, ErrorCode::unknown_packet_type) << int{type};
        EXPECT_EQ(error.request_id, 3u);
    }
}

TEST(ProtoCodec, ErrorCodeAfterStdinBrokenIsRefused) {
    auto report = body_of(ErrorReport{1, ErrorCode::stdin_broken, false, "", ""});
    report[6] = 17;  // low byte of the u16 code
    EXPECT_EQ(decode_error(report).code, ErrorCode::malformed_packet);
}

TEST(ProtoCodec, Version2PacketsDoNotExistInVersion1) {
    EXPECT_FALSE(exists_in_version(PacketType::set_shutdown_grace, 1));
    EXPECT_FALSE(exists_in_version(PacketType::stdin_credit, 1));
    EXPECT_TRUE(exists_in_version(PacketType::set_shutdown_grace, 2));
    EXPECT_TRUE(exists_in_version(PacketType::stdin_credit, 2));
    EXPECT_TRUE(exists_in_version(PacketType::data_in, 1));
    EXPECT_TRUE(exists_in_version(PacketType::grant_credit, 2));
}

TEST(ProtoCodec, Version3PacketsDoNotExistInVersions1And2) {
    for (auto type : {PacketType::prepare, PacketType::start, PacketType::prepared}) {
        SCOPED_TRACE(to_string(type));
        EXPECT_FALSE(exists_in_version(type, 1));
        EXPECT_FALSE(exists_in_version(type, 2));
        EXPECT_TRUE(exists_in_version(type, 3));
    }
    for (auto type :
         {PacketType::hello, PacketType::start_process, PacketType::data_in,
          PacketType::set_shutdown_grace, PacketType::exit_status, PacketType::stdin_credit}) {
        EXPECT_TRUE(exists_in_version(type, 3)) << to_string(type);
    }
}

TEST(ProtoCodec, ResinSpeaksEveryVersionFromTheOldestToTheNewest) {
    EXPECT_EQ(kProtocolVersion, 3u);
    EXPECT_EQ(spoken_versions(), "1, 2 and 3");
}

TEST(ProtoCodec, NamesAreStable) {
    EXPECT_STREQ(to_string(PacketType::set_shutdown_grace), "set_shutdown_grace");
    EXPECT_STREQ(to_string(PacketType::stdin_credit), "stdin_credit");
    EXPECT_STREQ(to_string(ErrorCode::stdin_broken), "stdin_broken");
    EXPECT_STREQ(to_string(ExitReason::wall_time_limit), "wall_time_limit");
    EXPECT_STREQ(to_string(ErrorCode::unsupported_config), "unsupported_config");
    EXPECT_STREQ(to_string(PacketType::grant_credit), "grant_credit");
    EXPECT_STREQ(to_string(PacketType::prepare), "prepare");
    EXPECT_STREQ(to_string(PacketType::start), "start");
    EXPECT_STREQ(to_string(PacketType::prepared), "prepared");
}

}  // namespace
}  // namespace resin::proto
