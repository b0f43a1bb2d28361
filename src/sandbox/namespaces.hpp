// The namespaces each sandbox gets: user, pid, mount, ipc, uts, cgroup, and network unless the
// config asks for the host's.
#pragma once

#include "sandbox/plan.hpp"

namespace resin::sandbox {

// Flags for the clone3 that creates the sandbox's init. The cgroup namespace is not among them: the
// child unshares it once resin has moved it into its own cgroup, so that cgroup becomes its root.
unsigned long long clone_namespace_flags(const Plan& plan);

// Child side, after resin moved it into its cgroup. Returns errno or 0.
int enter_cgroup_namespace();

}  // namespace resin::sandbox
