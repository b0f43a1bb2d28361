// Bad requests get an ErrorReport carrying their request id and leave the session consistent;
// only a broken frame stream is fatal.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>

#include "support/host_processes.hpp"
#include "support/port_expect.hpp"
#include "support/spawn_resin.hpp"
#include "support/temp_dir.hpp"

namespace resin::test {
namespace {

std::vector<std::uint8_t> frame_of(const std::vector<std::uint8_t>& body) {
    const auto n = static_cast<std::uint32_t>(body.size());
    std::vector<std::uint8_t> frame(proto::kLengthPrefixSize + body.size());
    for (std::size_t i = 0; i < proto::kLengthPrefixSize; ++i) {
        frame[i] = static_cast<std::uint8_t>(n >> (8 * (proto::kLengthPrefixSize - 1 - i)));
    }
    std::copy(body.begin(), body.end(), frame.begin() + proto::kLengthPrefixSize);
    return frame;
}

// The session still works: a process runs and reports its exit.
void expect_a_process_still_runs(PortClient& client, std::uint32_t request_id) {
    client.send(proto::GrantCredit{request_id, 0xFFFFFFFF});
    start_process(client, request_id + 1, "/bin/sh", {"-c", "echo ok"});
    const auto output = collect_until_exit(client, request_id + 1);
    EXPECT_EQ(output.out, "ok\n");
    EXPECT_EQ(output.exit.reason, proto::ExitReason::exited);
}

void expect_resin_exits_after_fatal_report(PortClient& client) {
    EXPECT_TRUE(client.port_closed_by_resin());
    const auto status = client.wait_exit();
    ASSERT_TRUE(status);
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 125);
}

TEST(PortErrors, AMalformedBodyIsReportedWithItsRequestIdAndTheSessionGoesOn) {
    PortClient client;
    handshake(client);
    // KillProcess, request 42, signal 9, and one trailing byte.
    client.send_bytes(frame_of({0x03, 0, 0, 0, 42, 9, 0xFF}));
    const auto error = expect_error(client, 42, proto::ErrorCode::malformed_packet);
    EXPECT_FALSE(error.fatal);
    expect_a_process_still_runs(client, 43);
}

TEST(PortErrors, AnUnknownTypeIsReportedWithItsRequestIdAndTheSessionGoesOn) {
    PortClient client;
    handshake(client);
    client.send_bytes(frame_of({0x0b, 0, 0, 0, 77}));
    EXPECT_FALSE(expect_error(client, 77, proto::ErrorCode::unknown_packet_type).fatal);
    expect_a_process_still_runs(client, 78);
}

TEST(PortErrors, APacketOnlyResinSendsIsUnexpected) {
    PortClient client;
    handshake(client);
    client.send(proto::ProcessStarted{5, 1234});
    EXPECT_FALSE(expect_error(client, 5, proto::ErrorCode::unexpected_packet).fatal);
    expect_a_process_still_runs(client, 6);
}

TEST(PortErrors, AnOversizedFrameLengthIsFatalAndKillsTheProcess) {
    PortClient client;
    handshake(client);
    const auto started = start_process(client, 3, "sleep", {"1000"});
    client.send_bytes(std::vector<std::uint8_t>{0x00, 0x10, 0x00, 0x01});  // 1 MiB + 1
    const auto error = expect_error(client, 0, proto::ErrorCode::packet_too_large);
    EXPECT_TRUE(error.fatal);
    expect_resin_exits_after_fatal_report(client);
    EXPECT_TRUE(wait_until_gone({static_cast<pid_t>(started.os_pid)},
                                Clock::now() + std::chrono::seconds(10)));
}

TEST(PortErrors, AZeroFrameLengthIsFatal) {
    PortClient client;
    handshake(client);
    client.send_bytes(std::vector<std::uint8_t>{0, 0, 0, 0});
    EXPECT_TRUE(expect_error(client, 0, proto::ErrorCode::malformed_packet).fatal);
    expect_resin_exits_after_fatal_report(client);
}

TEST(PortErrors, ProcessRequestsWithoutAProcessAreNoProcess) {
    PortClient client;
    handshake(client);
    client.send(proto::KillProcess{2, SIGTERM});
    expect_error(client, 2, proto::ErrorCode::no_process);
    client.send(proto::StopProcess{3, 100});
    expect_error(client, 3, proto::ErrorCode::no_process);
    client.send(proto::DataIn{4, "x"});
    expect_error(client, 4, proto::ErrorCode::no_process);
    client.send(proto::CloseStdin{5});
    expect_error(client, 5, proto::ErrorCode::no_process);
    expect_a_process_still_runs(client, 6);
}

TEST(PortErrors, ASecondStartProcessWhileRunningIsUnexpected) {
    PortClient client;
    handshake(client);
    start_process(client, 2, "sleep", {"1000"});
    client.send(proto::StartProcess{3, "/bin/true", {}, default_profile_json()});
    EXPECT_FALSE(expect_error(client, 3, proto::ErrorCode::unexpected_packet).fatal);
    client.send(proto::KillProcess{4, SIGKILL});
    const auto exit = expect_packet<proto::ExitStatus>(client);
    EXPECT_EQ(exit.request_id, 2u);
    EXPECT_EQ(exit.reason, proto::ExitReason::killed);
}

TEST(PortErrors, AMissingExecutableIsReportedAndTheClientMayTryAgain) {
    PortClient client;
    handshake(client);
    client.send(proto::StartProcess{2, "/no/such/command", {}, default_profile_json()});
    EXPECT_FALSE(expect_error(client, 2, proto::ErrorCode::executable_not_found).fatal);
    expect_a_process_still_runs(client, 3);
}

TEST(PortErrors, ANonExecutableFileIsPermissionDenied) {
    TempDir dir;
    const auto script = dir / "script";
    write_file(script, "#!/bin/sh\necho hi\n");
    PortClient client;
    handshake(client);
    client.send(proto::StartProcess{2, script, {}, default_profile_json({.mounts = {dir.path()}})});
    expect_error(client, 2, proto::ErrorCode::permission_denied);
}

TEST(PortErrors, AnInvalidConfigNamesTheOffendingFieldsPointer) {
    PortClient client;
    handshake(client);
    client.send(proto::StartProcess{2, "/bin/true", {}, R"({"limits": {"wall_time_ms": "soon"}})"});
    const auto error = expect_error(client, 2, proto::ErrorCode::invalid_config);
    EXPECT_EQ(error.json_pointer, "/limits/wall_time_ms");
    expect_a_process_still_runs(client, 3);
}

TEST(PortErrors, AnUnknownProfileToExtendIsAnInvalidConfigAtExtends) {
    PortClient client;
    handshake(client);
    client.send(proto::StartProcess{2, "/bin/true", {}, R"({"extends": "no-such-profile"})"});
    EXPECT_EQ(expect_error(client, 2, proto::ErrorCode::invalid_config).json_pointer, "/extends");
}

TEST(PortErrors, ANulByteInAnArgumentIsAnInvalidRequest) {
    PortClient client;
    handshake(client);
    client.send(
        proto::StartProcess{2, "/bin/echo", {std::string("a\0b", 3)}, default_profile_json()});
    expect_error(client, 2, proto::ErrorCode::invalid_request);
    client.send(
        proto::StartProcess{3, std::string("/bin/echo\0x", 11), {}, default_profile_json()});
    expect_error(client, 3, proto::ErrorCode::invalid_request);
    expect_a_process_still_runs(client, 4);
}

TEST(PortErrors, ASignalOutsideOneTo64IsAnInvalidRequest) {
    PortClient client;
    handshake(client);
    start_process(client, 2, "sleep", {"1000"});
    client.send(proto::KillProcess{3, 0});
    expect_error(client, 3, proto::ErrorCode::invalid_request);
    client.send(proto::KillProcess{4, 65});
    expect_error(client, 4, proto::ErrorCode::invalid_request);
    client.send(proto::KillProcess{5, SIGKILL});
    EXPECT_EQ(expect_packet<proto::ExitStatus>(client).reason, proto::ExitReason::killed);
}

// A command writing without end, its output granted but never read: resin's port (fd 4) fills.
constexpr const char* kLine = "0123456789abcdef\n";

// Everything written to `fd` (a memfd) from its start.
std::string contents_of(int fd) {
    std::string text;
    char chunk[4096];
    ssize_t n = 0;
    off_t at = 0;
    while ((n = ::pread(fd, chunk, sizeof chunk, at)) > 0) {
        text.append(chunk, static_cast<std::size_t>(n));
        at += n;
    }
    return text;
}

proto::ProcessStarted fill_the_port(PortClient& client) {
    client.send(proto::GrantCredit{2, 0xFFFFFFFF});
    const auto started = start_process(client, 3, "/usr/bin/yes", {"0123456789abcdef"});
    // A second writer on the same pipe, through /proc: without room for it, resin's own next
    // write to the port fails with EAGAIN as well.
    const std::string pipe = "/proc/self/fd/" + std::to_string(client.from_resin_fd());
    const sandbox::UniqueFd probe(::open(pipe.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
    EXPECT_TRUE(probe) << "reopening the port's pipe for writing";
    EXPECT_TRUE(wait_until(Clock::now() + std::chrono::seconds(10), [&probe] {
        pollfd writable{probe.get(), POLLOUT, 0};
        return ::poll(&writable, 1, 0) == 0;
    })) << "the port's pipe fills";
    return started;
}

// Reads everything resin sends after a fatal error that came while the port was full: DataOut
// with the command's own bytes, whole and in order, then the fatal ErrorReport, then resin exits.
void expect_whole_output_then_the_fatal_report(PortClient& client) {
    std::string out;
    std::optional<proto::Packet> packet;
    while ((packet = client.receive()) && std::holds_alternative<proto::DataOut>(*packet)) {
        const auto& data = std::get<proto::DataOut>(*packet);
        EXPECT_EQ(data.request_id, 3u);
        EXPECT_EQ(data.stream, proto::Stream::stdout_stream);
        out += data.data;
    }
    ASSERT_TRUE(packet) << client.last_error() << " (after " << out.size() << " output bytes)";
    const auto* error = std::get_if<proto::ErrorReport>(&*packet);
    ASSERT_NE(error, nullptr) << describe(*packet);
    EXPECT_EQ(error->code, proto::ErrorCode::packet_too_large);
    EXPECT_TRUE(error->fatal);
    EXPECT_GE(out.size(), 32u * 1024) << "output was queued before the report";
    std::string expected;
    while (expected.size() < out.size()) {
        expected += kLine;
    }
    EXPECT_TRUE(out == expected.substr(0, out.size())) << "the output bytes are the command's";
    expect_resin_exits_after_fatal_report(client);
}

// The fatal report goes after what was queued before it, and everything arrives whole.
TEST(PortErrors, AFatalReportBehindUnreadOutputArrivesWholeAfterIt) {
    PortClient client;
    handshake(client);
    const auto started = fill_the_port(client);
    client.send_bytes(std::vector<std::uint8_t>{0x00, 0x10, 0x00, 0x01});  // 1 MiB + 1: fatal
    expect_whole_output_then_the_fatal_report(client);
    EXPECT_TRUE(wait_until_gone({static_cast<pid_t>(started.os_pid)},
                                Clock::now() + std::chrono::seconds(10)));
}

// The same when the client closes its side of the port (end-of-file on fd 3) right after the
// broken frame and reads on: the end of its requests does not drop what resin still has to say.
TEST(PortErrors, AFatalReportBehindUnreadOutputSurvivesTheEndOfTheRequests) {
    PortClient client;
    handshake(client);
    const auto started = fill_the_port(client);
    client.send_bytes(std::vector<std::uint8_t>{0x00, 0x10, 0x00, 0x01});
    client.close_port();
    EXPECT_FALSE(client.wait_exit(std::chrono::milliseconds(500)))
        << "resin still waits to be read, half a second after the end of the requests";
    expect_whole_output_then_the_fatal_report(client);
    EXPECT_TRUE(wait_until_gone({static_cast<pid_t>(started.os_pid)},
                                Clock::now() + std::chrono::seconds(10)));
}

// A client that never reads again does not keep resin: it gives up on the report after its bound.
TEST(PortErrors, AFatalReportNobodyReadsEndsResinWithinItsBound) {
    const auto resin_stderr =
        high_fd(sandbox::UniqueFd(::memfd_create("resin-stderr", MFD_CLOEXEC)));
    ASSERT_TRUE(resin_stderr);
    PortClient client(resin_stderr.get());
    handshake(client);
    const auto started = fill_the_port(client);
    const auto failed_at = Clock::now();
    client.send_bytes(std::vector<std::uint8_t>{0x00, 0x10, 0x00, 0x01});
    const auto status = client.wait_exit(std::chrono::seconds(10));
    const auto took = Clock::now() - failed_at;
    ASSERT_TRUE(status) << "resin waits for a reader without end";
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 125);
    EXPECT_GE(took, std::chrono::seconds(2)) << "it tried for its whole bound";
    EXPECT_LE(took, std::chrono::milliseconds(3500)) << "2 s bound and a margin";
    EXPECT_TRUE(wait_until_gone({static_cast<pid_t>(started.os_pid)},
                                Clock::now() + std::chrono::seconds(10)));
    // The client never saw the report, so the operator learns from stderr why resin ended.
    const std::string printed = contents_of(resin_stderr.get());
    EXPECT_NE(printed.find("resin: the client did not read the fatal ErrorReport within 2 s"),
              std::string::npos)
        << printed;
    EXPECT_NE(printed.find("frame length 1048577 exceeds the maximum"), std::string::npos)
        << "names the error: " << printed;
    EXPECT_EQ(std::count(printed.begin(), printed.end(), '\n'), 1) << printed;
}

}  // namespace
}  // namespace resin::test
