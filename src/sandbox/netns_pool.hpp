// Fresh, never-used network namespaces made ahead of time, so a sandbox with a network of its own
// does not wait ~0.85 ms for the kernel to create one. Each is owned by a user namespace of its
// own (never the host's, whose network namespaces receive the host's device events). Root only:
// each namespace is pinned by a bind mount in a root-owned 0700 directory and claimed by unmounting
// it: of several resins that opened the same entry, exactly one unmount succeeds, so no two
// sandboxes ever share one. Unprivileged resin, or a pool that is empty or unsafe, falls back to
// creating the namespace during the launch.
#pragma once

#include "sandbox/host_probe.hpp"
#include "sandbox/unique_fd.hpp"

namespace resin::sandbox {

class NetnsPool {
  public:
    static constexpr const char* kDirectory = "/run/resin/netns";
    static constexpr int kTargetSize = 4;

    // A fresh empty network namespace (lo down), or an invalid fd if none can be had from the pool.
    static UniqueFd claim(const HostCapabilities& host);

    // Tops the pool up to kTargetSize, and returns when it is done (or could not be). False
    // unless root.
    static bool fill(const HostCapabilities& host);

    // Starts a detached process that tops the pool up to kTargetSize, and returns at once. Call it
    // off the client's critical path (after the exit report went out).
    static void refill_detached(const HostCapabilities& host);
};

}  // namespace resin::sandbox
