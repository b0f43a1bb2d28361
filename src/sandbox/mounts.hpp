// The sandbox's filesystem: a new root on a tmpfs holding only the configured bind mounts and
// tmpfs, a fresh /proc, a minimal /dev, then pivot_root with the old root detached, so every host
// path that was not listed is invisible, not merely unwritable.
#pragma once

#include <vector>

#include "sandbox/plan.hpp"

namespace resin::sandbox {

// Child side: runs inside the new user, mount and pid namespaces, before the command is forked.
// `premade`: per plan.mounts entry, a detached tree resin made (an idmapped mount, taken over), or
// -1. On failure, reports through `failure_fd` and returns false.
bool build_filesystem(const Plan& plan, int failure_fd, const std::vector<int>& premade);

}  // namespace resin::sandbox
