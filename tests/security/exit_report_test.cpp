// The exit report tells what resin observed, about every denial, and nothing the command chose: a
// thousand denied syscalls from processes and threads are each killed and named, however the
// sandbox ends; a signal the command sends itself reads "signaled", whatever its number.
#include <gtest/gtest.h>
#include <signal.h>

#include <regex>

#include "security/attack_run.hpp"
#include "support/supervised_run.hpp"

namespace resin::test {
namespace {

using sandbox::ExitReason;
using sandbox::SyscallAction;

sandbox::Config default_profile_with(SyscallAction action) {
    sandbox::Config config = default_profile();
    config.syscalls.action = action;
    return config;
}

// The denials many_denials makes besides the command's own: `single` kcmp calls, each killing its
// process, and keyctl calls from the 8 threads of 20 processes, at least one (at most all 8) of
// each killed.
void expect_children_named(const std::string& detail, const std::string& prefix, int single) {
    const std::regex format(prefix + "processes of the command were killed for kcmp \\(" +
                            std::to_string(single) + " times\\), keyctl \\(([0-9]+) times\\)");
    std::smatch match;
    ASSERT_TRUE(std::regex_match(detail, match, format)) << detail;
    const int keyctl = std::stoi(match[1]);
    EXPECT_GE(keyctl, 20) << detail;
    EXPECT_LE(keyctl, 20 * 8) << detail;
}

TEST(ExitReportAttack, EveryDenialKillsItsProcessAndIsNamed) {
    expect_works_on_host(attack_on_host("many_denials", {"exit"}));
    if (should_stop()) {
        return;
    }
    const AttackRun attack = attack_in_sandbox(default_profile(), "many_denials", {"exit"});
    EXPECT_EQ(attack.verdict, "DENIED") << describe(attack);
    EXPECT_EQ(attack.detail, "all 1020 processes were killed by signal 9") << describe(attack);
    // The command itself was not killed: it exited, and the detail names the kills.
    EXPECT_EQ(attack.run.report.reason, ExitReason::exited) << describe(attack);
    EXPECT_EQ(attack.run.exit_code, 10) << describe(attack);
    expect_children_named(attack.run.report.detail, "", 1000);
}

// The command's own denial comes first in the detail, though a thousand came before it.
TEST(ExitReportAttack, TheCommandsOwnDenialIsNamedFirst) {
    expect_works_on_host(attack_on_host("many_denials", {"self"}));
    if (should_stop()) {
        return;
    }
    const AttackRun attack = attack_in_sandbox(default_profile(), "many_denials", {"self"});
    EXPECT_EQ(attack.verdict, "DENIED") << describe(attack);
    EXPECT_EQ(attack.run.report.reason, ExitReason::seccomp) << describe(attack);
    EXPECT_EQ(attack.run.report.signal, SIGKILL) << describe(attack);
    expect_children_named(attack.run.report.detail, "request_key; ", 1000);
}

// A limit that ends the sandbox after the denials does not hide them: resin kills the init, which
// reports nothing then, yet every denial is named. Supervised as resin's host does, which enforces
// the wall-time limit.
TEST(ExitReportAttack, DenialsAreNamedWhenALimitEndsTheSandbox) {
    sandbox::Config config = default_profile();
    config.limits.wall_time_ms = 3000;
    const RunResult run =
        run_supervised(config, {std::string(kAttacksInSandbox) + "/many_denials", "hang", "100"});
    EXPECT_NE(
        run.out.find("ATTACK many_denials DENIED all 120 processes were killed by signal 9\n"),
        std::string::npos)
        << run.out;
    EXPECT_EQ(run.report.reason, ExitReason::wall_time_limit) << run.report.detail;
    expect_children_named(run.report.detail, "", 100);
}

// The command signals the init before each batch of denials: the init still answers every one
// at once (a read of its signals that waited for the next one left the callers blocked until a
// limit ended the sandbox).
TEST(ExitReportAttack, SignalsToTheInitDoNotHoldUpDenials) {
    expect_works_on_host(attack_on_host("many_denials", {"exit", "100", "signal-parent"}));
    if (should_stop()) {
        return;
    }
    sandbox::Config config = default_profile();
    config.limits.wall_time_ms = 30000;
    const RunResult run = run_supervised(
        config, {std::string(kAttacksInSandbox) + "/many_denials", "exit", "100", "signal-parent"});
    EXPECT_NE(
        run.out.find("ATTACK many_denials DENIED all 120 processes were killed by signal 9\n"),
        std::string::npos)
        << run.out;
    EXPECT_EQ(run.report.reason, ExitReason::exited) << run.report.detail;
    expect_children_named(run.report.detail, "", 100);
}

// Under "errno" nothing is killed: the thousand calls fail, and the report says nothing of them.
TEST(ExitReportAttack, NothingIsKilledUnderErrno) {
    const AttackRun attack = attack_in_sandbox(default_profile_with(SyscallAction::errno_eperm),
                                               "many_denials", {"exit"});
    EXPECT_EQ(attack.verdict, "BROKEN") << describe(attack);
    EXPECT_EQ(attack.detail, "0 killed, 0 succeeded, 1020 otherwise of 1020") << describe(attack);
    EXPECT_EQ(attack.run.report.reason, ExitReason::exited) << describe(attack);
    EXPECT_EQ(attack.run.report.detail, "") << describe(attack);
}

// The command ends itself with `signal`: on the host that kills it (the control), in the sandbox
// under `config` the report must say "signaled" with that signal and blame nothing.
void expect_self_signal_reads_signaled(const sandbox::Config& config, const char* name,
                                       int signal) {
    const AttackRun control = attack_on_host("raise_signal", {name});
    ASSERT_EQ(control.run.signal, signal) << describe(control);
    const AttackRun attack = attack_in_sandbox(config, "raise_signal", {name});
    EXPECT_EQ(attack.verdict, "SUCCEEDED") << describe(attack);
    EXPECT_EQ(attack.run.report.signal, signal) << describe(attack);
    EXPECT_EQ(attack.run.report.reason, ExitReason::signaled) << describe(attack);
    EXPECT_EQ(attack.run.report.detail, "") << describe(attack);
}

TEST(ExitReportAttack, SelfRaisedSigsysIsNotASeccompKill) {
    for (SyscallAction action :
         {SyscallAction::errno_eperm, SyscallAction::log, SyscallAction::kill}) {
        SCOPED_TRACE(static_cast<int>(action));
        expect_self_signal_reads_signaled(default_profile_with(action), "SIGSYS", SIGSYS);
    }
}

// As root the CPU limit is the cgroup's, as uid 65534 RLIMIT_CPU: neither may read a signal the
// command sent itself as the limit.
TEST(ExitReportAttack, SelfRaisedSigxcpuIsNotTheCpuLimit) {
    sandbox::Config config = default_profile();
    config.limits.cpu_time_ms = 1000;
    expect_self_signal_reads_signaled(config, "SIGXCPU", SIGXCPU);
}

TEST(ExitReportAttack, SelfSentSigkillIsNotALimitOrAKill) {
    sandbox::Config config = default_profile();
    config.limits.cpu_time_ms = 1000;
    config.limits.memory_bytes = 256u << 20;
    expect_self_signal_reads_signaled(config, "SIGKILL", SIGKILL);
}

// What the filter really kills under "errno" and "log", another ABI, is still observed and named.
TEST(ExitReportAttack, OtherAbisAreNamedUnderErrnoAndLog) {
    for (SyscallAction action : {SyscallAction::errno_eperm, SyscallAction::log}) {
        SCOPED_TRACE(static_cast<int>(action));
        expect_killed_for(attack_in_sandbox(default_profile_with(action), "x32_syscall"),
                          "getpid (x32 ABI)");
    }
    skip_without_i386_entry();
    if (should_stop()) {
        return;
    }
    for (SyscallAction action : {SyscallAction::errno_eperm, SyscallAction::log}) {
        SCOPED_TRACE(static_cast<int>(action));
        expect_killed_for(attack_in_sandbox(default_profile_with(action), "i386_syscall"),
                          "getpid (i386 ABI)");
    }
}

}  // namespace
}  // namespace resin::test
