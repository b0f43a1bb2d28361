// Watching processes from the host: finding them by a unique command line, waiting
// (bounded) until they appear or are gone, and helper processes the test owns.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "support/sandbox_run.hpp"

namespace resin::test {

// Host pids whose command line is exactly `argv`.
std::vector<pid_t> pids_running(const Argv& argv);

// Polls until `count` processes run `argv`; returns them (fewer if the deadline came first).
std::vector<pid_t> wait_for_processes(const Argv& argv, std::size_t count,
                                      Clock::time_point deadline);

// Polls until none of `pids` exists any more, not even as a zombie. False at the deadline.
bool wait_until_gone(const std::vector<pid_t>& pids, Clock::time_point deadline);

// Polls until `condition` holds. False at the deadline.
bool wait_until(Clock::time_point deadline, const std::function<bool()>& condition);

// It exists, if only as a zombie.
bool process_exists(pid_t pid);

// Running or stopped: it exists and is not a zombie.
bool is_alive(pid_t pid);

// The children of `pid` (its main thread's) whose name (comm) is `name`.
std::vector<pid_t> children_named(pid_t pid, const std::string& name);

// Its peak resident set size (VmHWM), or 0 if that cannot be read.
std::uint64_t peak_rss_bytes(pid_t pid);

// Blocks until a signal ends the process.
[[noreturn]] void wait_to_be_killed();

// A forked copy of this test that runs `body` and then waits to be killed. Killed and reaped when
// the owner goes.
class HostProcess {
  public:
    explicit HostProcess(const std::function<void()>& body = {});
    HostProcess(const HostProcess&) = delete;
    HostProcess& operator=(const HostProcess&) = delete;
    ~HostProcess();

    pid_t pid() const { return pid_; }
    // Sends `sig` (0: none) and reaps the process; returns its wait status.
    int kill_and_reap(int sig);

  private:
    pid_t pid_ = -1;
};

// While it lives, orphans of this test's descendants are re-parented to this process (instead of
// the host's pid 1), so the test can kill and reap what a control run leaves behind. Its end
// waits, bounded, until this process has no child left.
class SubreaperScope {
  public:
    SubreaperScope();
    SubreaperScope(const SubreaperScope&) = delete;
    SubreaperScope& operator=(const SubreaperScope&) = delete;
    ~SubreaperScope();

    // Kills `pid` (now our child) and reaps it.
    static void kill_and_reap(pid_t pid);
};

}  // namespace resin::test
