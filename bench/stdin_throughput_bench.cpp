// The stdin path of protocol v2 against doing without resin, measured in one run
// (docs/performance.md, "Stdin throughput"): 1 GiB written into `cat >/dev/null` through a raw
// pipe, and the same through `resin --port` as DataIn frames sent only within the StdinCredit resin
// grants. Runs alternate, so drifting load on a shared box hits both alike.
// Usage: stdin_throughput_bench [repetitions=5] [send-threshold-KiB=256]
#include <fcntl.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

#include "proto/codec.hpp"
#include "support/configs.hpp"
#include "support/port_client.hpp"

namespace {

using namespace resin;
using Clock = std::chrono::steady_clock;

constexpr std::uint64_t kBytes = 1024ull * 1024 * 1024;
constexpr std::size_t kMaxDataInPayload = proto::kMaxPacketSize - proto::kHeaderSize - 4;
const std::vector<std::string> kCat = {"/bin/sh", "-c", "exec cat >/dev/null"};

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

double median(std::vector<double> values) {
    std::sort(values.begin(), values.end());
    return values[values.size() / 2];
}

void write_all(int fd, const iovec* parts, int count) {
    std::vector<iovec> left(parts, parts + count);
    std::size_t first = 0;
    while (first < left.size()) {
        const ssize_t n = ::writev(fd, left.data() + first, static_cast<int>(left.size() - first));
        if (n < 0) {
            throw std::runtime_error("writev failed");
        }
        auto done = static_cast<std::size_t>(n);
        while (first < left.size() && done >= left[first].iov_len) {
            done -= left[first].iov_len;
            ++first;
        }
        if (first < left.size()) {
            left[first].iov_base = static_cast<char*>(left[first].iov_base) + done;
            left[first].iov_len -= done;
        }
    }
}

double raw_pipe_seconds(const std::string& payload) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
        throw std::runtime_error("pipe2 failed");
    }
    const auto start = Clock::now();
    const pid_t pid = ::fork();
    if (pid == 0) {
        ::dup2(fds[0], 0);
        std::vector<char*> args;
        for (const auto& arg : kCat) {
            args.push_back(const_cast<char*>(arg.c_str()));
        }
        args.push_back(nullptr);
        ::execv(args[0], args.data());
        ::_exit(127);
    }
    ::close(fds[0]);
    for (std::uint64_t sent = 0; sent < kBytes;) {
        const auto size =
            static_cast<std::size_t>(std::min<std::uint64_t>(payload.size(), kBytes - sent));
        iovec part{const_cast<char*>(payload.data()), size};
        write_all(fds[1], &part, 1);
        sent += size;
    }
    ::close(fds[1]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    const double seconds = seconds_since(start);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        throw std::runtime_error("raw cat failed");
    }
    return seconds;
}

struct ResinRun {
    double seconds;
    std::uint64_t grants;
};

// DataIn frames are written as header + payload with writev, so the client copies nothing.
ResinRun resin_seconds(const std::string& payload, std::uint64_t threshold,
                       const std::string& config) {
    test::PortClient client;
    client.set_absorb_stdin_credit(false);
    client.send(proto::Hello{1, proto::kProtocolVersion});
    client.send(proto::GrantCredit{2, 0xFFFFFFFF});
    const auto start = Clock::now();
    client.send(proto::StartProcess{3, kCat[0], {kCat.begin() + 1, kCat.end()}, config});
    std::uint64_t credit = 0;
    std::uint64_t grants = 0;
    bool exited = false;
    const auto handle = [&](const std::optional<proto::Packet>& packet) {
        if (!packet) {
            throw std::runtime_error("resin: " + client.last_error());
        }
        if (const auto* grant = std::get_if<proto::StdinCredit>(&*packet)) {
            credit += grant->bytes;
            ++grants;
        } else if (const auto* error = std::get_if<proto::ErrorReport>(&*packet)) {
            throw std::runtime_error("resin: " + error->message);
        } else if (std::holds_alternative<proto::ExitStatus>(*packet)) {
            exited = true;
        }
    };
    std::uint32_t id = 10;
    for (std::uint64_t sent = 0; sent < kBytes;) {
        const std::uint64_t left = kBytes - sent;
        while (credit < std::min(threshold, left)) {
            handle(client.receive());
        }
        while (!client.stays_quiet_for(std::chrono::milliseconds(0))) {
            handle(client.receive());
        }
        const auto size = static_cast<std::uint32_t>(
            std::min<std::uint64_t>({credit, left, kMaxDataInPayload, payload.size()}));
        std::vector<std::uint8_t> header;
        proto::encode_frame(proto::DataIn{id++, ""}, header);
        // Patch the empty DataIn's lengths to announce `size` payload bytes.
        const auto put = [&header](std::size_t at, std::uint32_t value) {
            for (int i = 0; i < 4; ++i) {
                header[at + i] = static_cast<std::uint8_t>(value >> (24 - 8 * i));
            }
        };
        put(0, static_cast<std::uint32_t>(header.size() - 4) + size);
        put(header.size() - 4, size);
        iovec parts[2] = {{header.data(), header.size()},
                          {const_cast<char*>(payload.data()), size}};
        write_all(client.to_resin_fd(), parts, 2);
        credit -= size;
        sent += size;
    }
    client.send(proto::CloseStdin{id});
    while (!exited) {
        handle(client.receive());
    }
    return {seconds_since(start), grants};
}

}  // namespace

int main(int argc, char** argv) {
    const int runs = argc > 1 ? std::atoi(argv[1]) : 5;
    const std::uint64_t threshold = (argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 256) * 1024;
    const std::string config = test::default_profile_json();
    const std::string payload(kMaxDataInPayload, 'x');
    const double gib = static_cast<double>(kBytes) / (1024.0 * 1024 * 1024);

    std::vector<double> raw, through_resin;
    std::uint64_t grants = 0;
    for (int i = 0; i < runs; ++i) {
        raw.push_back(raw_pipe_seconds(payload));
        const auto run = resin_seconds(payload, threshold, config);
        through_resin.push_back(run.seconds);
        grants = run.grants;
    }
    std::printf("stdin throughput, 1 GiB into `cat >/dev/null`, median of %d\n", runs);
    std::printf("  raw pipe (64 KiB buffer)               %7.2f GiB/s\n", gib / median(raw));
    std::printf(
        "  resin --port, v2 stdin credit          %7.2f GiB/s   (%llu StdinCredit, "
        "send at >= %llu KiB credit)\n",
        gib / median(through_resin), static_cast<unsigned long long>(grants),
        static_cast<unsigned long long>(threshold / 1024));
    std::printf("  ratio resin / raw pipe                 %7.2f\n",
                median(raw) / median(through_resin));
    return 0;
}
