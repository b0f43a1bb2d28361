#include "support/spawn_resin.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

extern char** environ;

namespace resin::test {

sandbox::UniqueFd high_fd(sandbox::UniqueFd fd) {
    return sandbox::UniqueFd(fd ? ::fcntl(fd.get(), F_DUPFD_CLOEXEC, 10) : -1);
}

std::pair<sandbox::UniqueFd, sandbox::UniqueFd> high_pipe() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
        throw std::runtime_error(std::string("pipe2: ") + std::strerror(errno));
    }
    return {high_fd(sandbox::UniqueFd(fds[0])), high_fd(sandbox::UniqueFd(fds[1]))};
}

pid_t spawn_resin(const std::vector<std::string>& args, const FdMap& fds,
                  const std::vector<std::string>& wrapper) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    for (const auto& [source, target] : fds) {
        posix_spawn_file_actions_adddup2(&actions, source, target);
    }
    posix_spawnattr_t attributes;
    posix_spawnattr_init(&attributes);
    sigset_t all;
    sigfillset(&all);
    posix_spawnattr_setsigdefault(&attributes, &all);
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGDEF);

    std::vector<std::string> words = wrapper;
    words.push_back(RESIN_BINARY);
    words.insert(words.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& word : words) {
        argv.push_back(word.data());
    }
    argv.push_back(nullptr);
    pid_t pid = -1;
    const int error = ::posix_spawn(&pid, argv[0], &actions, &attributes, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
    if (error != 0) {
        throw std::runtime_error("posix_spawn " + words.front() + ": " + std::strerror(error));
    }
    return pid;
}

}  // namespace resin::test
