// Landlock on top of the mount namespace: file access limited to the paths the config lists
// (read-only where they are mounted read-only), TCP ports limited to the tcp_connect/tcp_bind
// allowlists (ABI >= 4), and, where the kernel scopes them (ABI >= 6), no abstract unix socket or
// signal reaching outside.
#pragma once

#include "sandbox/child_step.hpp"
#include "sandbox/plan.hpp"

namespace resin::sandbox {

// Child side, after no_new_privs and before the syscall filter. A host without Landlock gets no
// file rules (the mounts still hold); port rules on such a host never reach here: the planner
// refuses them.
StepResult apply_landlock(const LandlockPart& landlock);

}  // namespace resin::sandbox
