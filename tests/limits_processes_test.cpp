// limits.processes: a fork bomb stops at the limit and the host does not notice. With a pids
// cgroup the limit is pids.max; without one, RLIMIT_NPROC, which the kernel counts per user
// namespace, so it holds for the sandbox's tree as a whole either way (docs/limits.md).
#include <gtest/gtest.h>
#include <signal.h>

#include "support/host_processes.hpp"
#include "support/programs.hpp"
#include "support/sandbox_cgroups.hpp"
#include "support/supervised_run.hpp"

namespace resin::test {
namespace {

using sandbox::ExitReason;

constexpr unsigned kLimit = 16;
constexpr std::chrono::seconds kTimeout{10};

sandbox::Config with_process_limit(unsigned processes) {
    sandbox::Config config = stress_ng_config();
    config.limits.processes = processes;
    return config;
}

// The host can still start a process.
void expect_host_can_fork() {
    const RunResult host = run_on_host({"/bin/true"});
    EXPECT_EQ(host.exit_code, 0) << "the host could not start a process";
}

// Runs fork_until_refused(64) and reads its count while its children are all alive.
std::string fork_as_far_as_allowed(const sandbox::Config& config) {
    auto launched = launch(config, fork_until_refused(64, AfterCount::hold));
    EXPECT_TRUE(launched) << launched.error().message;
    if (!launched) {
        return "";
    }
    const std::string count = read_line(launched.value().out.get(), Clock::now() + kTimeout);
    expect_host_can_fork();  // while the sandbox holds every process it could make
    launched.value().sandbox->terminate(sandbox::EndCause::killed);
    const RunResult run = finish(launched.value());
    if (cgroup_support().pids) {
        EXPECT_EQ(run.report.usage.peak_processes,
                  std::stoul("0" + count.substr(0, count.find(' '))));
    }
    return count;
}

TEST(ProcessLimit, ForkStopsAtTheLimitWithEagain) {
    ASSERT_EQ(fork_as_far_as_allowed(runnable_config()), "64 none\n")
        << "control: without the limit it reaches its own cap";
    EXPECT_EQ(fork_as_far_as_allowed(with_process_limit(kLimit)),
              std::to_string(kLimit) + " EAGAIN\n");
}

TEST(ProcessLimit, ClassicForkBombIsContainedAndTheHostUnaffected) {
    sandbox::Config config = with_process_limit(kLimit);
    config.limits.wall_time_ms = 1000;
    auto launched =
        launch(config, {"/bin/bash", "-c", "bomb() { bomb | bomb & }; bomb; exec sleep 1000"});
    ASSERT_TRUE(launched) << launched.error().message;
    expect_host_can_fork();
    const RunResult run = supervise(launched.value(), config.limits);
    expect_host_can_fork();
    EXPECT_EQ(run.report.reason, ExitReason::wall_time_limit) << run.err;
    if (cgroup_support().pids) {
        EXPECT_EQ(run.report.usage.peak_processes, kLimit);
    } else {
        EXPECT_EQ(run.report.usage.peak_processes, 0u) << "unknown without a cgroup";
    }
}

// stress-ng's fork stressor forks up to 64 children at a time for three seconds; meanwhile, in the
// same tree, a sampler counts the sandbox's processes from its /proc until stress-ng exits.
Argv stress_ng_fork_counted() {
    return {"/bin/sh", "-c",
            shell_command(stress_ng({"--fork", "1", "--fork-max", "64", "--timeout", "3s"})) +
                " & exec " + shell_command(count_processes_until_child_exits()) + " $!"};
}

TEST(ProcessLimit, HoldsStressNgFork) {
    const RunResult control = run_supervised(stress_ng_config(), stress_ng_fork_counted());
    ASSERT_GT(std::stoul("0" + control.out), kLimit) << "control: " << control.err;

    const RunResult limited = run_supervised(with_process_limit(kLimit), stress_ng_fork_counted());
    EXPECT_EQ(limited.out, std::to_string(kLimit) + "\n") << limited.err;
    if (cgroup_support().pids) {
        EXPECT_EQ(limited.report.usage.peak_processes, kLimit);
    }
    expect_host_can_fork();
}

}  // namespace
}  // namespace resin::test
