// Preparing a sandbox ahead of its command is background work: it must not take CPU from the
// commands and starts that are running now (on a two-core host a pool's refill otherwise lands on
// the very next start). resin prepares at idle priority (SCHED_IDLE); the sandbox's init, cloned
// meanwhile, inherits it, and the start returns it to normal priority before the command exists,
// so the command runs exactly as it would have on demand.
#pragma once

#include <sys/types.h>

#include "config/result.hpp"

namespace resin::sandbox {

// Lowers the calling thread to SCHED_IDLE while it lives, back to SCHED_OTHER when it ends. Only
// where the host lets resin come back (CAP_SYS_NICE: an unprivileged thread may not leave
// SCHED_IDLE); elsewhere it does nothing and the preparation runs at normal priority.
class BackgroundPriority {
  public:
    BackgroundPriority();
    ~BackgroundPriority();
    BackgroundPriority(const BackgroundPriority&) = delete;
    BackgroundPriority& operator=(const BackgroundPriority&) = delete;

  private:
    bool lowered_ = false;
};

// Whether the calling thread runs at idle priority now: then what it clones does too.
bool at_idle_priority();
// Returns process `pid` (a sandbox's init, cloned at idle priority) to normal priority.
Result<void> restore_normal_priority(pid_t pid);

}  // namespace resin::sandbox
