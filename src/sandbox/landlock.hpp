// Landlock on top of the mount namespace: file access limited to the paths the config lists
// (read-only where they are mounted read-only), TCP ports limited to the tcp_connect/tcp_bind
// allowlists (ABI >= 4), and, where the kernel scopes them (ABI >= 6), no abstract unix socket or
// signal reaching outside.
#pragma once

#include "sandbox/child_step.hpp"
#include "sandbox/plan.hpp"

namespace resin::sandbox {

// The sandbox's init, once its filesystem is built and before the command exists: the ruleset
// (close-on-exec), or -1 where there is none. A host without Landlock gets no file rules (the
// mounts still hold); port rules on such a host never reach here: the planner refuses them.
StepResult build_landlock_ruleset(const LandlockPart& landlock, int& ruleset_fd);

// The command, after no_new_privs and before the syscall filter: restricts itself to the ruleset
// and closes it. Nothing for -1.
StepResult enforce_landlock(int ruleset_fd);

}  // namespace resin::sandbox
