// Landlock on top of the mount namespace: file access limited to the paths the config lists
// (read-only where they are mounted read-only), TCP ports limited to the tcp_connect/tcp_bind
// allowlists (ABI >= 4), and, where the kernel scopes them (ABI >= 6), no abstract unix socket or
// signal reaching outside.
#pragma once

#include "sandbox/plan.hpp"

namespace resin::sandbox {

// Child side, after no_new_privs and before the syscall filter. Returns errno or 0; `failed_step`
// names what failed. A host without Landlock gets no file rules (the mounts still hold); port rules
// on such a host never reach here: the planner refuses them.
int apply_landlock(const Plan& plan, const char** failed_step);

}  // namespace resin::sandbox
