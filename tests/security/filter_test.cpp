// The syscall filter itself: installed before exec, holding for threads and children, impossible
// to remove or loosen from inside, the three actions, and how `deny` and `allow` adjust it.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <seccomp.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>

#include "sandbox/seccomp_policy.hpp"
#include "security/attack_run.hpp"

namespace resin::test {
namespace {

using sandbox::ExitReason;
using sandbox::SyscallAction;

sandbox::Config default_profile_with(SyscallAction action) {
    sandbox::Config config = default_profile();
    config.syscalls.action = action;
    return config;
}

TEST(SyscallFilter, IsInPlaceWhenTheCommandStarts) {
    const RunResult run = run_sandboxed(default_profile(), {probe_in_sandbox("show_privileges")});
    ASSERT_EQ(run.exit_code, 0) << run.err;
    EXPECT_NE(run.out.find("Seccomp:\t2\n"), std::string::npos) << run.out;
    EXPECT_NE(run.out.find("Seccomp_filters:\t1\n"), std::string::npos) << run.out;
    EXPECT_NE(run.out.find("NoNewPrivs:\t1\n"), std::string::npos) << run.out;
}

// The whole process dies, not only the thread, and the report names the syscall.
TEST(SyscallFilter, HoldsForThreads) {
    expect_default_profile_kills("denied_in_thread", "keyctl");
}

TEST(SyscallFilter, HoldsForChildren) {
    expect_works_on_host(attack_on_host("denied_in_child"));
    if (should_stop()) {
        return;
    }
    const AttackRun attack = attack_in_sandbox(default_profile(), "denied_in_child");
    EXPECT_EQ(attack.verdict, "DENIED") << describe(attack);
    EXPECT_EQ(attack.detail, "the child was killed by signal 9") << describe(attack);
    EXPECT_EQ(attack.run.report.detail, "a process of the command was killed for unshare")
        << describe(attack);
}

// seccomp(2) only ever adds a filter, and the strictest verdict of all of them wins: an allow-all
// filter added from inside changes nothing.
TEST(SyscallFilter, CannotBeLoosenedFromInside) {
    expect_default_profile_kills("loosen_filter", "unshare");
}

// The same under "errno", where the command lives to tell: its own allow-all filter went in, its
// own listener did not (the chain has one under every action, for other ABIs), and no_new_privs
// cannot be cleared; the denied syscall still fails.
TEST(SyscallFilter, CannotBeLoosenedFromInsideUnderErrno) {
    const AttackRun attack =
        attack_in_sandbox(default_profile_with(SyscallAction::errno_eperm), "loosen_filter");
    EXPECT_EQ(attack.verdict, "DENIED") << describe(attack);
    EXPECT_EQ(attack.detail,
              "EPERM (allow-all filter: ok, listener: EBUSY, clearing no_new_privs: EINVAL)")
        << describe(attack);
}

// Under "kill" the sandbox's init already holds the one listener a process may have: a second is
// refused (EBUSY), so the command cannot intercept its own denials.
TEST(SyscallFilter, CommandCannotTakeTheListenerUnderKill) {
    const AttackRun attack = attack_in_sandbox(default_profile(), "loosen_filter");
    EXPECT_NE(attack.run.out.find("STEPS allow-all filter: ok, listener: EBUSY, clearing "
                                  "no_new_privs: EINVAL\n"),
              std::string::npos)
        << describe(attack) << attack.run.out;
    expect_killed_for(attack, "unshare");
}

TEST(SyscallFilter, ErrnoActionFailsDeniedSyscallsWithEperm) {
    const auto config = default_profile_with(SyscallAction::errno_eperm);
    for (const char* name : {"unshare_user_namespace", "bpf", "keyctl", "io_uring_setup"}) {
        expect_denied_with(attack_in_sandbox(config, name), "EPERM");
    }
    expect_denied_with(attack_in_sandbox(config, "mount", {kScratchDir}), "EPERM");
    expect_denied_with(attack_in_sandbox(config, "tiocsti", {"--high-bits"}), "EPERM");
}

// Another ABI is never a way around the filter: under "errno" it is still killed, by the sandbox's
// init, which names it.
TEST(SyscallFilter, OtherAbisAreKilledEvenUnderErrno) {
    const auto config = default_profile_with(SyscallAction::errno_eperm);
    expect_killed_for(attack_in_sandbox(config, "x32_syscall"), "getpid (x32 ABI)");
    skip_without_i386_entry();
    if (should_stop()) {
        return;
    }
    expect_killed_for(attack_in_sandbox(config, "i386_syscall"), "getpid (i386 ABI)");
}

// The kernel log (root only: dmesg_restrict) from the moment of construction on.
class KernelLog {
  public:
    KernelLog() : fd_(::open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC)) {
        if (fd_) {
            ::lseek(fd_.get(), 0, SEEK_END);
        }
    }
    bool readable() const { return static_cast<bool>(fd_); }

