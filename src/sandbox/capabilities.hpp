// Privileges of the command: every capability set cleared except what `capabilities` names,
// securebits locked, no_new_privs. A kept capability counts only inside the sandbox's user
// namespace: over its own mounts, its own network namespace, its own processes; never over the
// host's objects (docs/security.md).
#pragma once

#include "sandbox/child_step.hpp"
#include "sandbox/plan.hpp"

namespace resin::sandbox {

// Child side, just before the syscall filter and exec.
StepResult drop_privileges(const CapabilitiesPart& capabilities);

// For the sandbox's init once setup is done: it keeps no capability, and no_new_privs. (init made
// itself non-dumpable before forking the command, so the command cannot ptrace it or open its
// memory at any point: launcher.cpp.)
StepResult drop_init_privileges();

}  // namespace resin::sandbox
