// Protocol version 2's stdin credit, end to end through the real resin: resin grants what the
// command's pipe has taken, never queues more than the window, refuses what goes beyond it, and
// says once when the pipe broke. A client that keeps to the credit loses no byte.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <cstring>
#include <optional>
#include <random>

#include "proto/codec.hpp"
#include "support/host_processes.hpp"
#include "support/port_expect.hpp"
#include "support/sha256.hpp"

namespace resin::test {
namespace {

using std::chrono::milliseconds;

constexpr std::uint64_t kMiB = 1024 * 1024;
constexpr std::uint32_t kStartId = 3;
constexpr std::size_t kMaxDataInPayload =
    proto::kMaxPacketSize - proto::kHeaderSize - 4;  // the packet minus header and length
// resin asks for a 1 MiB stdin pipe (F_SETPIPE_SZ; the kernel's 64 KiB if refused): what a command
// that never reads can take beyond the window.
constexpr std::uint64_t kStdinPipeBytes = 1024 * 1024;

// A version 2 session with unlimited output credit; returns once the initial StdinCredit, which
// must come right after ProcessStarted, has arrived. The caller counts credit itself.
proto::ProcessStarted start_v2(PortClient& client, const std::string& executable,
                               const std::vector<std::string>& args) {
    client.set_absorb_stdin_credit(false);
    handshake(client, 1, 2);
    client.send(proto::GrantCredit{2, 0xFFFFFFFF});
    auto started = start_process(client, kStartId, executable, args);
    const auto grant = expect_packet<proto::StdinCredit>(client);
    EXPECT_EQ(grant.request_id, kStartId);
    EXPECT_EQ(grant.bytes, proto::kStdinWindow);
    return started;
}

// Input that never repeats: a random block whose first 8 bytes carry the block's index, so a
// lost, duplicated or reordered block changes the hash.
class Input {
  public:
    explicit Input(std::uint64_t total) : total_(total), block_(kMiB, '\0') {
        std::mt19937_64 random(20261202);
        for (std::size_t i = 0; i < block_.size(); i += 8) {
            const std::uint64_t word = random();
            std::memcpy(block_.data() + i, &word, 8);
        }
    }

    std::uint64_t remaining() const { return total_ - position_; }

    std::string next(std::uint64_t max) {
        const std::size_t offset = position_ % block_.size();
        if (offset == 0) {
            const std::uint64_t index = position_ / block_.size();
            std::memcpy(block_.data(), &index, sizeof index);
        }
        const auto size = static_cast<std::size_t>(
            std::min<std::uint64_t>({max, block_.size() - offset, remaining()}));
        position_ += size;
        return block_.substr(offset, size);
    }

