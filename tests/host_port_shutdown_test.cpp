// The port closing while a command runs (its owner or the whole VM died): resin sends SIGTERM,
// gives the tree the shutdown grace, then kills it, and exits no later than the grace plus a bound.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <nlohmann/json.hpp>

#include "support/host_processes.hpp"
#include "support/port_expect.hpp"
#include "support/temp_dir.hpp"

namespace resin::test {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

// resin's bound past the grace (docs/host.md, kShutdownBound).
constexpr milliseconds kShutdownBound{2000};

// The default profile plus `dir`, writable, at the same path.
std::string config_writing_to(const TempDir& dir) {
    auto config = nlohmann::json::parse(default_profile_json({.mounts = {dir.path()}}));
    config["filesystem"]["mounts"].back()["access"] = "rw";
    return config.dump();
}

// Starts `sh -c script` with `credit` for its output and reads output until its first line.
proto::ProcessStarted start_and_read_line(PortClient& client, const std::string& script,
                                          const std::string& config, std::uint32_t credit) {
    client.send(proto::GrantCredit{3, credit});
    auto started = start_process(client, 4, "/bin/sh", {"-c", script}, config);
    std::string line;
    while (line.find('\n') == std::string::npos && !testing::Test::HasFailure()) {
        line += expect_packet<proto::DataOut>(client).data;
    }
    EXPECT_TRUE(line.starts_with("ready\n")) << line;
    return started;
}

struct Ending {
    int status = -1;
    milliseconds after{0};
};

Ending wait_for_resin(PortClient& client, Clock::time_point since) {
    const auto status = client.wait_exit();
    EXPECT_TRUE(status) << "resin did not exit";
    return {status.value_or(-1), std::chrono::duration_cast<milliseconds>(Clock::now() - since)};
}

TEST(PortShutdown, ATermHandlerRunsToItsEndWhenThePortClosesEvenIfItPrints) {
    TempDir dir(0777);
    const std::string marker = dir / "handled";
    PortClient client;
    handshake(client, 1, 2);
    const milliseconds grace{20000};
    client.send(proto::SetShutdownGrace{2, static_cast<std::uint32_t>(grace.count())});
    // Credit for "ready\n" only: the handler's 4 MiB would fill the 1 MiB stdout pipe and block
    // it until the grace ran out, unless resin discards output once the client is gone.
    start_and_read_line(client,
                        "trap 'head -c 4194304 /dev/zero; echo bye > " + marker +
                            "; exit 0' TERM; echo ready; sleep 1000 & wait",
                        config_writing_to(dir), 6);
    const auto closed_at = Clock::now();
    client.close_port();
    const auto ending = wait_for_resin(client, closed_at);
    EXPECT_TRUE(WIFEXITED(ending.status) && WEXITSTATUS(ending.status) == 0);
    EXPECT_EQ(read_file(marker), "bye\n") << "the TERM handler did not finish";
    EXPECT_LT(ending.after, grace / 2) << "resin waited for the grace instead of the tree";
}

TEST(PortShutdown, ACommandIgnoringTermIsKilledWhenTheGraceRunsOut) {
    PortClient client;
    handshake(client, 1, 2);
    const milliseconds grace{300};
    client.send(proto::SetShutdownGrace{2, static_cast<std::uint32_t>(grace.count())});
    const auto started = start_and_read_line(client, "trap '' TERM; echo ready; exec sleep 1000",
                                             default_profile_json(), 0xFFFFFFFF);
    const auto command = static_cast<pid_t>(started.os_pid);
    const auto closed_at = Clock::now();
    client.close_port();
    const auto ending = wait_for_resin(client, closed_at);
    EXPECT_TRUE(WIFEXITED(ending.status) && WEXITSTATUS(ending.status) == 0);
    // It waited the grace (the command outlived SIGTERM), and not much longer.
    EXPECT_GE(ending.after, grace);
    EXPECT_LT(ending.after, grace + kShutdownBound);
    EXPECT_TRUE(wait_until_gone({command}, Clock::now() + milliseconds(2000)))
        << "the command outlived resin";
}

TEST(PortShutdown, ACommandThatExitsOnTermEndsAtOnceWithTheDefaultGrace) {
    PortClient client;
    handshake(client, 1, 2);
    const auto started =
        start_and_read_line(client, "echo ready; exec sleep 1000", default_profile_json(), 100);
    const auto closed_at = Clock::now();
    client.close_port();
    const auto ending = wait_for_resin(client, closed_at);
    EXPECT_TRUE(WIFEXITED(ending.status) && WEXITSTATUS(ending.status) == 0);
    EXPECT_LT(ending.after, milliseconds(proto::kDefaultShutdownGraceMs / 2));
    EXPECT_FALSE(is_alive(static_cast<pid_t>(started.os_pid)));
}

TEST(PortShutdown, AVersion1SessionAlsoGetsTermFirst) {
    TempDir dir(0777);
    const std::string marker = dir / "handled";
    PortClient client;
    handshake(client, 1, 1);
    start_and_read_line(
        client, "trap 'echo bye > " + marker + "; exit 0' TERM; echo ready; sleep 1000 & wait",
        config_writing_to(dir), 0xFFFFFFFF);
    client.close_port();
    const auto ending = wait_for_resin(client, Clock::now());
    EXPECT_TRUE(WIFEXITED(ending.status) && WEXITSTATUS(ending.status) == 0);
    EXPECT_EQ(read_file(marker), "bye\n");
}

TEST(PortShutdown, AWriteErrorOnTheOutputPortIsHandledLikeAClosedPort) {
    TempDir dir(0777);
    const std::string marker = dir / "handled";
    PortClient client;
    handshake(client, 1, 2);
    client.send(proto::SetShutdownGrace{2, 20000});
    // The command keeps printing, so resin keeps writing to the port.
    start_and_read_line(client,
                        "trap 'echo bye > " + marker +
                            "; exit 0' TERM; echo ready; while :; do echo tick; sleep 0.05; done",
                        config_writing_to(dir), 0xFFFFFFFF);
    const auto closed_at = Clock::now();
    client.stop_reading();  // fd 3 stays open: only the write error tells resin
    const auto ending = wait_for_resin(client, closed_at);
    EXPECT_TRUE(WIFEXITED(ending.status) && WEXITSTATUS(ending.status) == 0);
    EXPECT_EQ(read_file(marker), "bye\n");
    // Promptly: resin did not spin on the failed port until its output credit ran out.
    EXPECT_LT(ending.after, milliseconds(2000));
}

}  // namespace
}  // namespace resin::test
