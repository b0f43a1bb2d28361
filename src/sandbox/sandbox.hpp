// The one entry point the host uses: launch a command in a sandbox built from a plan, signal it,
// end it, and learn how it ended. A Sandbox owns everything it created; destroying one that is
// still running kills and reaps its whole process tree.
#pragma once

#include <signal.h>
#include <sys/resource.h>
#include <sys/types.h>

#include <chrono>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "config/result.hpp"
#include "sandbox/cgroup.hpp"
#include "sandbox/exit_report.hpp"
#include "sandbox/launch_channel.hpp"
#include "sandbox/namespace_owner.hpp"
#include "sandbox/plan.hpp"
#include "sandbox/seccomp_denials.hpp"
#include "sandbox/socket_allowlist.hpp"
#include "sandbox/unique_fd.hpp"

namespace resin::sandbox {

struct Command {
    std::string executable;         // a path, or a name looked up in the sandbox's PATH
    std::vector<std::string> args;  // argv[1..]; argv[0] is `executable`
    // After the config's `env`: NAME=VALUE sets NAME, a bare NAME removes it.
    std::vector<std::string> environment_changes = {};
    std::string cwd = {};  // empty: the config's filesystem.cwd
};

// Descriptors that become the command's stdin, stdout and stderr. Borrowed: the caller closes its
// copies after launch() returns.
struct Stdio {
    int in = 0;
    int out = 1;
    int err = 2;
    // Made by resin for the sandbox's user (host/pipes.hpp): they follow the sandbox to its
    // reserved uid when it has an idmapped mount.
    bool owned_by_sandbox = false;
};

class Sandbox {
  public:
    // Builds the whole sandbox, everything the plan asks for, without its command: returns once
    // its init waits for start(). Sandbox cgroups are named after the process (docs/limits.md):
    // one process has one sandbox with cgroups at a time, from prepare() until reap() (as resin,
    // which runs one sandbox, has).
    static Result<std::unique_ptr<Sandbox>> prepare(const Plan& plan, const Stdio& stdio);
    // Runs the sandbox's one command: returns once it has been exec'd, or with the reason it could
    // not be (then the sandbox is spent: destroy it). Wall time and CPU usage count from here.
    Result<void> start(const Command& command);
    // prepare() then start(): every sandbox, prepared ahead or on demand, is built the same way.
    static Result<std::unique_ptr<Sandbox>> launch(const Plan& plan, const Command& command,
                                                   const Stdio& stdio);
    // For a process that may be killed without a chance to clean up (resin): before its first
    // launch, starts the small process that removes its sandbox cgroups when it ends
    // (cgroup_reaper.hpp). Once per process; nothing where the plan makes no cgroup.
    static void remove_cgroups_when_killed(const Plan& plan);

    Sandbox(const Sandbox&) = delete;
    Sandbox& operator=(const Sandbox&) = delete;
    ~Sandbox();

    // Becomes readable when the sandbox has ended (the process tree is gone, or a prepared init
    // died before its command). A pidfd.
    int exit_fd() const { return init_pidfd_.get(); }
    pid_t command_pid() const { return command_pid_; }

    // Delivers `sig` to the command. SIGKILL ends the whole sandbox. No effect once it has ended.
    void signal(int sig);
    // Kills the whole process tree now. The first cause given is the reported reason.
    void terminate(EndCause cause);
    // Call once exit_fd() is readable: waits for the sandbox, describes how it ended, and removes
    // its cgroups.
    ExitReport reap();
    // reap() for a caller with the report to send first: the cgroups go with remove_cgroups()
    // (or the object), off the report's path.
    ExitReport reap_keeping_cgroups();
    void remove_cgroups();
    // Readable when the init reports how the command ended (or the init is gone).
    int command_end_fd() const { return status_channel_.get(); }
    // Call when command_end_fd() is readable: how the sandbox ended, at once, if the init says the
    // command's whole tree is gone and the cgroups have its usage; nullopt otherwise, and then
    // exit_fd() tells. The report does not wait for the teardown of the sandbox's namespaces and
    // mount tree (~0.4 ms): reap_keeping_cgroups() later reaps the init and returns the same
    // report.
    std::optional<ExitReport> report_if_tree_gone();
    bool reaped() const { return reaped_; }

    // Readable when the memory limit's OOM killer acted and resin must end the rest of the tree
    // (cgroup v1); -1 when the kernel does that itself. Then call on_oom_event().
    int oom_event_fd() const { return cgroup_ ? cgroup_->oom_event_fd() : -1; }
    void on_oom_event();
    // For the host's timer: ends the sandbox once its whole tree has spent limits.cpu_time_ms of
    // CPU, else says when to look again. nullopt: nothing (more) to watch.
    std::optional<std::chrono::microseconds> check_cpu_time();

  private:
    Sandbox() = default;
    // The report from what the init said of the command (`end`), the init's own end when it has
    // been reaped (`init_end`, `init_usage`), and the cgroups' figures.
    ExitReport describe_ending(const CommandEnd& end, const siginfo_t* init_end,
                               const rusage* init_usage, const CgroupUsage& tree,
                               std::uint64_t end_us) const;

    // Its uid stays taken until everything else of the sandbox is gone.
    std::optional<NamespaceOwner> namespace_owner_;
    // Removed by reap(); if never reaped, destroyed last, once the tree is gone (the allowlist's
    // cgroup after the others: it is only empty once they have killed what was left).
    std::unique_ptr<SocketAllowlist> socket_allowlist_;
    std::unique_ptr<SandboxCgroup> cgroup_;
    UniqueFd init_pidfd_;
    pid_t init_pid_ = -1;
    UniqueFd command_pidfd_;
    pid_t command_pid_ = -1;
    UniqueFd status_channel_;
    // Until start(): the init's start signal, its setup reports, the command block, and what of the
    // plan the command needs.
    UniqueFd start_channel_;
    UniqueFd setup_failures_;
    UniqueFd command_block_;
    std::vector<std::string> environment_;
    std::string cwd_;
    std::uint64_t start_us_ = 0;
    // What the sandbox had spent when its command started: not the command's.
    CgroupUsage usage_at_start_;
    std::uint64_t cpu_time_at_start_us_ = 0;  // as the cpu_time limit counts it
    InitCpu init_cpu_at_start_;
    // The command's process, forked while the sandbox was prepared, and its start signal.
    CommandHandle prepared_command_;
    UniqueFd command_start_channel_;
    std::set<int> requested_signals_;
    std::optional<EndCause> end_cause_;
    std::optional<std::uint64_t> cpu_time_limit_us_;  // enforced by polling the cgroup
    unsigned cpu_parallelism_ = 1;                    // how fast the tree can burn CPU time
    // The cpu_time limit as RLIMIT_CPU, whose kill is a SIGKILL at the command's own CPU time.
    std::optional<std::uint64_t> rlimit_cpu_ns_;
    // What the sandbox's init observed of the syscall filter.
    SharedDenialLog denials_;
    bool reaped_ = false;
    std::optional<CommandEnd> command_end_;   // once received from the init
    std::optional<ExitReport> early_report_;  // report_if_tree_gone()'s
};

}  // namespace resin::sandbox
