// The golden vectors in tests/vectors/ decode to the documented values and re-encode byte for byte.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <set>
#include <sstream>

#include "proto/codec.hpp"
#include "proto/frame_reader.hpp"

namespace resin::proto {
namespace {

std::vector<std::uint8_t> read_vector(const std::string& name) {
    std::ifstream in(std::string(RESIN_TEST_VECTORS_DIR) + "/" + name, std::ios::binary);
    EXPECT_TRUE(in) << "missing vector " << name;
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

struct Vector {
    std::string file;
    Packet packet;
};

std::vector<Vector> golden_vectors() {
    ExitStatus exit_status;
    exit_status.request_id = 2;
    exit_status.reason = ExitReason::memory_limit;
    exit_status.signal = 9;
    exit_status.wall_us = 1234567;
    exit_status.cpu_user_us = 1000;
    exit_status.cpu_system_us = 2000;
    exit_status.peak_memory_bytes = 67108864;
    exit_status.peak_processes = 3;
    exit_status.detail = "memory.max 67108864";
    return {
        {"hello.bin", Hello{1, 1}},
        {"start_process.bin",
         StartProcess{2, "echo", {"hello, world."}, R"({"extends":"default"})"}},
        {"kill_process.bin", KillProcess{3, 15}},
        {"stop_process.bin", StopProcess{4, 5000}},
        {"data_in.bin", DataIn{5, "line 1\n"}},
        {"close_stdin.bin", CloseStdin{6}},
        {"grant_credit.bin", GrantCredit{7, 65536}},
        {"hello_reply.bin",
         HelloReply{1, 1, {{"resin.version", "0.1.0"}, {"limits.wall_time_ms", "host_timer"}}}},
        {"process_started.bin", ProcessStarted{2, 4242}},
        {"data_out.bin", DataOut{2, Stream::stdout_stream, "hello, world.\n"}},
        {"exit_status.bin", exit_status},
        {"error_report.bin", ErrorReport{2, ErrorCode::invalid_config, false, "must be an integer",
                                         "/limits/memory_bytes"}},
        // Version 2.
        {"hello_v2.bin", Hello{1, 2}},
        {"set_shutdown_grace.bin", SetShutdownGrace{8, 300}},
        {"hello_reply_v2.bin", HelloReply{1, 2, {{"resin.version", "0.1.0"}}}},
        {"stdin_credit.bin", StdinCredit{2, kStdinWindow}},
        {"error_report_stdin_broken.bin",
         ErrorReport{2, ErrorCode::stdin_broken, false, "stdin broken: 4096 queued bytes discarded",
                     ""}},
        // Version 3.
        {"hello_v3.bin", Hello{1, 3}},
        {"prepare.bin", Prepare{9, R"({"extends":"default"})"}},
        {"start.bin", Start{10, "echo", {"hello, world."}, {"LANG=C.UTF-8", "HOME"}, "/tmp"}},
        {"prepared.bin", Prepared{9}},
    };
}

TEST(ProtoVectors, EveryPacketKindHasAVector) {
    std::set<std::size_t> kinds;
    for (const auto& vector : golden_vectors()) {
        kinds.insert(vector.packet.index());
    }
    EXPECT_EQ(kinds.size(), std::variant_size_v<Packet>);
}

TEST(ProtoVectors, DecodeToTheDocumentedValues) {
    for (const auto& vector : golden_vectors()) {
        SCOPED_TRACE(vector.file);
        FrameReader reader;
        reader.feed(read_vector(vector.file));
        auto frame = reader.next();
        ASSERT_TRUE(frame.has_value());
        const auto* body = std::get_if<std::vector<std::uint8_t>>(&*frame);
        ASSERT_NE(body, nullptr);
        auto decoded = decode_packet(*body);
        const auto* packet = std::get_if<Packet>(&decoded);
        ASSERT_NE(packet, nullptr) << std::get<DecodeError>(decoded).message;
        EXPECT_EQ(*packet, vector.packet);
        EXPECT_FALSE(reader.next().has_value());
    }
}

TEST(ProtoVectors, EncodeByteForByte) {
    for (const auto& vector : golden_vectors()) {
        SCOPED_TRACE(vector.file);
        EXPECT_EQ(encode_frame(vector.packet), read_vector(vector.file));
    }
}

TEST(ProtoVectors, MalformedVectorsAreRejectedWithTheListedCode) {
    std::ifstream listing(std::string(RESIN_TEST_VECTORS_DIR) + "/malformed/expected.txt");
    ASSERT_TRUE(listing);
    int checked = 0;
    for (std::string line; std::getline(listing, line);) {
        if (line.empty() || line[0] == '#') {
            continue;
        }
        std::istringstream fields(line);
        std::string name, expected_code;
        fields >> name >> expected_code;
        SCOPED_TRACE(name);
        FrameReader reader;
        reader.feed(read_vector("malformed/" + name + ".bin"));
        auto frame = reader.next();
        ASSERT_TRUE(frame.has_value())
            << "a malformed vector must be a complete frame or bad prefix";
        std::optional<DecodeError> error;
        if (const auto* frame_error = std::get_if<DecodeError>(&*frame)) {
            error = *frame_error;
        } else {
            auto decoded = decode_packet(std::get<std::vector<std::uint8_t>>(*frame));
            ASSERT_TRUE(std::holds_alternative<DecodeError>(decoded));
            error = std::get<DecodeError>(decoded);
        }
        EXPECT_EQ(to_string(error->code), expected_code) << error->message;
        EXPECT_FALSE(error->message.empty());
        ++checked;
    }
    EXPECT_GE(checked, 17);
}

}  // namespace
}  // namespace resin::proto