  private:
    std::uint64_t total_;
    std::uint64_t position_ = 0;
    std::string block_;
};

TEST(PortStdinCredit, OneGibibyteThroughCatInBothDirectionsAtOnceArrivesIntactInBoundedMemory) {
    constexpr std::uint64_t kTotal = 1024 * kMiB;
    PortClient client;
    client.set_absorb_stdin_credit(false);
    handshake(client, 1, 2);
    // Output credit is granted back as output arrives, so the client reads while it writes.
    client.send(proto::GrantCredit{2, 4 * kMiB});
    start_process(client, kStartId, "cat", {});
    const std::uint64_t baseline = peak_rss_bytes(client.pid());
    ASSERT_GT(baseline, 0u);

    Input input(kTotal);
    Sha256 sent_hash;
    Sha256 received_hash;
    std::uint64_t credit = 0;
    std::uint64_t sent = 0;
    std::uint64_t received = 0;
    std::uint64_t grants = 0;
    std::uint32_t next_id = 10;
    bool stdin_closed = false;
    std::optional<proto::ExitStatus> exit;
    const auto handle = [&](const proto::Packet& packet) {
        if (const auto* grant = std::get_if<proto::StdinCredit>(&packet)) {
            EXPECT_EQ(grant->request_id, kStartId);
            credit += grant->bytes;
            ++grants;
            // What the client may send plus what resin holds never exceeds the window.
            EXPECT_LE(credit, proto::kStdinWindow);
        } else if (const auto* data = std::get_if<proto::DataOut>(&packet)) {
            EXPECT_EQ(data->stream, proto::Stream::stdout_stream);
            received_hash.update(data->data);
            received += data->data.size();
            client.send(
                proto::GrantCredit{next_id++, static_cast<std::uint32_t>(data->data.size())});
        } else if (const auto* status = std::get_if<proto::ExitStatus>(&packet)) {
            exit = *status;
        } else {
            ADD_FAILURE() << "unexpected " << describe(packet);
        }
    };
    while (!exit && !testing::Test::HasFailure()) {
        // Sending only once a quarter of the window is free keeps packets large and resin's
        // queue from running dry in between.
        if (input.remaining() > 0 &&
            credit >= std::min<std::uint64_t>(proto::kStdinWindow / 4, input.remaining())) {
            std::string chunk = input.next(std::min<std::uint64_t>(credit, kMaxDataInPayload));
            sent_hash.update(chunk);
            credit -= chunk.size();
            sent += chunk.size();
            client.send(proto::DataIn{next_id++, std::move(chunk)});
            while (!client.stays_quiet_for(milliseconds(0)) && !testing::Test::HasFailure()) {
                auto packet = client.receive();
                ASSERT_TRUE(packet) << client.last_error();
                handle(*packet);
            }
            continue;
        }
        if (input.remaining() == 0 && !stdin_closed) {
            client.send(proto::CloseStdin{next_id++});
            stdin_closed = true;
        }
        auto packet = client.receive();
        ASSERT_TRUE(packet) << client.last_error() << " after " << sent << " bytes sent, "
                            << received << " received";
        handle(*packet);
    }
    ASSERT_TRUE(exit);
    EXPECT_EQ(exit->reason, proto::ExitReason::exited);
    EXPECT_EQ(exit->exit_code, 0);
    EXPECT_EQ(sent, kTotal);
    EXPECT_EQ(received, kTotal);
    EXPECT_EQ(received_hash.hex_digest(), sent_hash.hex_digest());
    // Credit came back in batches of at least 64 KiB (or whatever emptied the queue).
    EXPECT_LE(grants, kTotal / (64 * 1024) + sent / kMaxDataInPayload + 16);

    // resin is still alive (it waits for the port to close): its peak RSS over the whole run.
    const std::uint64_t peak = peak_rss_bytes(client.pid());
    std::cout << "resin VmHWM: " << peak / 1024 << " KiB (" << baseline / 1024
              << " KiB after ProcessStarted), " << grants << " StdinCredit packets\n";
#if defined(__SANITIZE_ADDRESS__)
    // AddressSanitizer's quarantine keeps every freed block (256 MiB by default) out of reuse, so
    // resin's 1 MiB DataIn buffers pile up there: the bound holds for the real allocator only.
    std::cout << "memory bounds not checked under AddressSanitizer\n";
#else
    EXPECT_LT(peak - baseline, 8 * kMiB)
        << "resin's peak RSS grew from " << baseline << " to " << peak << " bytes";
    EXPECT_LT(peak, 64 * kMiB);
#endif
}

TEST(PortStdinCredit, ACommandThatNeverReadsLetsTheClientSendTheWindowAndItsPipeNoMore) {
    PortClient client;
    start_v2(client, "sleep", {"1000"});
    std::uint64_t credit = proto::kStdinWindow;
    std::uint64_t sent = 0;
    std::uint32_t next_id = 10;
    // Send whatever credit allows until resin has been quiet for a second: sleep reads nothing,
    // so only the pipe's own buffer takes anything beyond the window.
    do {
        while (credit > 0) {
            const auto size = std::min<std::uint64_t>(credit, kMaxDataInPayload);
            client.send(proto::DataIn{next_id++, std::string(size, 'x')});
            credit -= size;
            sent += size;
        }
        while (!client.stays_quiet_for(milliseconds(1000))) {
            const auto grant = expect_packet<proto::StdinCredit>(client);
            EXPECT_EQ(grant.request_id, kStartId);
            credit += grant.bytes;
        }
    } while (credit > 0 && !testing::Test::HasFailure());
    EXPECT_GE(sent, proto::kStdinWindow);
    EXPECT_LE(sent, proto::kStdinWindow + kStdinPipeBytes);

    // One byte more is a client bug: refused, not queued, not fatal.
    client.send(proto::DataIn{next_id, "y"});
    const auto overflow = expect_error(client, next_id, proto::ErrorCode::stdin_overflow);
    EXPECT_FALSE(overflow.fatal);
    EXPECT_NE(overflow.message.find("credit"), std::string::npos) << overflow.message;

    // Nothing reported the input as delivered; killing the command breaks the pipe.
    client.send(proto::KillProcess{next_id + 1, SIGKILL});
    for (;;) {
        auto packet = client.receive();
        ASSERT_TRUE(packet) << client.last_error();
        if (const auto* exit = std::get_if<proto::ExitStatus>(&*packet)) {
            EXPECT_EQ(exit->reason, proto::ExitReason::killed);
            break;
        }
        const auto* error = std::get_if<proto::ErrorReport>(&*packet);
        ASSERT_NE(error, nullptr) << describe(*packet);
        EXPECT_EQ(error->code, proto::ErrorCode::stdin_broken) << error->message;
    }
}

TEST(PortStdinCredit, ACommandThatClosesItsStdinEarlyGetsStdinBrokenOnceAndNoMoreCredit) {
    PortClient client;
    // head takes 10 bytes and exits; then the shell closes its stdin, says so, and sleeps: the
    // pipe has no reader left while the process still runs.
    start_v2(client, "/bin/sh", {"-c", "head -c 10; exec 0<&-; echo closed; exec sleep 1000"});
    client.set_absorb_stdin_credit(true);
    client.send(proto::DataIn{10, std::string(512 * 1024, 'x')});
    std::string out;
    std::optional<proto::ErrorReport> broken;
    std::uint64_t grants_when_broken = 0;
    const auto take_report = [&](const proto::ErrorReport& report) {
        EXPECT_FALSE(broken) << "a second unprompted report: " << report.message;
        broken = report;
        grants_when_broken = client.stdin_credit_packets();
    };
    // Whether resin meets EPIPE before "closed" depends on how much of the 512 KiB its pipe took.
    while (out.size() < 17 && !testing::Test::HasFailure()) {
        auto packet = client.receive();
        ASSERT_TRUE(packet) << client.last_error();
        if (const auto* data = std::get_if<proto::DataOut>(&*packet)) {
            out += data->data;
        } else if (const auto* error = std::get_if<proto::ErrorReport>(&*packet)) {
            take_report(*error);
        } else {
            ADD_FAILURE() << "unexpected " << describe(*packet);
        }
    }
    EXPECT_EQ(out, std::string(10, 'x') + "closed\n");
    if (!broken) {
        // Everything went into the pipe: the next write is the one that meets EPIPE.
        client.send(proto::DataIn{11, "more"});
        take_report(expect_packet<proto::ErrorReport>(client));
    }
    ASSERT_TRUE(broken);
    EXPECT_EQ(broken->request_id, kStartId);
    EXPECT_EQ(broken->code, proto::ErrorCode::stdin_broken) << broken->message;
    EXPECT_FALSE(broken->fatal);
    EXPECT_NE(broken->message.find("queued bytes discarded"), std::string::npos) << broken->message;

    // Every later DataIn is answered with stdin_broken under its own id; no credit comes back.
    for (std::uint32_t id = 12; id < 15; ++id) {
        client.send(proto::DataIn{id, "late"});
        EXPECT_FALSE(expect_error(client, id, proto::ErrorCode::stdin_broken).fatal);
    }
    client.send(proto::KillProcess{20, SIGKILL});
    EXPECT_EQ(expect_packet<proto::ExitStatus>(client).reason, proto::ExitReason::killed);
    EXPECT_EQ(client.stdin_credit_packets(), grants_when_broken);
}

TEST(PortStdinCredit, DataInAfterCloseStdinIsStdinClosedNotOverflow) {
    PortClient client;
    start_v2(client, "/bin/sh", {"-c", "cat; echo eof; exec sleep 1000"});
    client.send(proto::DataIn{10, "abc"});
    client.send(proto::CloseStdin{11});
    client.send(proto::DataIn{12, std::string(kMaxDataInPayload, 'z')});
    std::string out;
    bool refused = false;
    while ((out != "abceof\n" || !refused) && !testing::Test::HasFailure()) {
        auto packet = client.receive();
        ASSERT_TRUE(packet) << client.last_error();
        if (const auto* data = std::get_if<proto::DataOut>(&*packet)) {
            out += data->data;
        } else if (const auto* error = std::get_if<proto::ErrorReport>(&*packet)) {
            EXPECT_EQ(error->request_id, 12u);
            EXPECT_EQ(error->code, proto::ErrorCode::stdin_closed) << error->message;
            refused = true;
        } else if (!std::holds_alternative<proto::StdinCredit>(*packet)) {
            ADD_FAILURE() << "unexpected " << describe(*packet);
        }
    }
    EXPECT_EQ(out, "abceof\n");
    client.send(proto::KillProcess{13, SIGKILL});
    auto packet = client.receive();
    while (packet && std::holds_alternative<proto::StdinCredit>(*packet)) {
        packet = client.receive();
    }
    ASSERT_TRUE(packet) << client.last_error();
    EXPECT_EQ(std::get<proto::ExitStatus>(*packet).reason, proto::ExitReason::killed);
}

TEST(PortStdinCredit, AVersion1SessionGetsNoStdinCredit) {
    PortClient client;
    client.set_absorb_stdin_credit(false);
    handshake(client, 1, 1);
    client.send(proto::GrantCredit{2, 0xFFFFFFFF});
    start_process(client, kStartId, "/bin/sh", {"-c", "cat; echo done"});
    client.send(proto::DataIn{4, "in\n"});
    client.send(proto::CloseStdin{5});
    // Straight from ProcessStarted to the output: any StdinCredit would fail collect_until_exit.
    const auto output = collect_until_exit(client, kStartId);
    EXPECT_EQ(output.out, "in\ndone\n");
    EXPECT_EQ(output.exit.exit_code, 0);
}

}  // namespace
}  // namespace resin::test
