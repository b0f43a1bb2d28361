// Ownership "directory" of an rw bind, decided at plan time: whether the sandbox's host uid and gid
// already are the source's owner and group, or must be mapped onto them through an idmapped mount
// (root resin only: see idmapped_mounts.hpp), or cannot be (refused, naming the mount).
#pragma once

#include <sys/stat.h>

#include "sandbox/config.hpp"
#include "sandbox/plan.hpp"
#include "sandbox/result.hpp"

namespace resin::sandbox {

// `source` is the stat(2) of the bind's source; `uid` and `gid` are the sandbox's own mappings.
// Sets step.owner_map when an idmapped mount is needed.
Result<void> plan_ownership(MountStep& step, const BindMount& mount, const struct stat& source,
                            const IdMapping& uid, const IdMapping& gid, bool privileged);

// A capability that would let the sandbox leave a file the host honours (file capabilities,
// set-id bits kept on write) in a directory it writes as the directory's owner. Refused with
// ownership "directory".
Result<void> refuse_owner_escalation(const Plan& plan);

}  // namespace resin::sandbox
