#include "support/host_processes.hpp"

#include <dirent.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <thread>

#include "support/temp_dir.hpp"

namespace resin::test {
namespace {

constexpr std::chrono::milliseconds kPollInterval{10};

std::vector<pid_t> all_pids() {
    std::vector<pid_t> pids;
    DIR* proc = ::opendir("/proc");
    if (proc == nullptr) {
        return pids;
    }
    while (const dirent* entry = ::readdir(proc)) {
        char* end = nullptr;
        const long pid = std::strtol(entry->d_name, &end, 10);
        if (pid > 0 && *end == '\0') {
            pids.push_back(static_cast<pid_t>(pid));
        }
    }
    ::closedir(proc);
    return pids;
}

std::vector<std::string> command_line(pid_t pid) {
    const std::string raw = read_file("/proc/" + std::to_string(pid) + "/cmdline");
    std::vector<std::string> args;
    for (std::size_t start = 0; start < raw.size();) {
        const std::size_t end = raw.find('\0', start);
        args.push_back(raw.substr(start, end - start));
        start = end == std::string::npos ? raw.size() : end + 1;
    }
    return args;
}

bool exists(pid_t pid) {
    return ::access(("/proc/" + std::to_string(pid)).c_str(), F_OK) == 0;
}

template <typename Done>
bool poll_until(Clock::time_point deadline, Done done) {
    while (!done()) {
        if (Clock::now() >= deadline) {
            return false;
        }
        std::this_thread::sleep_for(kPollInterval);
    }
    return true;
}

}  // namespace

bool wait_until(Clock::time_point deadline, const std::function<bool()>& condition) {
    return poll_until(deadline, condition);
}

std::vector<pid_t> pids_running(const Argv& argv) {
    std::vector<pid_t> found;
    for (pid_t pid : all_pids()) {
        if (command_line(pid) == argv) {
            found.push_back(pid);
        }
    }
    return found;
}

std::vector<pid_t> wait_for_processes(const Argv& argv, std::size_t count,
                                      Clock::time_point deadline) {
    std::vector<pid_t> found;
    poll_until(deadline, [&] {
        found = pids_running(argv);
        return found.size() >= count;
    });
    return found;
}

bool wait_until_gone(const std::vector<pid_t>& pids, Clock::time_point deadline) {
    return poll_until(deadline, [&] { return std::none_of(pids.begin(), pids.end(), exists); });
}

bool process_exists(pid_t pid) {
    return exists(pid);
}

bool is_alive(pid_t pid) {
    const std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
    const auto comm_end = stat.rfind(')');
    return comm_end != std::string::npos && comm_end + 2 < stat.size() &&
           stat[comm_end + 2] != 'Z' && stat[comm_end + 2] != 'X';
}

std::vector<pid_t> children_named(pid_t pid, const std::string& name) {
    std::vector<pid_t> found;
    std::ifstream children("/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) +
                           "/children");
    for (pid_t child = 0; children >> child;) {
        std::ifstream comm_file("/proc/" + std::to_string(child) + "/comm");
        std::string comm;
        if (std::getline(comm_file, comm) && comm == name) {
            found.push_back(child);
        }
    }
    return found;
}

std::uint64_t peak_rss_bytes(pid_t pid) {
    const std::string status = read_file("/proc/" + std::to_string(pid) + "/status");
    const auto field = status.find("\nVmHWM:");
    return field == std::string::npos ? 0 : std::stoull(status.substr(field + 7)) * 1024;
}

void wait_to_be_killed() {
    for (;;) {
        ::pause();
    }
}

HostProcess::HostProcess(const std::function<void()>& body) {
    pid_ = ::fork();
    if (pid_ == 0) {
        if (body) {
            body();
        }
        wait_to_be_killed();
    }
    if (pid_ < 0) {
        ADD_FAILURE() << "fork: " << std::strerror(errno);
    }
}

HostProcess::~HostProcess() {
    if (pid_ > 0) {
        kill_and_reap(SIGKILL);
    }
}

int HostProcess::kill_and_reap(int sig) {
    if (sig != 0) {
        ::kill(pid_, sig);
    }
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
    return status;
}

SubreaperScope::SubreaperScope() {
    if (::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0) {
        ADD_FAILURE() << "PR_SET_CHILD_SUBREAPER: " << std::strerror(errno);
    }
}

SubreaperScope::~SubreaperScope() {
    ::prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
    // Orphans re-parented here (a killed sandbox's init, say) may still be ending: reap them.
    poll_until(Clock::now() + std::chrono::seconds(10), [] {
        pid_t reaped;
        while ((reaped = ::waitpid(-1, nullptr, WNOHANG | __WALL)) > 0) {
        }
        return reaped < 0 && errno == ECHILD;
    });
}

void SubreaperScope::kill_and_reap(pid_t pid) {
    ::kill(pid, SIGKILL);
    while (::waitpid(pid, nullptr, __WALL) < 0 && errno == EINTR) {
    }
}

}  // namespace resin::test
