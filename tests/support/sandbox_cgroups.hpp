// Where resin puts sandbox cgroups on this host, seen from the tests: every hierarchy's directory
// that sandbox cgroups are created in (from probe_host()'s layout, so the same on v1, hybrid and v2
// hosts), and the sandbox cgroups found there.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "sandbox/cgroup.hpp"

namespace resin::test {

// What this host's cgroups can enforce for a process like this test (as probe_host() sees it).
sandbox::CgroupSupport cgroup_support();

// The directories sandbox cgroups go in: resin's own cgroup in each v1 hierarchy and, on a hybrid
// host, in the v2 one (the port allowlist's), or the v2 base.
std::vector<std::string> sandbox_cgroup_parents();

// The sandbox cgroup directories, in any of those parents, that the process `pid` (of this test's
// pid namespace) created: they are named resin-<pid namespace>-<pid>-<start time>-<n>. Others'
// sandboxes (tests running in parallel) are ignored.
std::vector<std::string> sandbox_cgroups_of(pid_t pid);
// The same for several processes, with one look at each parent (quick enough to poll).
std::vector<std::string> sandbox_cgroups_of(const std::vector<pid_t>& pids);

// The sandbox cgroups made by any resin in the pid namespace of the process `pid` (a host pid).
std::vector<std::string> sandbox_cgroups_in_pid_namespace_of(pid_t pid);

// The next sandbox sweeps stale sandbox cgroups, however recently another one did (a sweep is due
// at most every kCgroupSweepIntervalSeconds where resin keeps a marker).
void make_cgroup_sweep_due();

}  // namespace resin::test
