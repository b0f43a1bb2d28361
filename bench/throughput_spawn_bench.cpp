// Core costs of resin against doing without it, measured in one run (docs/performance.md):
//   (a) stdout throughput of `head -c 1G /dev/zero` through `resin --port` versus the same
//   command's
//       raw pipe, both read by the same loop;
//   (b) spawn-to-exit latency of /bin/true through resin (the full protocol round trip) versus
//       fork/exec/wait.
// Usage: throughput_spawn_bench [throughput-repetitions] [spawn-repetitions]
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
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
constexpr std::size_t kReadSize = 1024 * 1024;
constexpr int kPipeBytes = 1024 * 1024;

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

double median(std::vector<double> values) {
    std::sort(values.begin(), values.end());
    return values[values.size() / 2];
}

// The one read loop both throughput runs use. `consume` sees each chunk read and says whether the
// stream is complete.
template <typename Consume>
void read_until(int fd, Consume consume) {
    std::vector<std::uint8_t> buffer(kReadSize);
    for (;;) {
        const ssize_t n = ::read(fd, buffer.data(), buffer.size());
        if (n < 0) {
            throw std::runtime_error("read failed");
        }
        if (consume(buffer.data(), static_cast<std::size_t>(n))) {
            return;
        }
    }
}

// Follows resin's packet stream, counting DataOut payload bytes without copying them, until
// ExitStatus.
class PortStreamCounter {
  public:
    bool consume(const std::uint8_t* data, std::size_t size) {
        if (size == 0) {
            throw std::runtime_error("resin closed the port before ExitStatus");
        }
        while (size > 0) {
            if (payload_left_ > 0) {
                const std::size_t skip = std::min(payload_left_, size);
                payload_bytes_ += skip;
                payload_left_ -= skip;
                data += skip;
                size -= skip;
                continue;
            }
            const std::size_t want = wanted_header_bytes();
            const std::size_t take = std::min(want - header_.size(), size);
            header_.insert(header_.end(), data, data + take);
            data += take;
            size -= take;
            if (header_.size() == want && frame_complete()) {
                return true;
            }
        }
        return false;
    }
    std::uint64_t payload_bytes() const { return payload_bytes_; }

  private:
    std::uint32_t frame_length() const {
        return (std::uint32_t{header_[0]} << 24) | (std::uint32_t{header_[1]} << 16) |
               (std::uint32_t{header_[2]} << 8) | std::uint32_t{header_[3]};
    }
    bool is_data_out() const {
        return header_[4] == static_cast<std::uint8_t>(proto::PacketType::data_out);
    }
    // Length and type first; then a DataOut's header only, or any other frame whole.
    std::size_t wanted_header_bytes() const {
        if (header_.size() < proto::kLengthPrefixSize + 1) {
            return proto::kLengthPrefixSize + 1;
        }
        return is_data_out() ? proto::kDataOutFrameHeaderSize
                             : proto::kLengthPrefixSize + frame_length();
    }
    // Called when wanted_header_bytes() are in; true at ExitStatus.
    bool frame_complete() {
        if (header_.size() == proto::kLengthPrefixSize + 1) {
            return false;  // now the type is known
        }
        bool exited = false;
        if (is_data_out()) {
            payload_left_ = frame_length() - (proto::kDataOutFrameHeaderSize - 4);
        } else {
            auto packet =
                proto::decode_packet(std::span(header_).subspan(proto::kLengthPrefixSize));
            if (!std::holds_alternative<proto::Packet>(packet)) {
                throw std::runtime_error("resin sent a bad packet");
            }
            const auto& decoded = std::get<proto::Packet>(packet);
            if (auto* error = std::get_if<proto::ErrorReport>(&decoded)) {
                throw std::runtime_error("resin: " + error->message);
            }
            exited = std::holds_alternative<proto::ExitStatus>(decoded);
        }
        header_.clear();
        return exited;
    }

    std::vector<std::uint8_t> header_;
    std::size_t payload_left_ = 0;
    std::uint64_t payload_bytes_ = 0;
};

pid_t spawn(const std::vector<std::string>& argv, int stdout_fd) {
    const pid_t pid = ::fork();
    if (pid == 0) {
        if (stdout_fd >= 0) {
            ::dup2(stdout_fd, 1);
        }
        std::vector<char*> args;
        for (const auto& arg : argv) {
            args.push_back(const_cast<char*>(arg.c_str()));
        }
        args.push_back(nullptr);
        ::execvp(args[0], args.data());
        ::_exit(127);
    }
    return pid;
}

