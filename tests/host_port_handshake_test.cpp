// The handshake: Hello first, the version checked, the features advertised, request id 0 refused.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <map>
#include <sstream>

#include "support/command_runner.hpp"
#include "support/port_expect.hpp"

namespace resin::test {
namespace {

std::map<std::string, std::string> features_printed_by_cli() {
    std::map<std::string, std::string> features;
    std::istringstream lines(run_resin({"--features"}).out);
    std::string key;
    std::string mechanism;
    while (std::getline(lines, key, '\t') && std::getline(lines, mechanism)) {
        features[key] = mechanism;
    }
    return features;
}

void expect_fatal_exit(PortClient& client) {
    EXPECT_TRUE(client.port_closed_by_resin());
    auto status = client.wait_exit();
    ASSERT_TRUE(status);
    EXPECT_TRUE(WIFEXITED(*status));
    EXPECT_EQ(WEXITSTATUS(*status), 125);
}

TEST(PortHandshake, HelloReplyEchoesTheRequestAndAdvertisesWhatTheCliPrints) {
    PortClient client;
    const auto reply = handshake(client, 7);
    EXPECT_EQ(reply.request_id, 7u);
    EXPECT_EQ(reply.version, proto::kProtocolVersion);
    const std::map<std::string, std::string> features(reply.features.begin(), reply.features.end());
    std::string version = run_resin({"--version"}).out;
    version.erase(version.find_last_not_of('\n') + 1);
    EXPECT_EQ(features.at("resin.version"), version);
    EXPECT_EQ(features.at("protocol.max_packet_size"), "1048576");
    EXPECT_TRUE(features.count("limits.wall_time_ms"));
    EXPECT_EQ(features, features_printed_by_cli());
}

TEST(PortHandshake, AVersionResinDoesNotSpeakIsAFatalVersionMismatchNamingItsVersions) {
    for (const std::uint32_t version : {0u, 4u, 0xFFFFFFFFu}) {
        SCOPED_TRACE(version);
        PortClient client;
        client.send(proto::Hello{1, version});
        const auto error = expect_error(client, 1, proto::ErrorCode::version_mismatch);
        EXPECT_TRUE(error.fatal);
        EXPECT_EQ(error.message,
                  "resin speaks protocol versions 1, 2 and 3, not " + std::to_string(version));
        expect_fatal_exit(client);
    }
}

TEST(PortHandshake, HelloReplyEchoesVersion1To3) {
    for (const std::uint32_t version : {1u, 2u, 3u}) {
        PortClient client;
        EXPECT_EQ(handshake(client, 1, version).version, version);
    }
}

TEST(PortHandshake, Version2PacketsAreUnknownInAVersion1Session) {
    PortClient client;
    handshake(client, 1, 1);
    client.send(proto::SetShutdownGrace{2, 300});
    EXPECT_FALSE(expect_error(client, 2, proto::ErrorCode::unknown_packet_type).fatal);
    client.send(proto::StdinCredit{3, 10});
    EXPECT_FALSE(expect_error(client, 3, proto::ErrorCode::unknown_packet_type).fatal);
    client.send(proto::KillProcess{4, 9});
    expect_error(client, 4, proto::ErrorCode::no_process);
}

TEST(PortHandshake, Version3PacketsAreUnknownInVersion1And2Sessions) {
    for (const std::uint32_t version : {1u, 2u}) {
        SCOPED_TRACE(version);
        PortClient client;
        handshake(client, 1, version);
        client.send(proto::Prepare{2, R"({"extends":"default"})"});
        EXPECT_FALSE(expect_error(client, 2, proto::ErrorCode::unknown_packet_type).fatal);
        client.send(proto::Start{3, "/bin/true", {}, {}, ""});
        EXPECT_FALSE(expect_error(client, 3, proto::ErrorCode::unknown_packet_type).fatal);
        client.send(proto::Prepared{4});
        EXPECT_FALSE(expect_error(client, 4, proto::ErrorCode::unknown_packet_type).fatal);
        client.send(proto::KillProcess{5, 9});
        expect_error(client, 5, proto::ErrorCode::no_process);
    }
}

TEST(PortHandshake, StdinCreditFromTheClientIsUnexpectedInVersion2) {
    PortClient client;
    handshake(client, 1, 2);
    client.send(proto::StdinCredit{3, 10});
    EXPECT_FALSE(expect_error(client, 3, proto::ErrorCode::unexpected_packet).fatal);
}

TEST(PortHandshake, SetShutdownGraceAboveOneHourIsInvalid) {
    PortClient client;
    handshake(client, 1, 2);
    client.send(proto::SetShutdownGrace{2, proto::kMaxShutdownGraceMs});
    client.send(proto::SetShutdownGrace{3, proto::kMaxShutdownGraceMs + 1});
    // Replies come in request order: the first is about request 3, so 2 was accepted.
    EXPECT_FALSE(expect_error(client, 3, proto::ErrorCode::invalid_request).fatal);
}

TEST(PortHandshake, ARequestBeforeHelloIsFatal) {
    PortClient client;
    client.send(proto::GrantCredit{5, 100});
    const auto error = expect_error(client, 5, proto::ErrorCode::unexpected_packet);
    EXPECT_TRUE(error.fatal);
    expect_fatal_exit(client);
}

TEST(PortHandshake, RequestIdZeroIsRefusedAndTheSessionGoesOn) {
    PortClient client;
    handshake(client);
    client.send(proto::GrantCredit{0, 0xFFFFFFFF});
    const auto error = expect_error(client, 0, proto::ErrorCode::invalid_request);
    EXPECT_FALSE(error.fatal);
    client.send(proto::GrantCredit{2, 0xFFFFFFFF});
    start_process(client, 3, "/bin/sh", {"-c", "echo alive"});
    const auto output = collect_until_exit(client, 3);
    EXPECT_EQ(output.out, "alive\n");
}

TEST(PortHandshake, ASecondHelloIsUnexpectedButNotFatal) {
    PortClient client;
    handshake(client, 1);
    client.send(proto::Hello{2, proto::kProtocolVersion});
    EXPECT_FALSE(expect_error(client, 2, proto::ErrorCode::unexpected_packet).fatal);
    client.send(proto::KillProcess{3, 9});
    expect_error(client, 3, proto::ErrorCode::no_process);
}

}  // namespace
}  // namespace resin::test
