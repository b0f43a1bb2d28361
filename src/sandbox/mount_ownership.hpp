// Ownership "directory" of an rw bind, decided at plan time: whether the sandbox's host uid and gid
// already are the source's owner and group, or must be mapped onto them through an idmapped mount
// (root resin only: see idmapped_mounts.hpp), or cannot be (refused, naming the mount).
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <string>
#include <vector>

#include "config/config.hpp"
#include "config/result.hpp"
#include "sandbox/plan.hpp"
#include "sandbox/unique_fd.hpp"

namespace resin::sandbox {

// The source of a mount of ownership "directory", opened O_PATH without following a symbolic link
// in any component of `source` (openat2 RESOLVE_NO_SYMLINKS): a link anywhere in the path would
// let whoever can write its directory hand the sandbox another directory as its owner (/etc as
// root). Refused as invalid_config at `pointer`/source. Plan and launch open it the same way.
Result<UniqueFd> open_owned_source(const std::string& source, const std::string& pointer);

// Opens the source itself (open_owned_source) and sets step.owner_map when an idmapped mount is
// needed (always under root resin), and step.source_is_directory. `uid` and `gid` are the
// sandbox's own mappings.
Result<void> plan_ownership(MountStep& step, const BindMount& mount, const IdMapping& uid,
                            const IdMapping& gid, bool privileged);

// A capability that would let the sandbox leave a file the host honours (file capabilities,
// set-id bits kept on write) in a directory it writes as the directory's owner. Refused with
// ownership "directory".
Result<void> refuse_owner_escalation(const MountsPart& mounts,
                                     const std::vector<std::string>& capabilities);

// Whether the sandbox has an idmapped mount: then its host uid and gid must be reserved for it.
bool has_idmapped_mount(const MountsPart& mounts);

// `plan` with the sandbox's host uid and gid, and every idmap's target, set to `reserved`: a
// uid (and the gid of the same number) that no other sandbox or host process holds while this
// sandbox lives (namespace_owner.hpp), so that only this sandbox acts as the directories' owners
// through its idmapped mounts, whoever else is handed a descriptor into them.
Plan with_reserved_ids(const Plan& plan, uid_t reserved);

}  // namespace resin::sandbox