void wait_for(pid_t pid) {
    int status = 0;
    ::waitpid(pid, &status, 0);
}

const std::vector<std::string> kHead = {"head", "-c", std::to_string(kBytes), "/dev/zero"};

double raw_pipe_seconds(bool enlarge) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
        throw std::runtime_error("pipe2 failed");
    }
    if (enlarge) {
        ::fcntl(fds[0], F_SETPIPE_SZ, kPipeBytes);
    }
    const auto start = Clock::now();
    const pid_t pid = spawn(kHead, fds[1]);
    ::close(fds[1]);
    std::uint64_t received = 0;
    read_until(fds[0], [&](const std::uint8_t*, std::size_t n) {
        received += n;
        return n == 0;
    });
    wait_for(pid);
    const double seconds = seconds_since(start);
    ::close(fds[0]);
    if (received != kBytes) {
        throw std::runtime_error("raw pipe: short read");
    }
    return seconds;
}

void handshake(test::PortClient& client) {
    client.send(proto::Hello{1, proto::kProtocolVersion});
    if (!client.receive()) {
        throw std::runtime_error("no HelloReply: " + client.last_error());
    }
}

double resin_seconds(const std::string& config) {
    test::PortClient client;
    handshake(client);
    client.send(proto::GrantCredit{2, 0xFFFFFFFF});
    const auto start = Clock::now();
    client.send(proto::StartProcess{3, kHead[0], {kHead.begin() + 1, kHead.end()}, config});
    PortStreamCounter counter;
    read_until(client.from_resin_fd(),
               [&](const std::uint8_t* data, std::size_t n) { return counter.consume(data, n); });
    const double seconds = seconds_since(start);
    if (counter.payload_bytes() != kBytes) {
        throw std::runtime_error("resin: short output");
    }
    return seconds;
}

// CPU time resin itself spends moving 1 GiB: a figure the load on a shared box does not bend. The
// command waits on stdin after its output, so resin is still there to be measured.
double resin_cpu_ms_per_gib(const std::string& config) {
    test::PortClient client;
    handshake(client);
    client.send(proto::GrantCredit{2, 0xFFFFFFFF});
    client.send(proto::StartProcess{
        3, "/bin/sh", {"-c", "head -c " + std::to_string(kBytes) + " /dev/zero; read x"}, config});
    PortStreamCounter counter;
    read_until(client.from_resin_fd(), [&](const std::uint8_t* data, std::size_t n) {
        return counter.consume(data, n) || counter.payload_bytes() == kBytes;
    });
    std::ifstream schedstat("/proc/" + std::to_string(client.pid()) + "/schedstat");
    double on_cpu_ns = 0;
    schedstat >> on_cpu_ns;
    client.send(proto::CloseStdin{4});
    return on_cpu_ns / 1e6;
}

double fork_exec_wait_ms() {
    const auto start = Clock::now();
    wait_for(spawn({"/bin/true"}, -1));
    return seconds_since(start) * 1000;
}

// One /bin/true through resin, from spawning resin to its exit, split where the client can see.
struct SpawnPhases {
    double to_hello_reply_ms;      // exec resin, probe the host, handshake
    double to_process_started_ms;  // StartProcess: plan, sandbox, exec of the command
    double to_exit_status_ms;      // the command runs, the sandbox is reaped
    double to_resin_exit_ms;       // resin exits
    double total_ms() const {
        return to_hello_reply_ms + to_process_started_ms + to_exit_status_ms + to_resin_exit_ms;
    }
};

SpawnPhases resin_spawn(const std::string& config) {
    SpawnPhases phases{};
    auto mark = Clock::now();
    auto lap = [&mark] {
        const auto now = Clock::now();
        const double ms = std::chrono::duration<double, std::milli>(now - mark).count();
        mark = now;
        return ms;
    };
    test::PortClient client;
    handshake(client);
    phases.to_hello_reply_ms = lap();
    client.send(proto::GrantCredit{2, 0xFFFFFFFF});
    client.send(proto::StartProcess{3, "/bin/true", {}, config});
    bool started = false;
    for (;;) {
        auto packet = client.receive();
        if (!packet || std::holds_alternative<proto::ErrorReport>(*packet)) {
            throw std::runtime_error("resin did not run /bin/true");
        }
        if (!started && std::holds_alternative<proto::ProcessStarted>(*packet)) {
            phases.to_process_started_ms = lap();
            started = true;
        }
        if (std::holds_alternative<proto::ExitStatus>(*packet)) {
            phases.to_exit_status_ms = lap();
            break;
        }
    }
    client.close_port();  // resin exits once the client closes the port
    client.wait_exit();
    phases.to_resin_exit_ms = lap();
    return phases;
}

