#include "support/command_runner.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "sandbox/unique_fd.hpp"

extern char** environ;

namespace resin::test {
namespace {

using sandbox::UniqueFd;

std::pair<UniqueFd, UniqueFd> make_pipe() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
        throw std::runtime_error(std::string("pipe2: ") + std::strerror(errno));
    }
    return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

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
    auto [out_read, out_write] = make_pipe();
    auto [err_read, err_write] = make_pipe();
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, out_write.get(), 1);
    posix_spawn_file_actions_adddup2(&actions, err_write.get(), 2);
    posix_spawnattr_t attributes;
    posix_spawnattr_init(&attributes);
    sigset_t all;
    sigfillset(&all);
    posix_spawnattr_setsigdefault(&attributes, &all);
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGDEF);

    std::vector<std::string> words{RESIN_BINARY};
    words.insert(words.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& word : words) {
        argv.push_back(word.data());
    }
    argv.push_back(nullptr);
    pid_t pid = -1;
    const int error =
        ::posix_spawn(&pid, RESIN_BINARY, &actions, &attributes, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
    if (error != 0) {
        throw std::runtime_error(std::string("posix_spawn resin: ") + std::strerror(error));
    }
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
