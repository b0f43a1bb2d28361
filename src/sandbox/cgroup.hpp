// A sandbox's own cgroup: limits that hold for its whole process tree, usage figures that cover the
// whole tree, a tree kill, and cleanup on every path. One interface, one backend per cgroup
// version.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/result.hpp"
#include "sandbox/cgroup_layout.hpp"
#include "sandbox/child_step.hpp"
#include "sandbox/unique_fd.hpp"

namespace resin::sandbox {

// What this host's cgroups can enforce for resin, decided once at start-up.
struct CgroupSupport {
    CgroupVersion version = CgroupVersion::none;
    bool memory = false;    // memory_bytes, peak memory and OOM reporting
    bool cpu = false;       // cpu_cores
    bool cpu_time = false;  // cpu_time_ms, and CPU usage of the whole tree
    bool pids = false;      // processes
    bool kill = false;      // a kill of everything in the cgroup
    std::string why_not;    // when nothing is usable: the reason, for the feature list
    bool any() const { return memory || cpu || cpu_time || pids || kill; }
};

// The limits a sandbox's cgroup enforces (the planner picks them from the config's).
struct CgroupLimits {
    std::optional<std::uint64_t> memory_bytes;
    std::optional<double> cpu_cores;
    std::optional<std::uint64_t> processes;  // the sandbox's init is one more
};

struct CgroupUsage {
    std::uint64_t cpu_user_us = 0;
    std::uint64_t cpu_system_us = 0;
    std::uint64_t peak_memory_bytes = 0;  // 0: unknown
    std::uint32_t peak_processes = 0;     // 0: unknown
    bool oom_killed = false;              // the memory limit's OOM killer killed something
};

class SandboxCgroup {
  public:
    virtual ~SandboxCgroup() = default;  // kills whatever is left and removes the cgroup(s)

    // A directory fd for clone3's CLONE_INTO_CGROUP (v2), or -1.
    virtual int clone_into() const = 0;
    // Files the sandbox's first process writes "0" to, to move itself in before it runs anything
    // else (v1). A task moving itself skips the wait for an RCU grace period that moving another
    // process costs (milliseconds per spawn). Empty when clone_into() does the job.
    virtual std::vector<std::string> self_join_files() const = 0;
    // Readable when the OOM killer acted and resin must end the rest of the tree itself; -1 if the
    // kernel kills the whole group on its own.
    virtual int oom_event_fd() const = 0;
    virtual std::uint64_t cpu_time_us() = 0;
    virtual CgroupUsage usage() = 0;
    virtual void kill_all() = 0;
};

// The cgroup files the sandbox's first process writes "0" to, to move itself in before it runs
// anything else (a task moving itself skips the RCU grace period that moving another costs).
// Opened by resin, as root: the kernel checks the opener's credentials when they are written, and
// the child's euid is already its namespace owner's, which may open nothing of the host's.
class CgroupJoin {
  public:
    // v1: the sandbox cgroup's self_join_files(); then `v2_cgroup`'s cgroup.procs (a directory fd,
    // or -1 when there is none or the clone goes in with CLONE_INTO_CGROUP).
    static Result<CgroupJoin> open(const SandboxCgroup* cgroup, int v2_cgroup);
    // Child side.
    StepResult join_self() const;

  private:
    std::vector<UniqueFd> files_;
    std::vector<std::string> names_;
};

CgroupSupport probe_cgroup_support(const CgroupLayout& layout);

// Creates the sandbox's cgroup(s) under resin's own, with the limits set (the launch sweeps stale
// ones first: sweep_stale_sandbox_cgroups).
Result<std::unique_ptr<SandboxCgroup>> create_sandbox_cgroup(const CgroupLayout& layout,
                                                             const CgroupSupport& support,
                                                             const CgroupLimits& limits);

// A cgroup directory and the version of its hierarchy: v1, or v2 (a pure v2 host's, or the unified
// hierarchy of a hybrid host).
struct CgroupDirectory {
    CgroupVersion version = CgroupVersion::none;
    std::string path;
};

// The name of a new sandbox cgroup: resin-<pid namespace inode>-<time namespace inode>-<pid>-<start
// time>-<n>, so a sweep can tell whether their owner is still alive even after its pid was reused,
// and resins in other pid namespaces (containers sharing the cgroup) never share a name or a
// prefix. The start time is as this resin reads it through its time namespace (shifted by its
// boottime offset); the time namespace is 0 on a kernel without them.
std::string sandbox_cgroup_name();
// The sandbox cgroups in `parents` whose owning resin is gone (killed with its reaper before
// either could clean up). Only those of this process's pid and time namespaces (another time
// namespace's resin reads its own start time shifted), and only owners that are
// known to be gone: one whose /proc entry cannot be read is not judged. Reads each owner's start
// time once, however many directories name it. An older resin's names, without the time
// namespace (resin-<pid namespace>-<pid>-<start time>-<n>), are judged by their pid alone: gone
// when no process has it.
std::vector<CgroupDirectory> stale_sandbox_cgroups(const std::vector<CgroupDirectory>& parents);

// Whether this start sweeps for stale sandbox cgroups. A sweep reads every live sandbox's owner:
// done on every start it made each start O(sandboxes alive) (55 µs per alive sandbox on a hybrid
// host). So where resin can keep a marker (root: cgroup_sweep_marker, one per set of parents), a
// sweep of `parents` is due once kCgroupSweepInterval has passed since the last one, and one resin
// at a time does it; elsewhere (unprivileged) every start sweeps.
inline constexpr int kCgroupSweepIntervalSeconds = 2;
bool cgroup_sweep_due(const std::vector<CgroupDirectory>& parents);
std::string cgroup_sweep_marker(const std::vector<CgroupDirectory>& parents);
// Before a sandbox's first cgroup: when a sweep is due, removes the stale sandbox cgroups of every
// parent (sandbox_cgroup_parents). It never kills: a stale one is empty, and one that is not is
// left (killing stays with the reaper, for its own resin's prefix, and a sandbox's own teardown).
void sweep_stale_sandbox_cgroups(const CgroupLayout& layout, const CgroupSupport& support,
                                 bool port_allowlist);

// "resin-<pid namespace inode>-<time namespace inode>-<pid>-<start time>-": how every sandbox
// cgroup this process creates begins.
std::string own_sandbox_cgroup_prefix();
// The sandbox cgroups in `directory` whose names begin with `prefix`.
std::vector<std::string> sandbox_cgroups_named(const std::string& directory,
                                               const std::string& prefix);
// Every directory resin makes sandbox cgroups in, whatever they are for: resin's own cgroup in
// each v1 hierarchy it uses, or the v2 base; and on a hybrid host where the port allowlist can be
// attached (`port_allowlist`), resin's own cgroup in the unified hierarchy, where the allowlist
// makes a v2 cgroup of its own. The reaper and the sweep both go by this one list, so that
// neither forgets a kind. The freezer first: the reaper's kill freezes the tree before killing, so
// no pid it reads can be reused meanwhile; the other hierarchies are empty by then.
std::vector<CgroupDirectory> sandbox_cgroup_parents(const CgroupLayout& layout,
                                                    const CgroupSupport& support,
                                                    bool port_allowlist);
// Kills whatever is left in a sandbox cgroup and removes it (bounded); whether it is gone.
bool kill_and_remove_sandbox_cgroup(const CgroupDirectory& cgroup);

}  // namespace resin::sandbox