// resin started, handshaken and closed without a process: its fixed cost.
double resin_handshake_only_ms() {
    const auto start = Clock::now();
    {
        test::PortClient client;
        handshake(client);
        client.close_port();
        client.wait_exit();
    }
    return seconds_since(start) * 1000;
}

}  // namespace

double median_of(const std::vector<SpawnPhases>& runs, double (*field)(const SpawnPhases&)) {
    std::vector<double> values;
    for (const auto& run : runs) {
        values.push_back(field(run));
    }
    return median(values);
}

// The box is shared: each repetition measures every variant in turn, so drifting load hits all
// of them alike.
int main(int argc, char** argv) {
    const int throughput_runs = argc > 1 ? std::atoi(argv[1]) : 7;
    const int spawn_runs = argc > 2 ? std::atoi(argv[2]) : 300;
    const std::string config = test::default_profile_json();
    const double gib = static_cast<double>(kBytes) / (1024.0 * 1024 * 1024);

    if (throughput_runs > 0) {
        std::vector<double> raw_default, raw_large, through_resin;
        for (int i = 0; i < throughput_runs; ++i) {
            raw_default.push_back(raw_pipe_seconds(false));
            raw_large.push_back(raw_pipe_seconds(true));
            through_resin.push_back(resin_seconds(config));
        }
        const double best_raw = std::min(median(raw_default), median(raw_large));
        std::printf("(a) stdout throughput, head -c 1GiB /dev/zero, median of %d\n",
                    throughput_runs);
        std::printf("  raw pipe (64 KiB buffer)          %7.2f GiB/s\n", gib / median(raw_default));
        std::printf("  raw pipe (1 MiB buffer)           %7.2f GiB/s\n", gib / median(raw_large));
        std::printf("  resin --port                      %7.2f GiB/s\n",
                    gib / median(through_resin));
        std::printf("  ratio resin / faster raw pipe     %7.2f   (target >= 0.90)\n",
                    best_raw / median(through_resin));
        std::printf("  resin's own CPU time per GiB      %7.1f ms\n", resin_cpu_ms_per_gib(config));
    }
    if (spawn_runs > 0) {
        std::vector<double> plain, handshake_only;
        std::vector<SpawnPhases> runs;
        for (int i = 0; i < spawn_runs; ++i) {
            plain.push_back(fork_exec_wait_ms());
            handshake_only.push_back(resin_handshake_only_ms());
            runs.push_back(resin_spawn(config));
        }
        const double sandboxed = median_of(runs, [](const SpawnPhases& p) { return p.total_ms(); });
        std::printf("(b) spawn-to-exit of /bin/true, median of %d\n", spawn_runs);
        std::printf("  fork/exec/wait                    %7.3f ms\n", median(plain));
        std::printf("  resin --port, no process          %7.3f ms   (exec, Hello, close, exit)\n",
                    median(handshake_only));
        std::printf("  resin --port, full round trip     %7.3f ms\n", sandboxed);
        std::printf("    spawn resin -> HelloReply       %7.3f ms\n",
                    median_of(runs, [](const SpawnPhases& p) { return p.to_hello_reply_ms; }));
        std::printf("    StartProcess -> ProcessStarted  %7.3f ms\n",
                    median_of(runs, [](const SpawnPhases& p) { return p.to_process_started_ms; }));
        std::printf("    ProcessStarted -> ExitStatus    %7.3f ms\n",
                    median_of(runs, [](const SpawnPhases& p) { return p.to_exit_status_ms; }));
        std::printf("    ExitStatus -> resin exited      %7.3f ms\n",
                    median_of(runs, [](const SpawnPhases& p) { return p.to_resin_exit_ms; }));
        std::printf("  overhead per spawn                %+7.3f ms   (target <= +0.5 ms)\n",
                    sandboxed - median(plain));
    }
    return 0;
}
