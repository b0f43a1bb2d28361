// How a process ends and how that is reported: exit codes, signals, kill, stop, the wall-time
// limit, and the client or resin going away.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <map>

#include "proto/codec.hpp"
#include "support/host_processes.hpp"
#include "support/port_expect.hpp"
#include "support/sandbox_cgroups.hpp"
#include "support/temp_dir.hpp"

namespace resin::test {
namespace {

using std::chrono::milliseconds;

std::map<std::string, std::string> features_of_this_host() {
    PortClient client;
    const auto reply = handshake(client);
    return {reply.features.begin(), reply.features.end()};
}

struct Started {
    pid_t pid;
    std::string first_line;
};

// Starts `sh -c script` with unlimited credit and waits for its first line of output.
Started start_and_read_line(PortClient& client, const std::string& script) {
    handshake(client);
    client.send(proto::GrantCredit{2, 0xFFFFFFFF});
    const auto started = start_process(client, 3, "/bin/sh", {"-c", script});
    std::string line;
    while (line.find('\n') == std::string::npos && !testing::Test::HasFailure()) {
        line += expect_packet<proto::DataOut>(client).data;
    }
    return {static_cast<pid_t>(started.os_pid), line.substr(0, line.find('\n'))};
}

TEST(PortLifecycle, AnExitCodeIsReportedAsExited) {
    PortClient client;
    const auto exit = run_to_exit(client, "/bin/sh", {"-c", "exit 7"}).exit;
    EXPECT_EQ(exit.reason, proto::ExitReason::exited);
    EXPECT_EQ(exit.exit_code, 7);
    EXPECT_EQ(exit.signal, 0);
    EXPECT_GT(exit.wall_us, 0u);
}

TEST(PortLifecycle, ADeathBySignalNobodyAskedForIsReportedAsSignaled) {
    PortClient client;
    const auto exit = run_to_exit(client, "/bin/sh", {"-c", "kill -SEGV $$"}).exit;
    EXPECT_EQ(exit.reason, proto::ExitReason::signaled);
    EXPECT_EQ(exit.signal, SIGSEGV);
    EXPECT_EQ(exit.exit_code, 0);
}

TEST(PortLifecycle, KillProcessDeliversTheSignalAndReportsKilled) {
    for (const int sig : {SIGKILL, SIGTERM}) {
        SCOPED_TRACE(sig);
        PortClient client;
        start_and_read_line(client, "echo ready; exec sleep 1000");
        client.send(proto::KillProcess{4, static_cast<std::uint8_t>(sig)});
        const auto exit = expect_packet<proto::ExitStatus>(client);
        EXPECT_EQ(exit.request_id, 3u);
        EXPECT_EQ(exit.reason, proto::ExitReason::killed);
        EXPECT_EQ(exit.signal, sig);
    }
}

TEST(PortLifecycle, StopSendsTermThenKillsTheTreeAfterTheGracePeriod) {
    PortClient client;
    start_and_read_line(client, "trap '' TERM; echo ready; while :; do sleep 1; done");
    const auto stopped_at = std::chrono::steady_clock::now();
    client.send(proto::StopProcess{4, 300});
    const auto exit = expect_packet<proto::ExitStatus>(client);
    EXPECT_GE(std::chrono::steady_clock::now() - stopped_at, milliseconds(300));
    EXPECT_EQ(exit.reason, proto::ExitReason::killed);
    EXPECT_EQ(exit.signal, SIGKILL);
}

TEST(PortLifecycle, StopEndsAtTermWhenTheProcessHeedsIt) {
    PortClient client;
    start_and_read_line(client, "echo ready; exec sleep 1000");
    client.send(proto::StopProcess{4, 600000});
    const auto exit = expect_packet<proto::ExitStatus>(client, milliseconds(20000));
    EXPECT_EQ(exit.reason, proto::ExitReason::killed);
    EXPECT_EQ(exit.signal, SIGTERM);
}

TEST(PortLifecycle, TheWallTimeLimitEndsTheProcess) {
    PortClient client;
    handshake(client);
    start_process(client, 3, "sleep", {"1000"}, default_profile_json({.wall_time_ms = 200}));
    const auto exit = expect_packet<proto::ExitStatus>(client);
    EXPECT_EQ(exit.reason, proto::ExitReason::wall_time_limit);
    EXPECT_EQ(exit.signal, SIGKILL);
    EXPECT_GE(exit.wall_us, 200000u);
}

TEST(PortLifecycle, TheCpuTimeLimitEndsABusyProcess) {
    PortClient client;
    handshake(client);
    start_process(client, 3, "/bin/sh", {"-c", "while :; do :; done"},
                  default_profile_json({.cpu_time_ms = 300}));
    const auto exit = expect_packet<proto::ExitStatus>(client);
    EXPECT_EQ(exit.reason, proto::ExitReason::cpu_time_limit);
    // rusage counts in scheduler ticks, coarser than the cgroup resin polls.
    EXPECT_GE(exit.cpu_user_us + exit.cpu_system_us, 200000u);
}

TEST(PortLifecycle, TheMemoryLimitEndsTheWholeTree) {
    if (!features_of_this_host().at("limits.memory_bytes").starts_with("cgroup")) {
        GTEST_SKIP() << "no memory cgroup: the limit is a per-process RLIMIT_AS here";
    }
    PortClient client;
    handshake(client);
    // Credit: the shell may say on stderr what was killed, and ExitStatus waits for that.
    client.send(proto::GrantCredit{2, 0xFFFFFFFF});
    // A subshell holds 200 MB of command substitution; the OOM killer ends it, and the command
    // itself would carry on if resin did not end the rest of the tree.
    start_process(client, 3, "/bin/sh",
                  {"-c", "(x=$(head -c 200000000 /dev/zero | tr '\\0' a)); exec sleep 1000"},
                  default_profile_json({.memory_bytes = 32 * 1024 * 1024}));
    const auto exit = collect_until_exit(client, 3).exit;
    EXPECT_EQ(exit.reason, proto::ExitReason::memory_limit) << exit.detail;
}

// The grandchild leaves the command's session and process group and is re-parented: only killing
// the whole sandbox reaches it.
TEST(PortLifecycle, ClosingThePortKillsADetachedDoubleForkedGrandchild) {
    const std::string marker = unique_token() + ".5";  // a sleep time no other process uses
    PortClient client;
    const auto command =
        start_and_read_line(client, "setsid sh -c 'sleep " + marker +
                                        " </dev/null >/dev/null 2>&1 & echo $!'; exec sleep 1000");
    const auto found = wait_for_processes({"sleep", marker}, 1, Clock::now() + milliseconds(10000));
    ASSERT_EQ(found.size(), 1u) << "no process runs `sleep " << marker << "`";
    const pid_t grandchild = found.front();
    const std::string status = read_file("/proc/" + std::to_string(grandchild) + "/status");
    const auto nspid = status.find("NSpid:");
    ASSERT_NE(nspid, std::string::npos) << "the grandchild is gone already";
    const std::string namespace_pids = status.substr(nspid, status.find('\n', nspid) - nspid);
    EXPECT_TRUE(namespace_pids.ends_with("\t" + command.first_line))
        << "the command printed " << command.first_line << ", the grandchild is " << namespace_pids;

    client.close_port();
    EXPECT_TRUE(wait_until_gone({grandchild, command.pid}, Clock::now() + milliseconds(10000)));
    const auto resin_status = client.wait_exit();
    ASSERT_TRUE(resin_status);
    EXPECT_TRUE(WIFEXITED(*resin_status) && WEXITSTATUS(*resin_status) == 0);
}

TEST(PortLifecycle, AfterExitStatusResinKeepsReadingUntilTheClientClosesThePort) {
    // An Erlang port whose write meets EPIPE closes at once, dropping what it had not read yet: a
    // client's packet in flight when the process ends must not find the pipe closed.
    PortClient client;
    EXPECT_EQ(run_to_exit(client, "/bin/true", {}).exit.reason, proto::ExitReason::exited);
    // Far more than a pipe holds: every byte is written only if resin goes on reading.
    std::vector<std::uint8_t> frames;
    for (std::uint32_t i = 0; i < 200000; ++i) {
        proto::encode_frame(proto::GrantCredit{100 + i, 1}, frames);
    }
    client.send_bytes(frames);
    EXPECT_EQ(client.last_error(), "");
    EXPECT_TRUE(client.stays_quiet_for(std::chrono::milliseconds(0)))
        << "credit after ExitStatus is taken silently";
    client.close_port();
    const auto status = client.wait_exit();
    ASSERT_TRUE(status);
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0);
}

TEST(PortLifecycle, AStartProcessAfterExitStatusIsRefusedNotSilentlyDropped) {
    PortClient client;
    EXPECT_EQ(run_to_exit(client, "/bin/true", {}).exit.reason, proto::ExitReason::exited);
    client.send(proto::StartProcess{50, "/bin/true", {}, default_profile_json()});
    const auto reply = client.receive();
    ASSERT_TRUE(reply) << client.last_error();
    const auto* error = std::get_if<proto::ErrorReport>(&*reply);
    ASSERT_NE(error, nullptr);
    EXPECT_EQ(error->request_id, 50u);
    EXPECT_EQ(error->code, proto::ErrorCode::unexpected_packet);
    EXPECT_NE(error->message.find("has ended"), std::string::npos) << error->message;
    EXPECT_FALSE(error->fatal);
    client.close_port();
    const auto status = client.wait_exit();
    ASSERT_TRUE(status);
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0);
}

