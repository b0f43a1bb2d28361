// The sandbox's filesystem: a new root on a tmpfs holding only the configured bind mounts and
// tmpfs, a fresh /proc, a minimal /dev, then pivot_root with the old root detached, so every host
// path that was not listed is invisible, not merely unwritable.
#pragma once

#include <vector>

#include "sandbox/child_step.hpp"
#include "sandbox/plan.hpp"

namespace resin::sandbox {

// Child side: runs inside the new user, mount and pid namespaces, before the command is forked.
// `premade`: per mounts.steps entry, a detached tree resin made (an idmapped mount, taken over), or
// -1.
StepResult build_filesystem(const MountsPart& mounts, const std::vector<int>& premade);

}  // namespace resin::sandbox
