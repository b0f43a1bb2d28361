// Why a sandbox ended, as a pure function of what resin observed: the reason of its exit report.
#pragma once

#include <cstdint>
#include <optional>

#include "sandbox/exit_report.hpp"

namespace resin::sandbox {

struct EndingFacts {
    int signal = 0;                     // the signal that ended the command; 0: it exited
    std::optional<EndCause> end_cause;  // why resin ended it itself (the first cause given)
    // The sandbox's init killed the command for a denied syscall, or failed to and said so.
    bool killed_for_denial = false;
    bool oom_killed = false;  // the memory limit's OOM killer acted (the cgroup's count)
    // The cpu_time limit as RLIMIT_CPU, and the command's own CPU time when it ended.
    std::optional<std::uint64_t> rlimit_cpu_ns;
    std::uint64_t command_cpu_ns = 0;
    bool signal_requested = false;  // the client asked for this signal
};

// Every reason but "exited" and "signaled" rests on something resin observed itself: its own kill
// (a limit, the client's request), a cgroup's OOM count, init's record of a denied syscall, the
// command's CPU time against RLIMIT_CPU. Never on the signal number alone, which the command may
// have sent itself.
ExitReason classify_ending(const EndingFacts& facts);

}  // namespace resin::sandbox