TEST(PortLifecycle, SigtermToResinEndsTheSandboxAndResin) {
    PortClient client;
    const auto command = start_and_read_line(client, "echo ready; exec sleep 1000");
    ::kill(client.pid(), SIGTERM);
    const auto status = client.wait_exit();
    ASSERT_TRUE(status);
    EXPECT_TRUE(WIFEXITED(*status));
    EXPECT_EQ(WEXITSTATUS(*status), 128 + SIGTERM);
    EXPECT_TRUE(wait_until_gone({command.pid}, Clock::now() + milliseconds(10000)));
}

// The port ending abnormally: resin killed with SIGKILL, no chance to clean up, and no other resin
// started after it. Its reaper (src/sandbox/cgroup_reaper.hpp) removes its sandbox cgroups, and
// the sandbox is gone, within a second.
TEST(PortLifecycle, SigkillToResinLeavesNoSandboxOrCgroupWithinASecond) {
    PortClient client;
    const auto command = start_and_read_line(client, "echo ready; exec sleep 1000");
    const pid_t resin = client.pid();
    EXPECT_EQ(sandbox_cgroups_of(resin).empty(), !cgroup_support().any());
    ::kill(resin, SIGKILL);
    ASSERT_TRUE(client.wait_exit());
    const auto deadline = Clock::now() + std::chrono::seconds(1);
    EXPECT_TRUE(wait_until(deadline, [resin] { return sandbox_cgroups_of(resin).empty(); }))
        << testing::PrintToString(sandbox_cgroups_of(resin));
    EXPECT_TRUE(wait_until_gone({command.pid}, deadline));
}

TEST(PortLifecycle, SigintToResinIsIgnored) {
    PortClient client;
    start_and_read_line(client, "echo ready; exec sleep 1000");
    ::kill(client.pid(), SIGINT);
    // Still serving: a request after the signal gets its answer, and the process is still there.
    client.send(proto::KillProcess{4, 0});
    expect_error(client, 4, proto::ErrorCode::invalid_request);
    client.send(proto::KillProcess{5, SIGKILL});
    EXPECT_EQ(expect_packet<proto::ExitStatus>(client).reason, proto::ExitReason::killed);
}

}  // namespace
}  // namespace resin::test
