#include "support/port_client.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "proto/codec.hpp"
#include "support/spawn_resin.hpp"

namespace resin::test {
namespace {

constexpr std::size_t kReadSize = 1024 * 1024;

int remaining_ms(std::chrono::steady_clock::time_point deadline) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    return static_cast<int>(std::max<std::chrono::milliseconds::rep>(left.count(), 0));
}

}  // namespace

PortClient::PortClient(int resin_stderr) : buffer_(kReadSize) {
    auto [resin_in, to_resin] = high_pipe();
    auto [from_resin, resin_out] = high_pipe();
    FdMap fds{{resin_in.get(), 3}, {resin_out.get(), 4}};
    if (resin_stderr >= 0) {
        fds.emplace_back(resin_stderr, 2);
    }
    pid_ = spawn_resin({"--port"}, fds);
    pidfd_.reset(static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0)));
    to_resin_ = std::move(to_resin);
    from_resin_ = std::move(from_resin);
    // A test must see EPIPE when resin has gone, not die of SIGPIPE.
    ::signal(SIGPIPE, SIG_IGN);
}

PortClient::~PortClient() {
    close_port();
    if (!wait_exit(kReplyTimeout)) {
        ::kill(pid_, SIGKILL);
        wait_exit(kReplyTimeout);
    }
}

void PortClient::send(const proto::Packet& packet) {
    const auto frame = proto::encode_frame(packet);
    send_bytes(frame);
}

void PortClient::send_bytes(std::span<const std::uint8_t> bytes) {
    std::size_t sent = 0;
    while (sent < bytes.size() && to_resin_) {
        const ssize_t n = ::write(to_resin_.get(), bytes.data() + sent, bytes.size() - sent);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            last_error_ = std::string("writing to resin: ") + std::strerror(errno);
            return;
        }
        sent += static_cast<std::size_t>(n);
    }
}

PortClient::Fill PortClient::fill(std::chrono::steady_clock::time_point deadline) {
    pollfd readable{from_resin_.get(), POLLIN, 0};
    const int ready = ::poll(&readable, 1, remaining_ms(deadline));
    if (ready == 0) {
        return Fill::timeout;
    }
    const ssize_t n = ::read(from_resin_.get(), buffer_.data(), buffer_.size());
    if (n <= 0) {
        return n < 0 && errno == EINTR ? Fill::bytes : Fill::end_of_file;
    }
    frames_.feed({buffer_.data(), static_cast<std::size_t>(n)});
    return Fill::bytes;
}

std::optional<proto::Packet> PortClient::receive(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        if (auto next = frames_.next()) {
            if (auto* error = std::get_if<proto::DecodeError>(&*next)) {
                last_error_ = "resin sent a bad frame: " + error->message;
                return std::nullopt;
            }
            auto decoded = proto::decode_packet(std::get<std::vector<std::uint8_t>>(*next));
            if (auto* error = std::get_if<proto::DecodeError>(&decoded)) {
                last_error_ = "resin sent a packet that does not decode: " + error->message;
                return std::nullopt;
            }
            auto& packet = std::get<proto::Packet>(decoded);
            if (const auto* credit = std::get_if<proto::StdinCredit>(&packet);
                credit && absorb_stdin_credit_) {
                stdin_credit_ += credit->bytes;
                ++stdin_credit_packets_;
                continue;
            }
            return std::move(packet);
        }
        switch (fill(deadline)) {
            case Fill::bytes:
                break;
            case Fill::end_of_file:
                last_error_ = "resin closed the port";
                return std::nullopt;
            case Fill::timeout:
                last_error_ =
                    "no packet from resin within " + std::to_string(timeout.count()) + " ms";
                return std::nullopt;
        }
    }
}

bool PortClient::stays_quiet_for(std::chrono::milliseconds quiet) {
    if (frames_.buffered() > 0) {
        return false;
    }
    pollfd readable{from_resin_.get(), POLLIN, 0};
    return ::poll(&readable, 1, static_cast<int>(quiet.count())) == 0;
}

bool PortClient::port_closed_by_resin(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        switch (fill(deadline)) {
            case Fill::bytes:
                break;
            case Fill::end_of_file:
                return true;
            case Fill::timeout:
                return false;
        }
    }
}

void PortClient::close_port() {
    to_resin_.reset();
}

std::optional<int> PortClient::wait_exit(std::chrono::milliseconds timeout) {
    if (exit_status_) {
        return exit_status_;
    }
    pollfd exited{pidfd_.get(), POLLIN, 0};
    if (::poll(&exited, 1, static_cast<int>(timeout.count())) <= 0) {
        return std::nullopt;
    }
    int status = 0;
    if (::waitpid(pid_, &status, 0) == pid_) {
        exit_status_ = status;
    }
    return exit_status_;
}

}  // namespace resin::test
