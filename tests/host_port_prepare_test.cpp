// Prepared sandboxes (protocol version 3): Prepare builds the sandbox without its command, Start
// runs the one command in it. The command must see exactly the sandbox StartProcess would have
// built; wall time counts from Start; a prepared sandbox runs one command and leaves nothing behind
// whichever way it ends.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "support/host_processes.hpp"
#include "support/port_expect.hpp"
#include "support/sandbox_cgroups.hpp"
#include "support/sha256.hpp"

namespace resin::test {
namespace {

using std::chrono::milliseconds;

std::string pid_namespace_of(pid_t pid) {
    char target[64] = "";
    const auto link = "/proc/" + std::to_string(pid) + "/ns/pid";
    const ssize_t size = ::readlink(link.c_str(), target, sizeof target - 1);
    return size > 0 ? std::string(target, static_cast<std::size_t>(size)) : "";
}

// The sandbox inits among resin's children: those in a pid namespace of their own (the other
// child is resin's cgroup reaper).
std::vector<pid_t> sandbox_inits_of(pid_t resin) {
    std::ifstream file("/proc/" + std::to_string(resin) + "/task/" + std::to_string(resin) +
                       "/children");
    std::vector<pid_t> inits;
    for (pid_t child; file >> child;) {
        if (pid_namespace_of(child) != pid_namespace_of(resin)) {
            inits.push_back(child);
        }
    }
    return inits;
}

// The children of `pid` (its main thread's).
std::vector<pid_t> children_of(pid_t pid) {
    std::ifstream file("/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) +
                       "/children");
    std::vector<pid_t> children;
    for (pid_t child; file >> child;) {
        children.push_back(child);
    }
    return children;
}

void prepare(PortClient& client, std::uint32_t id, const std::string& config) {
    client.send(proto::Prepare{id, config});
    EXPECT_EQ(expect_packet<proto::Prepared>(client).request_id, id);
}

// Handshake (version 3), unlimited credit, Prepare.
void handshake_and_prepare(PortClient& client, const std::string& config = default_profile_json()) {
    handshake(client, 1, 3);
    client.send(proto::GrantCredit{2, 0xFFFFFFFF});
    prepare(client, 3, config);
}

ProcessOutput start_to_exit(PortClient& client, std::uint32_t id, proto::Start start) {
    start.request_id = id;
    client.send(start);
    EXPECT_EQ(expect_packet<proto::ProcessStarted>(client).request_id, id);
    return collect_until_exit(client, id);
}

proto::Start command(std::string executable, std::vector<std::string> args, std::uint32_t id = 4) {
    return proto::Start{id, std::move(executable), std::move(args), {}, {}};
}

// What a command sees of its sandbox: identity, namespaces' view, filesystem, limits, filter.
const char* const kSandboxView =
    "id; hostname; echo \"$PWD\"; ls -a /; cat /proc/self/cgroup; ulimit -a; "
    "grep -E '^(Seccomp|NoNewPrivs|Cap(Inh|Prm|Eff|Bnd|Amb))' /proc/self/status; "
    "echo /proc/[0-9]*; env | sort";

TEST(PortPrepare, PreparedThenStartedRunsTheCommandUnderTheStartsRequestId) {
    PortClient client;
    handshake_and_prepare(client);
    const auto output = start_to_exit(client, 4, command("/bin/sh", {"-c", "echo hi; exit 3"}));
    EXPECT_EQ(output.out, "hi\n");
    EXPECT_EQ(output.exit.reason, proto::ExitReason::exited);
    EXPECT_EQ(output.exit.exit_code, 3);
}

TEST(PortPrepare, TheCommandSeesTheSameSandboxAsStartProcessBuilds) {
    for (const auto& config : {default_profile_json(), std::string(R"({"extends":"default"})"),
                               std::string(R"({"extends":"trusted"})")}) {
        SCOPED_TRACE(config);
        PortClient on_demand;
        const auto expected = run_to_exit(on_demand, "/bin/sh", {"-c", kSandboxView}, config);
        ASSERT_EQ(expected.exit.exit_code, 0) << expected.err;
        PortClient prepared;
        handshake_and_prepare(prepared, config);
        const auto seen = start_to_exit(prepared, 4, command("/bin/sh", {"-c", kSandboxView}));
        EXPECT_EQ(seen.exit.exit_code, 0) << seen.err;
        EXPECT_EQ(seen.out, expected.out);
        EXPECT_EQ(seen.err, expected.err);
    }
}

TEST(PortPrepare, StartsEnvSetsAndRemovesAfterTheConfigsAndItsCwdReplacesTheConfigs) {
    PortClient client;
    handshake_and_prepare(client);
    auto start = command("/bin/sh", {"-c", "echo \"$PWD\"; exec /usr/bin/env"});
    start.env = {"A=1", "PATH", "B=x=y", "A=2"};
    start.cwd = "/usr";
    const auto output = start_to_exit(client, 4, start);
    EXPECT_EQ(output.out.substr(0, output.out.find('\n')), "/usr");
    EXPECT_NE(output.out.find("\nA=2\n"), std::string::npos) << output.out;
    EXPECT_NE(output.out.find("\nB=x=y\n"), std::string::npos) << output.out;
    EXPECT_EQ(output.out.find("A=1"), std::string::npos) << output.out;
    EXPECT_EQ(output.out.find("PATH="), std::string::npos) << output.out;
    // The config's PATH without that change.
    PortClient unchanged;
    handshake_and_prepare(unchanged);
    const auto plain = start_to_exit(unchanged, 4, command("/usr/bin/env", {}));
    EXPECT_NE(plain.out.find("PATH="), std::string::npos) << plain.out;
}

TEST(PortPrepare, AStartThatCannotChangeToItsCwdFailsAndSpendsTheSandbox) {
    PortClient client;
    handshake_and_prepare(client);
    auto start = command("/bin/true", {});
    start.cwd = "/no/such/directory";
    client.send(start);
    const auto error = expect_error(client, 4, proto::ErrorCode::spawn_failed);
    EXPECT_NE(error.message.find("/no/such/directory"), std::string::npos) << error.message;
    // The start's cwd stands in for the config's: the error names that field, as a failed chdir to
    // the config's own does.
    EXPECT_EQ(error.json_pointer, "/filesystem/cwd");
    client.send(command("/bin/true", {}, 5));
    expect_error(client, 5, proto::ErrorCode::unexpected_packet);
}

TEST(PortPrepare, AStartThatCannotChangeToTheConfigsCwdNamesTheField) {
    PortClient client;
    handshake_and_prepare(client,
                          R"({"extends":"default","filesystem":{"cwd":"/no/such/directory"}})");
    client.send(command("/bin/true", {}));
    const auto error = expect_error(client, 4, proto::ErrorCode::spawn_failed);
    EXPECT_NE(error.message.find("/no/such/directory"), std::string::npos) << error.message;
    EXPECT_EQ(error.json_pointer, "/filesystem/cwd");
}

TEST(PortPrepare, WallTimeCountsFromStartAndTheLimitStartsThen) {
    PortClient client;
    ConfigExtras extras;
    extras.wall_time_ms = 400;
    handshake_and_prepare(client, default_profile_json(extras));
    // The prepared sandbox waits longer than its wall-time limit before its command arrives.
    std::this_thread::sleep_for(milliseconds(600));
    const auto output = start_to_exit(client, 4, command("/bin/sh", {"-c", "echo ran"}));
    EXPECT_EQ(output.out, "ran\n");
    EXPECT_EQ(output.exit.reason, proto::ExitReason::exited);
    EXPECT_LT(output.exit.wall_us, 400'000u);
    // And the limit still holds for the command itself.
    PortClient limited;
    handshake_and_prepare(limited, default_profile_json(extras));
    const auto ended = start_to_exit(limited, 4, command("/bin/sleep", {"10"}));
    EXPECT_EQ(ended.exit.reason, proto::ExitReason::wall_time_limit);
    EXPECT_GE(ended.exit.wall_us, 400'000u);
}

// A line of /proc/<pid>/status that is a signal set ("SigBlk", "SigCgt"): bit n - 1 for signal n.
std::uint64_t signal_set_of(pid_t pid, const std::string& field) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(status, line);) {
        if (line.rfind(field + ":", 0) == 0) {
            return std::stoull(line.substr(field.size() + 1), nullptr, 16);
        }
    }
    ADD_FAILURE() << "no " << field << " for " << pid;
    return 0;
}

// Every signal but SIGKILL and SIGSTOP, which cannot be blocked.
constexpr std::uint64_t kEveryBlockableSignal =
    ~((std::uint64_t{1} << (SIGKILL - 1)) | (std::uint64_t{1} << (SIGSTOP - 1)));

// Signals beyond the common ones: glibc's own two below SIGRTMIN (32 and 33, which glibc's
// sigfillset, sigprocmask and sigaction leave out), and real-time ones from SIGRTMIN to SIGRTMAX.
std::vector<int> every_kind_of_signal() {
    return {SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGALRM, 32, 33, SIGRTMIN, SIGRTMIN + 10, SIGRTMAX};
}

TEST(PortPrepare, SignalsSentBeforeStartDoNotReachTheCommand) {
    PortClient client;
    handshake_and_prepare(client);
    const auto inits = sandbox_inits_of(client.pid());
    ASSERT_EQ(inits.size(), 1u);
    EXPECT_EQ(signal_set_of(inits.front(), "SigBlk"), kEveryBlockableSignal);
    // The init forwards every signal it gets to its command: sent now, there is none yet.
    for (int sig : every_kind_of_signal()) {
        ASSERT_EQ(::kill(inits.front(), sig), 0) << sig;
    }
    const auto output = start_to_exit(client, 4, command("/bin/sh", {"-c", "echo started"}));
    EXPECT_EQ(output.out, "started\n");
    EXPECT_EQ(output.exit.reason, proto::ExitReason::exited);
    EXPECT_EQ(output.exit.exit_code, 0);
}

// The command's process is forked while the sandbox is prepared, and waits for the start with
// every signal blocked: what it was sent meanwhile is dropped, as the init drops what it was sent.
TEST(PortPrepare, SignalsSentToTheWaitingCommandProcessDoNotReachTheCommand) {
    PortClient client;
    handshake_and_prepare(client);
    const auto inits = sandbox_inits_of(client.pid());
    ASSERT_EQ(inits.size(), 1u);
    const auto waiting = children_of(inits.front());
    ASSERT_EQ(waiting.size(), 1u) << "the command's process waits, forked, in a prepared sandbox";
    EXPECT_EQ(signal_set_of(waiting.front(), "SigBlk"), kEveryBlockableSignal);
    EXPECT_EQ(signal_set_of(waiting.front(), "SigCgt"), 0u) << "resin's handlers, reset";
    EXPECT_EQ(signal_set_of(waiting.front(), "SigIgn"), 0u);
    for (int sig : every_kind_of_signal()) {
        ASSERT_EQ(::kill(waiting.front(), sig), 0) << sig;
    }
    EXPECT_TRUE(is_alive(waiting.front()));
    const auto output = start_to_exit(client, 4, command("/bin/sh", {"-c", "echo started"}));
    EXPECT_EQ(output.out, "started\n");
    EXPECT_EQ(output.exit.reason, proto::ExitReason::exited);
    EXPECT_EQ(output.exit.exit_code, 0);
}

// A process glibc's posix_spawn starts has glibc's own signals (32, 33) ignored, and an ignored
// signal stays ignored across exec: resin, started so here, must not hand that on to the command.
// glibc's sigaction refuses those two, so a reset through it leaves them as they were.
TEST(PortPrepare, TheCommandStartsWithNoSignalBlockedOrIgnored) {
    PortClient client;
    handshake_and_prepare(client);
    constexpr std::uint64_t kGlibcsOwn = (std::uint64_t{1} << 31) | (std::uint64_t{1} << 32);
    EXPECT_EQ(signal_set_of(client.pid(), "SigIgn") & kGlibcsOwn, kGlibcsOwn)
        << "control: resin, started by posix_spawn, ignores 32 and 33";
    const auto output = start_to_exit(
        client, 4, command("/bin/grep", {"-E", "^Sig(Blk|Ign)", "/proc/self/status"}));
    EXPECT_EQ(output.out, "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n");
    EXPECT_EQ(output.exit.exit_code, 0) << output.err;
}

// Whether `pid` holds a signalfd: the init opens its own once it supervises the command, after it
// has discarded what it was sent before the start.
bool holds_signalfd(pid_t pid) {
    const std::string fds = "/proc/" + std::to_string(pid) + "/fd/";
    for (int fd = 0; fd < 64; ++fd) {
        char target[64] = "";
        const ssize_t size = ::readlink((fds + std::to_string(fd)).c_str(), target, sizeof target);
        if (size > 0 &&
            std::string(target, static_cast<std::size_t>(size)) == "anon_inode:[signalfd]") {
            return true;
        }
    }
    return false;
}

// What the init is sent once the command runs, it forwards: glibc's own signals (32, 33) and the
// real-time ones as much as any.
TEST(PortPrepare, SignalsSentToTheInitAfterStartReachTheCommand) {
    for (int sig : {32, 33, SIGRTMIN, SIGRTMAX, SIGUSR1}) {
        SCOPED_TRACE(sig);
        PortClient client;
        handshake_and_prepare(client);
        const auto inits = sandbox_inits_of(client.pid());
        ASSERT_EQ(inits.size(), 1u);
        client.send(command("/bin/sleep", {"1000"}));
        EXPECT_EQ(expect_packet<proto::ProcessStarted>(client).request_id, 4u);
        ASSERT_TRUE(
            wait_until(Clock::now() + kRunTimeout, [&] { return holds_signalfd(inits.front()); }));
        ASSERT_EQ(::kill(inits.front(), sig), 0);
        const auto output = collect_until_exit(client, 4);
        EXPECT_EQ(output.exit.reason, proto::ExitReason::signaled);
        EXPECT_EQ(output.exit.signal, sig);
    }
}

TEST(PortPrepare, AWaitingCommandProcessKilledBeforeStartFailsTheStartAndLeavesNothing) {
    PortClient client;
    handshake_and_prepare(client);
    const auto inits = sandbox_inits_of(client.pid());
    ASSERT_EQ(inits.size(), 1u);
    const auto waiting = children_of(inits.front());
    ASSERT_EQ(waiting.size(), 1u);
    ASSERT_EQ(::kill(waiting.front(), SIGKILL), 0);
    ASSERT_TRUE(wait_until(Clock::now() + kRunTimeout, [&] { return !is_alive(waiting.front()); }));
    client.send(command("/bin/true", {}));
    expect_error(client, 4, proto::ErrorCode::spawn_failed);
    EXPECT_TRUE(wait_until_gone(inits, Clock::now() + kRunTimeout));
    client.send(command("/bin/true", {}, 5));
    expect_error(client, 5, proto::ErrorCode::unexpected_packet);
}

// ExitStatus says the command's whole tree is gone. When the command leaves nothing behind, resin
// reports as soon as the init says so, before the namespaces are torn down; when it leaves
// processes behind, only once they are dead: checked at once, not eventually.
TEST(PortPrepare, ExitStatusComesOnlyOnceEveryProcessOfTheTreeIsGone) {
    // Its own duration, so that another test process's sleeps are not taken for this one's.
    const std::string seconds = std::to_string(1000000 + ::getpid());
    const Argv left_behind = {"/bin/sleep", seconds};
    const std::string sleep = "/bin/sleep " + seconds;
    // Each exits once its sleeps run (until then their command lines are the shell's).
    const std::string sleeping =
        "until [ \"$(cat /proc/[0-9]*/comm 2>/dev/null | grep -cx sleep)\" = $n ]; do :; done; "
        "exit 7";
    const std::string scripts[] = {
        "n=1; " + sleep + " & " + sleeping,
        "n=2; (setsid " + sleep + " &); " + sleep + " & " + sleeping,
        "exit 7",
    };
    for (const std::string& script : scripts) {
        SCOPED_TRACE(script);
        PortClient client;
        handshake_and_prepare(client);
        const auto output = start_to_exit(client, 4, command("/bin/sh", {"-c", script}));
        EXPECT_EQ(output.exit.exit_code, 7) << output.err;
        EXPECT_EQ(pids_running(left_behind), std::vector<pid_t>{});
    }
}

TEST(PortPrepare, StdinReachesTheStartedCommandWhole) {
    PortClient client;
    handshake_and_prepare(client);
    client.set_absorb_stdin_credit(false);
    client.send(proto::Start{4, "/usr/bin/sha256sum", {}, {}, {}});
    EXPECT_EQ(expect_packet<proto::ProcessStarted>(client).request_id, 4u);
    EXPECT_EQ(expect_packet<proto::StdinCredit>(client).bytes, proto::kStdinWindow);
    client.set_absorb_stdin_credit(true);
    std::string input(300000, 'x');
    for (std::size_t i = 0; i < input.size(); ++i) {
        input[i] = static_cast<char>(i * 7 % 251);
    }
    client.send(proto::DataIn{5, input});
    client.send(proto::CloseStdin{6});
    const auto output = collect_until_exit(client, 4);
    Sha256 digest;
    digest.update(input);
    EXPECT_EQ(output.out, digest.hex_digest() + "  -\n");
}

TEST(PortPrepare, RequestsOutOfOrderAreRefusedAndLeaveTheSessionUsable) {
    PortClient client;
    handshake(client, 1, 3);
    client.send(command("/bin/true", {}, 2));
    expect_error(client, 2, proto::ErrorCode::unexpected_packet);
    prepare(client, 2, default_profile_json());
    client.send(proto::Prepare{3, default_profile_json()});
    expect_error(client, 3, proto::ErrorCode::unexpected_packet);
    client.send(proto::StartProcess{4, "/bin/true", {}, default_profile_json()});
    expect_error(client, 4, proto::ErrorCode::unexpected_packet);
    client.send(proto::KillProcess{5, SIGKILL});
    expect_error(client, 5, proto::ErrorCode::no_process);
    client.send(proto::StopProcess{6, 0});
    expect_error(client, 6, proto::ErrorCode::no_process);
    client.send(proto::DataIn{7, "x"});
    expect_error(client, 7, proto::ErrorCode::no_process);
    client.send(proto::CloseStdin{8});
    expect_error(client, 8, proto::ErrorCode::no_process);
    client.send(proto::GrantCredit{9, 0xFFFFFFFF});
    const auto output = start_to_exit(client, 10, command("/bin/sh", {"-c", "echo still"}));
    EXPECT_EQ(output.out, "still\n");
    client.send(proto::Prepare{11, default_profile_json()});
    expect_error(client, 11, proto::ErrorCode::unexpected_packet);
}

TEST(PortPrepare, AnInvalidStartIsRefusedAndTheSandboxStaysPrepared) {
    PortClient client;
    handshake_and_prepare(client);
    const std::vector<proto::Start> invalid = {
        {4, std::string("a\0b", 3), {}, {}, {}},
        {5, "/bin/true", {std::string("\0", 1)}, {}, {}},
        {6, "/bin/true", {}, {"=value"}, {}},
        {7, "/bin/true", {}, {""}, {}},
        {8, "/bin/true", {}, {std::string("A=\0", 3)}, {}},
        {9, "/bin/true", {}, {}, "relative/dir"},
    };
    for (const auto& start : invalid) {
        client.send(start);
        expect_error(client, start.request_id, proto::ErrorCode::invalid_request);
    }
    EXPECT_EQ(start_to_exit(client, 10, command("/bin/sh", {"-c", "echo ok"})).out, "ok\n");
}

TEST(PortPrepare, AMissingExecutableSpendsTheSandboxAndLeavesNothingRunning) {
    PortClient client;
    handshake_and_prepare(client);
    const auto init = sandbox_inits_of(client.pid());
    ASSERT_FALSE(init.empty());
    client.send(command("no-such-command", {}));
    expect_error(client, 4, proto::ErrorCode::executable_not_found);
    EXPECT_TRUE(wait_until_gone(init, Clock::now() + kRunTimeout));
    client.send(command("/bin/true", {}, 5));
    const auto error = expect_error(client, 5, proto::ErrorCode::unexpected_packet);
    EXPECT_NE(error.message.find("one command"), std::string::npos) << error.message;
}

TEST(PortPrepare, AConfigErrorInPrepareNamesTheFieldAndTheSessionStaysReady) {
    PortClient client;
    handshake(client, 1, 3);
    client.send(proto::Prepare{2, R"({"extends":"default","limits":{"memory_bytes":"lots"}})"});
    const auto error = expect_error(client, 2, proto::ErrorCode::invalid_config);
    EXPECT_EQ(error.json_pointer, "/limits/memory_bytes");
    client.send(proto::GrantCredit{3, 0xFFFFFFFF});
    prepare(client, 4, default_profile_json());
    EXPECT_EQ(start_to_exit(client, 5, command("/bin/sh", {"-c", "echo ok"})).out, "ok\n");
}

TEST(PortPrepare, ClosingThePortOfAPreparedSandboxRemovesItAndResinExits) {
    PortClient client;
    handshake_and_prepare(client, R"({"extends":"default"})");
    const auto children = sandbox_inits_of(client.pid());
    ASSERT_FALSE(children.empty());
    ASSERT_FALSE(sandbox_cgroups_of(client.pid()).empty());
    const pid_t resin = client.pid();
    client.close_port();
    const auto status = client.wait_exit();
    ASSERT_TRUE(status.has_value());
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << *status;
    EXPECT_TRUE(wait_until_gone(children, Clock::now() + kRunTimeout));
    EXPECT_TRUE(wait_until(Clock::now() + kRunTimeout,
                           [resin] { return sandbox_cgroups_of(resin).empty(); }));
}

TEST(PortPrepare, KillingResinOfAPreparedSandboxTakesItsInitAndCgroupsWithIt) {
    PortClient client;
    handshake_and_prepare(client, R"({"extends":"default"})");
    const auto children = sandbox_inits_of(client.pid());
    ASSERT_FALSE(children.empty());
    const pid_t resin = client.pid();
    ASSERT_EQ(::kill(resin, SIGKILL), 0);
    ASSERT_TRUE(client.wait_exit().has_value());
    EXPECT_TRUE(wait_until_gone(children, Clock::now() + kRunTimeout));
    EXPECT_TRUE(wait_until(Clock::now() + kRunTimeout,
                           [resin] { return sandbox_cgroups_of(resin).empty(); }));
}

TEST(PortPrepare, VersionTwoSessionsDoNotKnowThePacketsOfVersionThree) {
    PortClient client;
    handshake(client, 1, 2);
    client.send(proto::Prepare{2, default_profile_json()});
    expect_error(client, 2, proto::ErrorCode::unknown_packet_type);
    client.send(command("/bin/true", {}, 3));
    expect_error(client, 3, proto::ErrorCode::unknown_packet_type);
    client.send(proto::GrantCredit{4, 0xFFFFFFFF});
    start_process(client, 5, "/bin/sh", {"-c", "echo v2"});
    EXPECT_EQ(collect_until_exit(client, 5).out, "v2\n");
}

}  // namespace
}  // namespace resin::test
