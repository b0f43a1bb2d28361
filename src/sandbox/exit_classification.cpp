#include "sandbox/exit_classification.hpp"

#include <signal.h>

namespace resin::sandbox {
namespace {

ExitReason reason_for(EndCause cause) {
    switch (cause) {
        case EndCause::killed:
            return ExitReason::killed;
        case EndCause::wall_time_limit:
            return ExitReason::wall_time_limit;
        case EndCause::cpu_time_limit:
            return ExitReason::cpu_time_limit;
        case EndCause::memory_limit:
            return ExitReason::memory_limit;
    }
    return ExitReason::killed;
}

}  // namespace

ExitReason classify_ending(const EndingFacts& facts) {
    if (facts.signal == 0) {
        return ExitReason::exited;
    }
    if (facts.end_cause) {
        return reason_for(*facts.end_cause);
    }
    // Init kills with SIGKILL; a command killed for a denial that then died of another signal
    // (its own) was not ended by the filter.
    if (facts.signal == SIGKILL && facts.killed_for_denial) {
        return ExitReason::seccomp;
    }
    if (facts.signal == SIGKILL && facts.oom_killed) {
        return ExitReason::memory_limit;
    }
    if (facts.signal == SIGKILL && facts.rlimit_cpu_ns &&
        facts.command_cpu_ns >= *facts.rlimit_cpu_ns) {
        return ExitReason::cpu_time_limit;
    }
    if (facts.signal_requested) {
        return ExitReason::killed;
    }
    return ExitReason::signaled;
}

}  // namespace resin::sandbox
