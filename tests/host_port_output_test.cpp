// The output path: stdout and stderr kept apart, nothing lost, and never more sent (or read) than
// the client granted.
#include <fcntl.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <iterator>

#include "support/host_processes.hpp"
#include "support/port_expect.hpp"
#include "support/spawn_resin.hpp"
#include "support/temp_dir.hpp"

namespace resin::test {
namespace {

constexpr std::uint64_t kGiB = 1024 * 1024 * 1024;
constexpr std::uint64_t kMiB = 1024 * 1024;

TEST(PortOutput, StdoutAndStderrArriveOnTheirOwnStreams) {
    PortClient client;
    const auto output = run_to_exit(client, "/bin/sh", {"-c", "echo out; echo err >&2"});
    EXPECT_EQ(output.out, "out\n");
    EXPECT_EQ(output.err, "err\n");
    EXPECT_EQ(output.exit.reason, proto::ExitReason::exited);
    EXPECT_EQ(output.exit.exit_code, 0);
}

// The pipes belong to the sandbox's identity, so the command may reopen them by name (a shell's
// `> /dev/stderr`, a converter told to write to /dev/stdout).
TEST(PortOutput, TheCommandCanReopenItsOutputThroughDevStdoutAndDevStderr) {
    PortClient client;
    const auto output =
        run_to_exit(client, "/bin/sh", {"-c", "echo out > /dev/stdout; echo err > /dev/stderr"});
    EXPECT_EQ(output.out, "out\n");
    EXPECT_EQ(output.err, "err\n");
    EXPECT_EQ(output.exit.exit_code, 0);
}

// Whether a process running as `uid`, forked from here, can open `path` for writing: 0, or errno.
int open_for_writing_as(uid_t uid, const std::string& path) {
    int result[2];
    if (::pipe(result) != 0) {
        return -1;
    }
    const pid_t child = ::fork();
    if (child == 0) {
        int err = 0;
        if (::setgroups(0, nullptr) != 0 || ::setresgid(uid, uid, uid) != 0 ||
            ::setresuid(uid, uid, uid) != 0) {
            err = -1;
        } else if (::open(path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC) < 0) {
            err = errno;
        }
        ::_exit(::write(result[1], &err, sizeof err) == sizeof err ? 0 : 1);
    }
    ::close(result[1]);
    int err = -1;
    if (::read(result[0], &err, sizeof err) != sizeof err) {
        err = -1;
    }
    ::close(result[0]);
    ::waitpid(child, nullptr, 0);
    return err;
}

// The pipes belong to the sandbox's uid (above), which other host processes may share (65534 is
// nobody's): the sandbox's user namespace must still keep them out.
TEST(PortOutput, HostProcessesSharingTheSandboxsUidCannotReachItsStdio) {
    if (::geteuid() != 0) {
        GTEST_SKIP() << "needs root: only a privileged resin maps the sandbox's uid to itself";
    }
    constexpr uid_t kNobody = 65534;
    // Control: a pipe owned by nobody, held by a process of nobody, is open to any process of
    // nobody.
    int fds[2];
    ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
    ASSERT_EQ(::fchown(fds[1], kNobody, kNobody), 0);
    const pid_t holder = ::fork();
    if (holder == 0) {
        if (::setgroups(0, nullptr) == 0 && ::setresgid(kNobody, kNobody, kNobody) == 0 &&
            ::setresuid(kNobody, kNobody, kNobody) == 0 && ::dup2(fds[1], 1) == 1) {
            ::execl("/bin/sleep", "sleep", "1000", nullptr);
        }
        ::_exit(127);
    }
    ::close(fds[1]);
    ::close(fds[0]);
    // Until the exec the holder is not dumpable, and the open is refused for that reason.
    const std::string holders_stdout = "/proc/" + std::to_string(holder) + "/fd/1";
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    int control = -1;
    while (control != 0 && std::chrono::steady_clock::now() < deadline) {
        control = open_for_writing_as(kNobody, holders_stdout);
    }
    ::kill(holder, SIGKILL);
    ::waitpid(holder, nullptr, 0);
    ASSERT_EQ(control, 0) << "control: another process of the same uid opens the pipe";

    PortClient client;
    handshake(client);
    client.send(proto::GrantCredit{2, 0xFFFFFFFF});
    const auto started = start_process(client, 3, "/bin/sh", {"-c", "echo ready; exec sleep 1000"});
    EXPECT_EQ(expect_packet<proto::DataOut>(client).data, "ready\n");
    const std::string status = read_file("/proc/" + std::to_string(started.os_pid) + "/status");
    ASSERT_NE(status.find("Uid:\t65534\t"), std::string::npos) << status;
    for (int fd = 0; fd < 3; ++fd) {
        const int err = open_for_writing_as(
            kNobody, "/proc/" + std::to_string(started.os_pid) + "/fd/" + std::to_string(fd));
        EXPECT_TRUE(err == EACCES || err == EPERM) << "fd " << fd << ": " << err;
    }
    client.send(proto::KillProcess{4, SIGKILL});
    EXPECT_EQ(expect_packet<proto::ExitStatus>(client).reason, proto::ExitReason::killed);
}

TEST(PortOutput, OneGibibyteArrivesExactlyBeforeExitStatus) {
    PortClient client;
    handshake(client);
    client.send(proto::GrantCredit{2, 0xFFFFFFFF});
    start_process(client, 3, "head", {"-c", std::to_string(kGiB), "/dev/zero"});
    std::uint64_t received = 0;
    for (;;) {
        auto packet = client.receive();
        ASSERT_TRUE(packet) << client.last_error() << " after " << received << " bytes";
        if (auto* data = std::get_if<proto::DataOut>(&*packet)) {
            ASSERT_EQ(data->stream, proto::Stream::stdout_stream);
            ASSERT_FALSE(data->data.empty());
            ASSERT_EQ(data->data.find_first_not_of('\0'), std::string::npos);
            received += data->data.size();
            continue;
        }
        const auto& exit = std::get<proto::ExitStatus>(*packet);
        EXPECT_EQ(exit.reason, proto::ExitReason::exited);
        EXPECT_EQ(exit.exit_code, 0);
        break;
    }
    EXPECT_EQ(received, kGiB);
}

TEST(PortOutput, NoDataOutEverExceedsTheCreditGranted) {
    PortClient client;
    handshake(client);
    const std::uint64_t total = 4 * kMiB;
    start_process(client, 3, "head", {"-c", std::to_string(total), "/dev/zero"});
    std::uint64_t granted = 0;
    std::uint64_t received = 0;
    auto receive_data = [&] {
        const auto data = expect_packet<proto::DataOut>(client);
        received += data.data.size();
        EXPECT_LE(received, granted);
    };

    // Tiny grants: each DataOut fits in what is left of them.
    for (std::uint32_t grant = 1; grant <= 64; ++grant) {
        client.send(proto::GrantCredit{10 + grant, grant % 7 + 1});
        granted += grant % 7 + 1;
        while (received < granted && !testing::Test::HasFailure()) {
            receive_data();
        }
    }
    // No credit left: nothing more is sent while the child is blocked writing.
    EXPECT_TRUE(client.stays_quiet_for(std::chrono::milliseconds(200)));

    // The rest in 64 KiB grants, then the exit.
    while (granted < total && !testing::Test::HasFailure()) {
        const auto grant =
            static_cast<std::uint32_t>(std::min<std::uint64_t>(64 * 1024, total - granted));
        client.send(proto::GrantCredit{100, grant});
        granted += grant;
        while (received < granted && !testing::Test::HasFailure()) {
            receive_data();
        }
    }
    const auto exit = expect_packet<proto::ExitStatus>(client);
    EXPECT_EQ(exit.reason, proto::ExitReason::exited);
    EXPECT_EQ(received, total);
}

TEST(PortOutput, ExitStatusWaitsForCreditToDrainTheLastOutput) {
    PortClient client;
    handshake(client);
    client.send(proto::GrantCredit{2, 3});
    start_process(client, 3, "/bin/sh", {"-c", "echo hello"});
    EXPECT_EQ(expect_packet<proto::DataOut>(client).data, "hel");
    // The process has ended long before, but its output is not all sent yet.
    EXPECT_TRUE(client.stays_quiet_for(std::chrono::milliseconds(200)));
    client.send(proto::GrantCredit{4, 100});
    EXPECT_EQ(expect_packet<proto::DataOut>(client).data, "lo\n");
    EXPECT_EQ(expect_packet<proto::ExitStatus>(client).reason, proto::ExitReason::exited);
}

TEST(PortOutput, ResinsMemoryDoesNotGrowWithTheOutputItMoves) {
    PortClient client;
    handshake(client);
    client.send(proto::GrantCredit{2, 0xFFFFFFFF});
    const std::uint64_t total = 256 * kMiB;
    // `read` keeps the command (and so resin) alive after the output, until CloseStdin.
    start_process(client, 3, "/bin/sh",
                  {"-c", "head -c " + std::to_string(total) + " /dev/zero; read line"});
    const std::uint64_t baseline = peak_rss_bytes(client.pid());
    ASSERT_GT(baseline, 0u);
    std::uint64_t received = 0;
    while (received < total && !testing::Test::HasFailure()) {
        received += expect_packet<proto::DataOut>(client).data.size();
    }
    const std::uint64_t peak = peak_rss_bytes(client.pid());
    EXPECT_LT(peak - baseline, 8 * kMiB)
        << "resin's peak RSS grew from " << baseline << " to " << peak << " bytes";
    client.send(proto::CloseStdin{4});
    EXPECT_EQ(expect_packet<proto::ExitStatus>(client).reason, proto::ExitReason::exited);
}

// splice(2) refuses a file opened with O_APPEND: resin must fall back to copying, frames intact.
TEST(PortOutput, APortThatCannotTakeSpliceGetsTheSameFramesByCopy) {
    TempDir dir;
    const std::string output_path = dir / "port-output";
    sandbox::UniqueFd output = high_fd(sandbox::UniqueFd(
        ::open(output_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600)));
    ASSERT_TRUE(output);
    auto [resin_in, requests] = high_pipe();
    const pid_t pid = spawn_resin({"--port"}, {{resin_in.get(), 3}, {output.get(), 4}});
    resin_in.reset();
    output.reset();

    const std::uint64_t total = 3 * kMiB + 12345;
    std::vector<std::uint8_t> frames;
    for (const proto::Packet& packet : std::vector<proto::Packet>{
             proto::Hello{1, proto::kProtocolVersion}, proto::GrantCredit{2, 0xFFFFFFFF},
             proto::StartProcess{
                 3, "head", {"-c", std::to_string(total), "/dev/zero"}, default_profile_json()}}) {
        proto::encode_frame(packet, frames);
    }
    ASSERT_EQ(::write(requests.get(), frames.data(), frames.size()),
              static_cast<ssize_t>(frames.size()));

    // resin waits for the port to close after ExitStatus: read the file until it holds one.
    std::uint64_t received = 0;
    std::optional<proto::Packet> last;
    proto::FrameReader reader;
    std::size_t consumed = 0;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!(last && std::holds_alternative<proto::ExitStatus>(*last)) &&
           std::chrono::steady_clock::now() < deadline) {
        std::ifstream in(output_path, std::ios::binary);
        const std::vector<std::uint8_t> written{std::istreambuf_iterator<char>(in), {}};
        reader.feed(std::span(written).subspan(consumed));
        consumed = written.size();
        while (auto next = reader.next()) {
            ASSERT_TRUE(std::holds_alternative<std::vector<std::uint8_t>>(*next));
            auto decoded = proto::decode_packet(std::get<std::vector<std::uint8_t>>(*next));
            ASSERT_TRUE(std::holds_alternative<proto::Packet>(decoded));
            last = std::get<proto::Packet>(std::move(decoded));
            if (const auto* data = std::get_if<proto::DataOut>(&*last)) {
                received += data->data.size();
            }
        }
    }
    requests.reset();
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    EXPECT_EQ(reader.buffered(), 0u);
    EXPECT_EQ(received, total);
    ASSERT_TRUE(last && std::holds_alternative<proto::ExitStatus>(*last));
}

}  // namespace
}  // namespace resin::test
