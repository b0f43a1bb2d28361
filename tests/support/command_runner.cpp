#include "support/command_runner.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "sandbox/unique_fd.hpp"
#include "support/spawn_resin.hpp"

namespace resin::test {
namespace {

using sandbox::UniqueFd;

// Reads both pipes to end-of-file, or until the deadline.
bool drain(UniqueFd& out, UniqueFd& err, CommandResult& result,
           std::chrono::steady_clock::time_point deadline, const std::function<void()>& on_stdout) {
    const std::array<UniqueFd*, 2> pipes{&out, &err};
    const std::array<std::string*, 2> texts{&result.out, &result.err};
    std::array<char, 65536> buffer;
    while (out || err) {
        std::array<pollfd, 2> fds{};
        for (std::size_t i = 0; i < fds.size(); ++i) {
            fds[i] = {*pipes[i] ? pipes[i]->get() : -1, POLLIN, 0};
        }
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0 ||
            ::poll(fds.data(), fds.size(), static_cast<int>(left.count())) == 0) {
            return false;
        }
        for (std::size_t i = 0; i < fds.size(); ++i) {
            if (fds[i].revents == 0) {
                continue;
            }
            const ssize_t n = ::read(fds[i].fd, buffer.data(), buffer.size());
            if (n > 0) {
                texts[i]->append(buffer.data(), static_cast<std::size_t>(n));
                if (i == 0 && on_stdout) {
                    on_stdout();
                }
            } else if (!(n < 0 && errno == EINTR)) {
                pipes[i]->reset();
            }
        }
    }
    return true;
}

}  // namespace

CommandResult run_resin(const std::vector<std::string>& args, std::chrono::milliseconds timeout,
                        const StdoutWatcher& watch_stdout) {
    auto [out_read, out_write] = high_pipe();
    auto [err_read, err_write] = high_pipe();
    UniqueFd null = high_fd(UniqueFd(::open("/dev/null", O_RDONLY | O_CLOEXEC)));
    const pid_t pid =
        spawn_resin(args, {{null.get(), 0}, {out_write.get(), 1}, {err_write.get(), 2}});
    out_write.reset();
    err_write.reset();

    CommandResult result;
    std::function<void()> on_stdout;
    if (watch_stdout) {
        on_stdout = [&] { watch_stdout(pid, result.out); };
    }
    const bool finished =
        drain(out_read, err_read, result, std::chrono::steady_clock::now() + timeout, on_stdout);
    if (!finished) {
        ::kill(pid, SIGKILL);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (finished) {
        result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    return result;
}

}  // namespace resin::test
