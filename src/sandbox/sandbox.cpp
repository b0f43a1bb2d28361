#include "sandbox/sandbox.hpp"

#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "sandbox/cgroup_reaper.hpp"
#include "sandbox/launch_channel.hpp"
#include "sandbox/pidfd.hpp"
#include "sandbox/time.hpp"

namespace resin::sandbox {
namespace {

std::uint64_t to_us(const timeval& tv) {
    return static_cast<std::uint64_t>(tv.tv_sec) * 1000000u +
           static_cast<std::uint64_t>(tv.tv_usec);
}

ExitReason reason_for(EndCause cause) {
    switch (cause) {
        case EndCause::killed:
            return ExitReason::killed;
        case EndCause::wall_time_limit:
            return ExitReason::wall_time_limit;
        case EndCause::cpu_time_limit:
            return ExitReason::cpu_time_limit;
        case EndCause::memory_limit:
            return ExitReason::memory_limit;
    }
    return ExitReason::killed;
}

// waitid(2) on a pidfd, with the rusage glibc's wrapper does not expose. Retries on EINTR.
int wait_pidfd(int pidfd, siginfo_t& info, rusage& usage, int options) {
    int result;
    do {
        result = static_cast<int>(
            ::syscall(SYS_waitid, P_PIDFD, pidfd, &info, WEXITED | options, &usage));
    } while (result < 0 && errno == EINTR);
    return result;
}

}  // namespace

const char* to_string(ExitReason reason) {
    switch (reason) {
        case ExitReason::exited:
            return "exited";
        case ExitReason::signaled:
            return "signaled";
        case ExitReason::killed:
            return "killed";
        case ExitReason::wall_time_limit:
            return "wall_time_limit";
        case ExitReason::cpu_time_limit:
            return "cpu_time_limit";
        case ExitReason::memory_limit:
            return "memory_limit";
        case ExitReason::seccomp:
            return "seccomp";
    }
    return "unknown";
}

void Sandbox::remove_cgroups_when_killed(const Plan& plan) {
    if (plan.own_cgroup) {
        start_cgroup_reaper(plan.host.cgroup_layout, plan.host.cgroups);
    }
}

Sandbox::~Sandbox() {
    if (init_pidfd_ && !reaped_) {
        signal_pidfd(init_pidfd_.get(), SIGKILL);
        siginfo_t info{};
        rusage usage{};
        wait_pidfd(init_pidfd_.get(), info, usage, 0);
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
    ExitReport report;
    siginfo_t info{};
    rusage usage{};
    if (reaped_ || wait_pidfd(init_pidfd_.get(), info, usage, 0) != 0) {
        report.reason = ExitReason::signaled;
        report.detail = "the sandbox could not be waited for";
        return report;
    }
    reaped_ = true;
    const std::uint64_t end_us = monotonic_us();

    const CommandEnd end = receive_command_end(status_channel_.get());
    if (const auto& status = end.wait_status) {
        if (WIFEXITED(*status)) {
            report.exit_code = WEXITSTATUS(*status);
        } else if (WIFSIGNALED(*status)) {
            report.signal = WTERMSIG(*status);
            report.core_dumped = WCOREDUMP(*status);
        }
    } else if (info.si_code == CLD_EXITED) {
        report.exit_code = info.si_status;  // init ended before its command started
    } else {
        // init was killed, and the kernel killed the command with it.
        report.signal = info.si_status;
        report.core_dumped = info.si_code == CLD_DUMPED;
    }

    CgroupUsage tree;
    if (cgroup_) {
        tree = cgroup_->usage();
    }
    const DenialLog& denials = *denials_.get();
    report.reason = classify(report.signal, denials, tree, end.cpu_ns);

    report.usage.wall_us = end_us - start_us_;
    report.usage.cpu_user_us = to_us(usage.ru_utime);
    report.usage.cpu_system_us = to_us(usage.ru_stime);
    report.usage.peak_memory_bytes = static_cast<std::uint64_t>(usage.ru_maxrss) * 1024u;
    if (cgroup_) {
        // The cgroup's figures cover every process of the tree, reaped by init or not.
        if (tree.cpu_user_us + tree.cpu_system_us > 0) {
            report.usage.cpu_user_us = tree.cpu_user_us;
            report.usage.cpu_system_us = tree.cpu_system_us;
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
    // The sandbox has ended: its cgroups go now (what is left killed first), not with the object.
    cgroup_.reset();
    socket_allowlist_.reset();
    return report;
}

// Every reason but "exited" and "signaled" rests on something resin observed itself: its own kill
// (a limit, the client's request), a cgroup's OOM count, init's record of a denied syscall, the
// command's CPU time against RLIMIT_CPU. Never on the signal number alone, which the command may
// have sent itself.
ExitReason Sandbox::classify(int signal, const DenialLog& denials, const CgroupUsage& tree,
                             std::uint64_t command_cpu_ns) const {
    if (signal == 0) {
        return ExitReason::exited;
    }
    if (end_cause_) {
        return reason_for(*end_cause_);
    }
    // Init kills with SIGKILL; a command killed for a denial that then died of another signal
    // (its own) was not ended by the filter.
    if (signal == SIGKILL && (denials.command_killed || denials.failure_errno != 0)) {
        return ExitReason::seccomp;
    }
    if (signal == SIGKILL && tree.oom_killed) {
        return ExitReason::memory_limit;
    }
    if (signal == SIGKILL && rlimit_cpu_ns_ && command_cpu_ns >= *rlimit_cpu_ns_) {
        return ExitReason::cpu_time_limit;
    }
    if (requested_signals_.count(signal) != 0) {
        return ExitReason::killed;
    }
    return ExitReason::signaled;
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
    const std::uint64_t used = cgroup_->cpu_time_us();
    if (used >= *cpu_time_limit_us_) {
        terminate(EndCause::cpu_time_limit);
        return std::nullopt;
    }
    // The tree cannot spend the rest sooner than this, however many threads it runs.
    const std::uint64_t soonest = (*cpu_time_limit_us_ - used) / cpu_parallelism_;
    return std::chrono::microseconds(std::clamp<std::uint64_t>(soonest, 1000, 100000));
}

}  // namespace resin::sandbox
