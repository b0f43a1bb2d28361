// Who the sandbox is: its user namespace's id maps, its uid/gid and groups, its hostname.
#pragma once

#include <sys/types.h>

#include "sandbox/plan.hpp"
#include "config/result.hpp"

namespace resin::sandbox {

// Parent side, right after clone: writes the child's setgroups policy, uid_map and gid_map.
Result<void> write_id_maps(pid_t child, const Plan& plan);

// Child side, first thing after the maps exist: switches the kernel ids to the mapped ones (never
// host root) and drops supplementary groups. Returns the errno of the failing call, or 0.
int assume_identity(const Plan& plan);

// Child side, inside the new UTS namespace.
int set_hostname(const Plan& plan);

}  // namespace resin::sandbox
