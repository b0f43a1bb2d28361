// Who the sandbox is: its user namespace's id maps, its uid/gid and groups, its hostname.
#pragma once

#include <sys/types.h>

#include "config/result.hpp"
#include "sandbox/child_step.hpp"
#include "sandbox/plan.hpp"

namespace resin::sandbox {

// Parent side, right after clone: writes the child's setgroups policy, uid_map and gid_map.
Result<void> write_id_maps(pid_t child, const IdentityPart& identity);

// Child side, first thing after the maps exist: switches the kernel ids to the mapped ones (never
// host root) and drops supplementary groups.
StepResult assume_identity(const IdentityPart& identity);

// Child side, inside the new UTS namespace.
StepResult set_hostname(const IdentityPart& identity);

}  // namespace resin::sandbox
