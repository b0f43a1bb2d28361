// The namespaces each sandbox gets: user, pid, mount, ipc, uts, cgroup, and network unless the
// config asks for the host's.
#pragma once

#include "sandbox/child_step.hpp"

namespace resin::sandbox {

// Flags for the clone3 that creates the sandbox's init. The cgroup namespace is not among them: the
// child unshares it once resin has moved it into its own cgroup, so that cgroup becomes its root.
// `new_network` says whether the clone must create the network namespace (see NetworkSetup).
unsigned long long clone_namespace_flags(bool new_network);

// Child side, after resin moved it into its cgroup.
StepResult enter_cgroup_namespace();

}  // namespace resin::sandbox