    // Waits, bounded, for one record that contains every needle: kauditd prints audit records
    // asynchronously. Everything read is appended to `seen`.
    bool wait_for(const std::vector<std::string>& needles, Clock::time_point deadline,
                  std::string& seen) {
        for (;;) {
            char record[8192];
            const ssize_t got = ::read(fd_.get(), record, sizeof record);
            if (got > 0) {
                const std::string text(record, static_cast<std::size_t>(got));
                seen += text;
                if (std::all_of(needles.begin(), needles.end(), [&text](const std::string& n) {
                        return text.find(n) != std::string::npos;
                    })) {
                    return true;
                }
                continue;
            }
            if (got < 0 && errno == EPIPE) {
                continue;  // records were overwritten before we read them
            }
            const auto left =
                std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
            pollfd pfd{fd_.get(), POLLIN, 0};
            if (left.count() <= 0 || ::poll(&pfd, 1, static_cast<int>(left.count())) == 0) {
                return false;
            }
        }
    }

  private:
    sandbox::UniqueFd fd_;
};

// The kernel drops printk output past its rate limit and says so: then a missing record proves
// nothing (parallel tests that kill or log syscalls can fill the limit).
bool kernel_dropped_messages(const std::string& log) {
    return log.find("printk limit exceeded") != std::string::npos ||
           log.find("callbacks suppressed") != std::string::npos ||
           log.find("audit_lost") != std::string::npos;
}

// "log" enforces nothing: the syscall runs, and the kernel's audit log records it (seccomp's
// SECCOMP_RET_LOG, type 1326, with the syscall number: 135 is personality on x86-64).
TEST(SyscallFilter, LogActionLetsTheSyscallRunAndLogsIt) {
    KernelLog log;
    const AttackRun attack =
        attack_in_sandbox(default_profile_with(SyscallAction::log), "personality");
    EXPECT_EQ(attack.verdict, "SUCCEEDED") << describe(attack);
    if (!log.readable()) {
        GTEST_SKIP() << "the kernel log is not readable by this user";
    }
    std::string seen;
    const bool logged = log.wait_for({"type=1326", "comm=\"personality\"", "syscall=135"},
                                     Clock::now() + std::chrono::seconds(5), seen);
    if (!logged && kernel_dropped_messages(seen)) {
        GTEST_SKIP() << "the kernel dropped log messages meanwhile:\n" << seen;
    }
    EXPECT_TRUE(logged) << seen;
}

TEST(SyscallFilter, DenyRemovesASyscallFromThePolicy) {
    sandbox::Config config = default_profile();
    const RunResult allowed = run_sandboxed(config, {"/usr/bin/uname"});
    ASSERT_EQ(allowed.exit_code, 0) << "control: uname runs under the default policy";
    config.syscalls.deny = {"uname"};
    const RunResult denied = run_sandboxed(config, {"/usr/bin/uname"});
    EXPECT_EQ(denied.report.reason, ExitReason::seccomp);
    EXPECT_EQ(denied.report.detail, "uname");
}

TEST(SyscallFilter, AllowAddsASyscallAndLiftsItsConditions) {
    sandbox::Config config = default_profile();
    config.syscalls.allow = {"personality", "unshare"};
    const AttackRun personality = attack_in_sandbox(config, "personality");
    EXPECT_EQ(personality.verdict, "SUCCEEDED") << describe(personality);
    const AttackRun unshare = attack_in_sandbox(config, "unshare_user_namespace");
    EXPECT_EQ(unshare.verdict, "SUCCEEDED") << describe(unshare);

    // ioctl allowed outright: TIOCSTI reaches the kernel, which finds no terminal in the sandbox.
    config.syscalls.allow = {"ioctl"};
    expect_denied_with(attack_in_sandbox(config, "tiocsti"), "EBADF");
}

// policy "none" with a deny list covers every ABI of the machine, not only the native one.
TEST(SyscallFilter, DenyListWithoutAPolicyHoldsInEveryAbi) {
    sandbox::Config config = default_profile();
    config.syscalls.policy = sandbox::SyscallPolicy::none;
    config.syscalls.deny = {"getpid"};
    expect_killed_for(attack_in_sandbox(config, "x32_syscall"), "getpid (x32 ABI)");
    skip_without_i386_entry();
    if (should_stop()) {
        return;
    }
    expect_killed_for(attack_in_sandbox(config, "i386_syscall"), "getpid (i386 ABI)");
}

// The set-id filter of an rw bind fails closed: libseccomp answers __NR_SCMP_ERROR for a syscall
// it does not know (the control), which the rule builder skips silently for the allowlist; for
// the set-id filter a missing rule refuses the plan instead, naming the syscall.
TEST(SetIdFilter, IsNotBuiltWithoutEveryRule) {
    ASSERT_EQ(seccomp_syscall_resolve_name("fchmodat3"), __NR_SCMP_ERROR) << "control";
    const char* const names[] = {"chmod", "fchmodat3"};
    const auto missing = sandbox::require_resolvable(names);
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().kind, sandbox::ErrorKind::unsupported_config);
    EXPECT_NE(missing.error().message.find("fchmodat3"), std::string::npos)
        << missing.error().message;
    EXPECT_EQ(missing.error().pointer, "/filesystem/mounts");

    EXPECT_TRUE(sandbox::require_resolvable(sandbox::kSetIdFilterSyscalls));
    EXPECT_TRUE(sandbox::set_id_mode_filter(default_profile().syscalls));
}

}  // namespace
}  // namespace resin::test
