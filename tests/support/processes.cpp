#include "support/processes.hpp"

#include <poll.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace resin::test {
namespace {

bool is_gone(pid_t pid) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(stat, line)) {
        return true;
    }
    const auto after_name = line.rfind(')');
    const char state = after_name + 2 < line.size() ? line[after_name + 2] : '?';
    return state == 'Z' || state == 'X';
}

// Polls `condition` until it holds or `timeout` passes. The interval is not synchronisation: the
// condition and the deadline decide.
template <typename Condition>
bool poll_until(Condition condition, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!condition()) {
        if (std::chrono::steady_clock::now() >= deadline) {
            return false;
        }
        ::poll(nullptr, 0, 5);
    }
    return true;
}

std::optional<pid_t> live_process_with_argument(const std::string& marker) {
    for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
        const std::string name = entry.path().filename();
        if (name.find_first_not_of("0123456789") != std::string::npos) {
            continue;
        }
        std::ifstream cmdline(entry.path() / "cmdline", std::ios::binary);
        std::string argument;
        while (std::getline(cmdline, argument, '\0')) {
            if (argument == marker) {
                const auto pid = static_cast<pid_t>(std::stol(name));
                if (!is_gone(pid)) {
                    return pid;
                }
            }
        }
    }
    return std::nullopt;
}

}  // namespace

bool wait_until_gone(pid_t pid, std::chrono::milliseconds timeout) {
    return poll_until([pid] { return is_gone(pid); }, timeout);
}

std::optional<pid_t> find_process_with_argument(const std::string& marker,
                                                std::chrono::milliseconds timeout) {
    std::optional<pid_t> found;
    poll_until([&] { return (found = live_process_with_argument(marker)).has_value(); }, timeout);
    return found;
}

std::optional<std::uint64_t> peak_rss_bytes(pid_t pid) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.starts_with("VmHWM:")) {
            std::istringstream fields(line.substr(6));
            std::uint64_t kib = 0;
            fields >> kib;
            return kib * 1024;
        }
    }
    return std::nullopt;
}

}  // namespace resin::test
