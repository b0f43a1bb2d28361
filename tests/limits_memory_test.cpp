// limits.memory_bytes: what a program may allocate, for the whole tree, tmpfs included, and what
// the report says about it. With a memory cgroup the kernel's OOM killer ends the sandbox (reason
// memory_limit); without one RLIMIT_AS makes allocations fail in each process (docs/limits.md).
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>

#include "support/programs.hpp"
#include "support/sandbox_cgroups.hpp"
#include "support/supervised_run.hpp"

namespace resin::test {
namespace {

using sandbox::ExitReason;

constexpr std::uint64_t kLimitMiB = 64;

// Far more than the limit: 512 MiB, or a quarter of the RAM of a smaller machine (the cgroup v2 VM
// has 512 MiB), since the control must be able to touch it.
std::uint64_t far_past_the_limit_mib() {
    const auto ram_mib = static_cast<std::uint64_t>(::sysconf(_SC_PHYS_PAGES)) *
                         static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE)) / kMiB;
    return std::min<std::uint64_t>(512, ram_mib / 4);
}

sandbox::Config with_memory_limit(std::uint64_t mib) {
    sandbox::Config config = runnable_config();
    config.limits.memory_bytes = mib * kMiB;
    return config;
}

bool memory_cgroup() {
    return cgroup_support().memory;
}

TEST(MemoryLimit, AllocationPastTheLimitIsStopped) {
    const Argv touch = touch_memory(far_past_the_limit_mib());
    const RunResult control = run_supervised(runnable_config(), touch);
    ASSERT_EQ(control.out, "touched\n") << "control: it fits without the limit; " << control.err;

    const RunResult limited = run_supervised(with_memory_limit(kLimitMiB), touch);
    EXPECT_EQ(limited.out, "");
    if (memory_cgroup()) {
        EXPECT_EQ(limited.report.reason, ExitReason::memory_limit) << limited.err;
        EXPECT_EQ(limited.report.signal, SIGKILL);
        EXPECT_LE(limited.report.usage.peak_memory_bytes, kLimitMiB * kMiB);
    } else {
        // RLIMIT_AS: the allocation fails inside the program, which decides what to do.
        EXPECT_EQ(limited.report.reason, ExitReason::exited);
        EXPECT_EQ(limited.exit_code, 1);
        EXPECT_NE(limited.err.find("MemoryError"), std::string::npos) << limited.err;
    }
}

TEST(MemoryLimit, NextSandboxRunsNormallyAfterOneHitTheLimit) {
    const RunResult over =
        run_supervised(with_memory_limit(kLimitMiB), touch_memory(far_past_the_limit_mib()));
    ASSERT_NE(over.out, "touched\n");
    const RunResult next = run_supervised(with_memory_limit(kLimitMiB), touch_memory(16));
    EXPECT_EQ(next.report.reason, ExitReason::exited);
    EXPECT_EQ(next.exit_code, 0) << next.err;
    EXPECT_EQ(next.out, "touched\n");
}

TEST(MemoryLimit, HoldsForTheWholeTreeWithACgroup) {
    // Four processes of 32 MiB: each fits in 64 MiB, together they do not.
    const Argv tree = touch_memory_in_processes(4, 32);
    const RunResult control = run_supervised(runnable_config(), tree);
    ASSERT_EQ(control.out, "held 128\n") << control.err;

    const RunResult limited = run_supervised(with_memory_limit(kLimitMiB), tree);
    if (memory_cgroup()) {
        EXPECT_EQ(limited.report.reason, ExitReason::memory_limit) << limited.err;
        EXPECT_EQ(limited.out, "");
    } else {
        // RLIMIT_AS is per process: each child's 32 MiB fits, so the tree holds 128 MiB.
        EXPECT_EQ(limited.report.reason, ExitReason::exited);
        EXPECT_EQ(limited.out, "held 128\n") << limited.err;
    }
}

// A tmpfs larger than the memory limit, filled past the limit. With a cgroup the tmpfs pages are
// charged to the sandbox, and the charge that crosses the limit runs the OOM killer: the sandbox
// ends with memory_limit (not ENOSPC, which only the tmpfs size gives). RLIMIT_AS does not see
// tmpfs pages at all: there, only the tmpfs size bounds them.
TEST(MemoryLimit, TmpfsPagesCountAgainstItWithACgroup) {
    const Argv fill_tmp = {"/bin/sh", "-c",
                           "dd if=/dev/zero of=/tmp/fill bs=1M count=128 2>/dev/null && "
                           "du -m /tmp/fill"};
    sandbox::Config roomy = runnable_config();
    roomy.filesystem.tmpfs = {{"/tmp", 256 * kMiB, {}}};
    const RunResult control = run_supervised(roomy, fill_tmp);
    ASSERT_EQ(control.out, "128\t/tmp/fill\n") << control.err;

    sandbox::Config limited_config = roomy;
    limited_config.limits.memory_bytes = kLimitMiB * kMiB;
    const RunResult limited = run_supervised(limited_config, fill_tmp);
    if (memory_cgroup()) {
        EXPECT_EQ(limited.report.reason, ExitReason::memory_limit) << limited.err;
        EXPECT_EQ(limited.out, "");
    } else {
        EXPECT_EQ(limited.report.reason, ExitReason::exited);
        EXPECT_EQ(limited.out, "128\t/tmp/fill\n") << limited.err;
    }
}

// The memory stress-ng holds stays under the limit: with a cgroup the whole tree's, and stress-ng
// is OOM-killed; with RLIMIT_AS each process's, and stress-ng's worker cannot map its 256 MiB (it
// reports a successful run anyway). Without a cgroup the peak is the largest process's, which may
// be the sandbox's init, a copy of the launcher (this test binary), so only the worker's 256 MiB
// is ruled out there.
TEST(MemoryLimit, HoldsStressNgVm) {
    const Argv vm = stress_ng({"--vm", "1", "--vm-bytes", "256M", "--vm-keep", "--timeout", "2s"});
    sandbox::Config config = stress_ng_config();
    const RunResult control = run_supervised(config, vm);
    ASSERT_EQ(control.exit_code, 0) << control.err;
    ASSERT_GE(control.report.usage.peak_memory_bytes, 256 * kMiB);

    config.limits.memory_bytes = kLimitMiB * kMiB;
    const RunResult limited = run_supervised(config, vm);
    if (memory_cgroup()) {
        EXPECT_EQ(limited.report.reason, ExitReason::memory_limit) << limited.err;
        EXPECT_LE(limited.report.usage.peak_memory_bytes, kLimitMiB * kMiB);
    } else {
        EXPECT_EQ(limited.report.reason, ExitReason::exited) << limited.err;
        EXPECT_LT(limited.report.usage.peak_memory_bytes, 256 * kMiB);
    }
}

TEST(MemoryUsage, PeakCoversWhatTheProgramTouched) {
    const RunResult run = run_supervised(runnable_config(), touch_memory(128));
    ASSERT_EQ(run.out, "touched\n") << run.err;
    // The interpreter, its libraries and page cache come on top: tens of MiB, not hundreds.
    EXPECT_GE(run.report.usage.peak_memory_bytes, 128 * kMiB);
    EXPECT_LE(run.report.usage.peak_memory_bytes, (128 + 64) * kMiB);

    const RunResult small = run_supervised(runnable_config(), touch_memory(8));
    ASSERT_EQ(small.out, "touched\n") << small.err;
    EXPECT_LT(small.report.usage.peak_memory_bytes, 128 * kMiB) << "control: it is measured";
}

}  // namespace
}  // namespace resin::test
