// The input path: DataIn reaches the command's stdin in order, CloseStdin ends it, and the queue in
// resin is bounded. The version 1 behaviours (no stdin credit, a 16 MiB queue, silent drops) are
// tested in version 1 sessions; version 2's credit is in host_port_stdin_credit_test.cpp.
#include <gtest/gtest.h>
#include <signal.h>

#include "support/port_expect.hpp"

namespace resin::test {
namespace {

// Starts `executable args` with unlimited credit.
void start(PortClient& client, const std::string& executable, const std::vector<std::string>& args,
           std::uint32_t version = proto::kProtocolVersion) {
    handshake(client, 1, version);
    client.send(proto::GrantCredit{2, 0xFFFFFFFF});
    start_process(client, 3, executable, args);
}

std::string read_stdout(PortClient& client, std::size_t size) {
    std::string out;
    while (out.size() < size && !testing::Test::HasFailure()) {
        out += expect_packet<proto::DataOut>(client).data;
    }
    return out;
}

TEST(PortStdin, CatEchoesDataInAndEndsAtCloseStdin) {
    PortClient client;
    start(client, "cat", {});
    client.send(proto::DataIn{4, "hello\n"});
    EXPECT_EQ(read_stdout(client, 6), "hello\n");
    client.send(proto::DataIn{5, "world\n"});
    EXPECT_EQ(read_stdout(client, 6), "world\n");
    client.send(proto::CloseStdin{6});
    const auto exit = expect_packet<proto::ExitStatus>(client);
    EXPECT_EQ(exit.reason, proto::ExitReason::exited);
    EXPECT_EQ(exit.exit_code, 0);
}

TEST(PortStdin, Version1EveryByteQueuedBeforeCloseStdinIsDelivered) {
    PortClient client;
    start(client, "wc", {"-c"}, 1);
    const std::size_t chunk = 1000 * 1000;
    for (std::uint32_t i = 0; i < 5; ++i) {
        client.send(proto::DataIn{10 + i, std::string(chunk, static_cast<char>('a' + i))});
    }
    client.send(proto::CloseStdin{20});
    const auto output = collect_until_exit(client, 3);
    EXPECT_EQ(output.out, "5000000\n");
    EXPECT_EQ(output.exit.exit_code, 0);
}

TEST(PortStdin, DataInAfterCloseStdinIsStdinClosed) {
    PortClient client;
    start(client, "/bin/sh", {"-c", "cat; echo eof; exec sleep 1000"});
    client.send(proto::CloseStdin{4});
    EXPECT_EQ(read_stdout(client, 4), "eof\n");
    client.send(proto::DataIn{5, "late"});
    EXPECT_FALSE(expect_error(client, 5, proto::ErrorCode::stdin_closed).fatal);
    client.send(proto::KillProcess{6, SIGKILL});
    EXPECT_EQ(expect_packet<proto::ExitStatus>(client).reason, proto::ExitReason::killed);
}

TEST(PortStdin, Version1DataInForACommandThatClosedItsStdinIsDroppedSilently) {
    PortClient client;
    start(client, "/bin/sh", {"-c", "exec 0<&-; echo closed; exec sleep 1000"}, 1);
    EXPECT_EQ(read_stdout(client, 7), "closed\n");
    client.send(proto::DataIn{4, "nobody reads this"});
    // Replies come in request order: the next one is about request 5, so 4 got none.
    client.send(proto::KillProcess{5, 0});
    expect_error(client, 5, proto::ErrorCode::invalid_request);
    client.send(proto::KillProcess{6, SIGKILL});
    EXPECT_EQ(expect_packet<proto::ExitStatus>(client).reason, proto::ExitReason::killed);
}

TEST(PortStdin, Version1MoreThan16MiBQueuedIsStdinOverflowAndThePacketIsDropped) {
    PortClient client;
    start(client, "sleep", {"1000"}, 1);  // never reads its stdin
    const std::size_t chunk = 1000 * 1000;
    const std::uint32_t first_id = 10;
    for (std::uint32_t i = 0; i < 18; ++i) {
        client.send(proto::DataIn{first_id + i, std::string(chunk, 'x')});
    }
    const auto error = expect_packet<proto::ErrorReport>(client);
    EXPECT_EQ(error.code, proto::ErrorCode::stdin_overflow) << error.message;
    EXPECT_FALSE(error.fatal);
    // 16 packets (16 000 000 bytes) always fit in the 16 MiB queue.
    EXPECT_GE(error.request_id, first_id + 16);
    client.send(proto::KillProcess{50, SIGKILL});
    auto packet = client.receive();
    while (packet && std::holds_alternative<proto::ErrorReport>(*packet)) {
        EXPECT_EQ(std::get<proto::ErrorReport>(*packet).code, proto::ErrorCode::stdin_overflow);
        packet = client.receive();
    }
    ASSERT_TRUE(packet) << client.last_error();
    EXPECT_EQ(std::get<proto::ExitStatus>(*packet).reason, proto::ExitReason::killed);
}

}  // namespace
}  // namespace resin::test
