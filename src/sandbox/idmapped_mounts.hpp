// Root resin's half of ownership "directory": for each bind with an owner map, a detached copy of
// the source tree, idmapped so that the source's owner and group on disk are the sandbox's host
// uid and gid. The kernel lets only a holder of CAP_SYS_ADMIN over the filesystem (host root) idmap
// a mount, and only while it is detached: resin makes the trees before the clone, the sandbox's
// init inherits the descriptors and attaches them in its own mount namespace (mounts.cpp).
#pragma once

#include <vector>

#include "config/result.hpp"
#include "sandbox/plan.hpp"
#include "sandbox/unique_fd.hpp"

namespace resin::sandbox {

class IdmappedMounts {
  public:
    // Nothing to do (no descriptors) when no mount has an owner map. A filesystem that cannot be
    // idmapped is refused as unsupported_config, naming the mount's ownership field.
    static Result<IdmappedMounts> prepare(const MountsPart& planned);

    // One per planned.steps entry: the idmapped tree, or -1.
    std::vector<int> descriptors() const;

  private:
    std::vector<UniqueFd> trees_;
};

}  // namespace resin::sandbox
