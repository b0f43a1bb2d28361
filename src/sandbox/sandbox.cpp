#include "sandbox/sandbox.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string_view>

#include "proto/exit_reason_names.hpp"
#include "sandbox/cgroup_reaper.hpp"
#include "sandbox/exit_classification.hpp"
#include "sandbox/launch_channel.hpp"
#include "sandbox/pidfd.hpp"
#include "sandbox/time.hpp"

namespace resin::sandbox {
namespace {

// A counter's growth since `start`; counters sampled separately may disagree by a tick.
std::uint64_t since(std::uint64_t now, std::uint64_t start) {
    return now > start ? now - start : 0;
}

// waitid(2) on a pidfd, with the rusage glibc's wrapper does not expose: blocks until the process
// has ended, then reaps it. The host's event loop watches the pidfd and so makes it non-blocking,
// and waitid on a non-blocking pidfd says EAGAIN instead of waiting: the flag goes first.
int wait_pidfd(int pidfd, siginfo_t& info, rusage& usage) {
    const int flags = ::fcntl(pidfd, F_GETFL);
    if (flags < 0 ||
        ((flags & O_NONBLOCK) != 0 && ::fcntl(pidfd, F_SETFL, flags & ~O_NONBLOCK) != 0)) {
        return -1;
    }
    int result;
    do {
        result = static_cast<int>(::syscall(SYS_waitid, P_PIDFD, pidfd, &info, WEXITED, &usage));
    } while (result < 0 && errno == EINTR);
    return result;
}

}  // namespace

// The sandbox's reasons are the protocol's, in the same order: one table names both.
static_assert(static_cast<std::size_t>(ExitReason::seccomp) + 1 ==
              std::size(proto::kExitReasonNames));
static_assert(std::string_view(proto::exit_reason_name(
                  static_cast<std::size_t>(ExitReason::wall_time_limit))) == "wall_time_limit");

const char* to_string(ExitReason reason) {
    return proto::exit_reason_name(static_cast<std::size_t>(reason));
}

void Sandbox::remove_cgroups_when_killed(const Plan& plan) {
    if (plan.cgroup().own || plan.network().port_allowlist) {
        start_cgroup_reaper(plan.cgroup().layout, plan.cgroup().support,
                            plan.host().socket_bpf_unavailable.empty());
    }
}

Sandbox::~Sandbox() {
    if (init_pidfd_ && !reaped_) {
        signal_pidfd(init_pidfd_.get(), SIGKILL);
        siginfo_t info{};
        rusage usage{};
        wait_pidfd(init_pidfd_.get(), info, usage);
    }
}

void Sandbox::signal(int sig) {
    if (reaped_) {
        return;
    }
    requested_signals_.insert(sig);
    // SIGKILL goes to init: its death takes the whole pid namespace with it.
    const int target = sig == SIGKILL || !command_pidfd_ ? init_pidfd_.get() : command_pidfd_.get();
    signal_pidfd(target, sig);  // ESRCH: it has already ended
}

void Sandbox::terminate(EndCause cause) {
    if (reaped_) {
        return;
    }
    if (!end_cause_) {
        end_cause_ = cause;
    }
    signal_pidfd(init_pidfd_.get(), SIGKILL);
}

ExitReport Sandbox::reap() {
    ExitReport report = reap_keeping_cgroups();
    remove_cgroups();
    return report;
}

// The sandbox has ended: its cgroups go (what is left killed first), not with the object.
void Sandbox::remove_cgroups() {
    cgroup_.reset();
    socket_allowlist_.reset();
}

std::optional<ExitReport> Sandbox::report_if_tree_gone() {
    if (reaped_ || early_report_ || command_end_ || !cgroup_) {
        return std::nullopt;
    }
    CommandEnd end = receive_command_end(status_channel_.get());
    if (!end.wait_status) {
        return std::nullopt;  // the init died without a word: its exit tells
    }
    command_end_ = end;
    if (!end.tree_gone) {
        return std::nullopt;  // the init kills what is left, and its exit tells
    }
    const std::uint64_t end_us = monotonic_us();
    const CgroupUsage tree = cgroup_->usage();
    if (tree.cpu_user_us + tree.cpu_system_us == 0 || tree.peak_memory_bytes == 0) {
        return std::nullopt;  // usage the cgroups do not give comes from the init's rusage
    }
    early_report_ = describe_ending(end, nullptr, nullptr, tree, end_us);
    return early_report_;
}

ExitReport Sandbox::reap_keeping_cgroups() {
    siginfo_t info{};
    rusage usage{};
    if (reaped_ || wait_pidfd(init_pidfd_.get(), info, usage) != 0) {
        ExitReport report;
        report.reason = ExitReason::signaled;
        report.detail = "the sandbox could not be waited for";
        return report;
    }
    reaped_ = true;
    if (early_report_) {
        return *early_report_;
    }
    const std::uint64_t end_us = monotonic_us();
    if (!command_end_) {
        command_end_ = receive_command_end(status_channel_.get());
    }
    return describe_ending(*command_end_, &info, &usage, cgroup_ ? cgroup_->usage() : CgroupUsage{},
                           end_us);
}

ExitReport Sandbox::describe_ending(const CommandEnd& end, const siginfo_t* init_end,
                                    const rusage* init_usage, const CgroupUsage& tree,
                                    std::uint64_t end_us) const {
    ExitReport report;
    if (const auto& status = end.wait_status) {
        if (WIFEXITED(*status)) {
            report.exit_code = WEXITSTATUS(*status);
        } else if (WIFSIGNALED(*status)) {
            report.signal = WTERMSIG(*status);
            report.core_dumped = WCOREDUMP(*status);
        }
    } else if (init_end->si_code == CLD_EXITED) {
        report.exit_code = init_end->si_status;  // init ended before its command started
    } else {
        // init was killed, and the kernel killed the command with it.
        report.signal = init_end->si_status;
        report.core_dumped = init_end->si_code == CLD_DUMPED;
    }

    const DenialLog& denials = *denials_.get();
    EndingFacts facts;
    facts.signal = report.signal;
    facts.end_cause = end_cause_;
    facts.killed_for_denial = denials.command_killed || denials.failure_errno != 0;
    facts.oom_killed = tree.oom_killed;
    facts.rlimit_cpu_ns = rlimit_cpu_ns_;
    facts.command_cpu_ns = end.cpu_ns;
    facts.signal_requested = requested_signals_.count(report.signal) != 0;
    report.reason = classify_ending(facts);

    // A sandbox that never started its command used nothing of its own.
    report.usage.wall_us = start_us_ == 0 ? 0 : end_us - start_us_;
    if (init_usage != nullptr) {
        report.usage.cpu_user_us =
            since(microseconds_of(init_usage->ru_utime), init_cpu_at_start_.user_us);
        report.usage.cpu_system_us =
            since(microseconds_of(init_usage->ru_stime), init_cpu_at_start_.system_us);
        report.usage.peak_memory_bytes = static_cast<std::uint64_t>(init_usage->ru_maxrss) * 1024u;
    }
    if (cgroup_) {
        // The cgroup's figures cover every process of the tree, reaped by init or not.
        if (tree.cpu_user_us + tree.cpu_system_us > 0) {
            report.usage.cpu_user_us = since(tree.cpu_user_us, usage_at_start_.cpu_user_us);
            report.usage.cpu_system_us = since(tree.cpu_system_us, usage_at_start_.cpu_system_us);
        }
        if (tree.peak_memory_bytes > 0) {
            report.usage.peak_memory_bytes = tree.peak_memory_bytes;
        }
        report.usage.peak_processes = tree.peak_processes;
    }
    if (report.reason == ExitReason::memory_limit && cgroup_) {
        report.detail = "the memory limit's OOM killer ended the sandbox";
    }
    // Whatever the reason, every denied syscall is named.
    const std::string denied = describe_denials(denials, report.reason == ExitReason::seccomp);
    if (!denied.empty()) {
        report.detail += (report.detail.empty() ? "" : "; ") + denied;
    }
    return report;
}

void Sandbox::on_oom_event() {
    std::uint64_t events = 0;
    if (::read(oom_event_fd(), &events, sizeof events) == sizeof events && events > 0) {
        terminate(EndCause::memory_limit);
    }
}

std::optional<std::chrono::microseconds> Sandbox::check_cpu_time() {
    if (!cpu_time_limit_us_ || reaped_ || end_cause_) {
        return std::nullopt;
    }
    const std::uint64_t used = since(cgroup_->cpu_time_us(), cpu_time_at_start_us_);
    if (used >= *cpu_time_limit_us_) {
        terminate(EndCause::cpu_time_limit);
        return std::nullopt;
    }
    // The tree cannot spend the rest sooner than this, however many threads it runs: nothing is
    // missed by looking no earlier. Not every 100 ms whatever is left, as before: a thousand idle
    // sandboxes then kept the host busy reading cpuacct.usage.
    const std::uint64_t soonest = (*cpu_time_limit_us_ - used) / cpu_parallelism_;
    return std::chrono::microseconds(std::clamp<std::uint64_t>(soonest, 1000, 10'000'000));
}

}  // namespace resin::sandbox
