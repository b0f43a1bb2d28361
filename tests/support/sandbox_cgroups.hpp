// Where resin puts sandbox cgroups on this host, seen from the tests: every hierarchy's directory
// that sandbox cgroups are created in (from probe_host()'s layout, so the same on v1, hybrid and v2
// hosts), and the sandbox cgroups found there.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

#include "sandbox/cgroup.hpp"

namespace resin::test {

// How soon after its resin is killed a sandbox's cgroups and processes are gone (the reaper's
// budget). The second is the optimised build's, which tests/run.sh checks on its own (70 ms on the
// reference box for 100 killed resins). Under AddressSanitizer every one of the 300 processes that
// die (resins, their inits and reapers, all forks of resin) is several times heavier: 117-323 ms on
// the reference box, but 1,071 ms once in CI on a slower machine (where the whole test took 21 s,
// against 6-9 s here). There the budget is three seconds: the property (nothing left) is the same.
#if defined(__SANITIZE_ADDRESS__)
inline constexpr std::chrono::seconds kKilledResinsGoneWithin{3};
#else
inline constexpr std::chrono::seconds kKilledResinsGoneWithin{1};
#endif

// The inode of a namespace file (e.g. /proc/self/ns/pid), as resin puts it in its names: "0" for a
// time namespace on a kernel without them.
std::string namespace_inode(const std::string& ns_file);

// What this host's cgroups can enforce for a process like this test (as probe_host() sees it).
sandbox::CgroupSupport cgroup_support();

// The directories sandbox cgroups go in: resin's own cgroup in each v1 hierarchy and, on a hybrid
// host, in the v2 one (the port allowlist's), or the v2 base.
std::vector<std::string> sandbox_cgroup_parents();

// The sandbox cgroup directories, in any of those parents, that the process `pid` (of this test's
// pid and time namespaces) created: they are named resin-<pid namespace>-<time namespace>-<pid>-
// <start time>-<n>. Others' sandboxes (tests running in parallel) are ignored.
std::vector<std::string> sandbox_cgroups_of(pid_t pid);
// The same for several processes, with one look at each parent (quick enough to poll).
std::vector<std::string> sandbox_cgroups_of(const std::vector<pid_t>& pids);

// The sandbox cgroups made by any resin in the pid namespace of the process `pid` (a host pid).
std::vector<std::string> sandbox_cgroups_in_pid_namespace_of(pid_t pid);
// Those made by any resin of this test's pid namespace in the time namespace of the process `pid`.
std::vector<std::string> sandbox_cgroups_in_time_namespace_of(pid_t pid);

// The sandbox cgroup directories the process `pid` is in, in any of the parents, found by name from
// /proc/<pid>/cgroup whatever the name says (any resin's, named by any version of resin).
std::vector<std::string> sandbox_cgroups_holding(pid_t pid);

// The next sandbox sweeps stale sandbox cgroups, however recently another one did (a sweep is due
// at most every kCgroupSweepIntervalSeconds where resin keeps a marker).
void make_cgroup_sweep_due();

}  // namespace resin::test
