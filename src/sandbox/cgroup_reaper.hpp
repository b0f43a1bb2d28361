// Sandbox cgroups outlive a resin killed with SIGKILL: its sandbox dies with it (the init's
// parent-death signal), but nothing removes the directories. The reaper is a small process resin
// forks before its first sandbox cgroup: it waits for resin's exit (a pidfd of its parent), however
// resin ends, kills whatever is left in resin's sandbox cgroups and removes them, and exits. After
// a clean exit there is nothing left to do. resin tells it on a socket which parents to look in.
#pragma once

#include <string>

#include "sandbox/cgroup.hpp"

namespace resin::sandbox {

// Starts the reaper for this process's sandbox cgroups in every parent (sandbox_cgroup_parents:
// every kind resin makes), once per process; later calls do nothing, and so does a host where
// resin makes no cgroups. Best effort: if the fork fails, the next resin to create a sandbox
// under the same cgroup still sweeps them (sweep_stale_sandbox_cgroups, when a sweep is due).
void start_cgroup_reaper(const CgroupLayout& layout, const CgroupSupport& support,
                         bool port_allowlist);

// Call before creating a sandbox cgroup in `parent` (one of sandbox_cgroup_parents). The reaper
// looks only in the parents it was told of, so that what it does for each resin costs nothing for
// the hierarchies that resin made no cgroup in. Tells it once per parent (a byte on its socket);
// nothing without a reaper.
void cgroup_reaper_watch(const std::string& parent);

}  // namespace resin::sandbox
