// The command's process installs the syscall filters before its start when the plan says they
// allow every step it takes after them (Plan::seccomp_allows_start_steps, launcher.cpp). Held here
// for every kind of filter set a config without `syscalls.deny` can make: each is installed in a
// child, which then takes those steps (a signal drain, reading the command block, chdir, the
// rlimits, close_range, execve) and must reach the exec.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <string>
#include <thread>

#include "sandbox/command_block.hpp"
#include "sandbox/host_probe.hpp"
#include "sandbox/kernel_signals.hpp"
#include "sandbox/plan.hpp"
#include "sandbox/rlimits.hpp"
#include "sandbox/sandbox_init.hpp"
#include "sandbox/seccomp_install.hpp"
#include "support/sandbox_run.hpp"
#include "support/temp_dir.hpp"

namespace resin::test {
namespace {

using sandbox::SyscallAction;
using sandbox::SyscallPolicy;

// The exit status of a child that installs `plan`'s filters, then takes the start's steps and
// execs /bin/true; -1 if it blocked (a denial waiting for a listener nobody answers) or was killed.
int start_steps_under_filters(const sandbox::Plan& plan) {
    const int memfd = ::memfd_create("command", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (memfd < 0 || !sandbox::write_command_block(memfd, {"/bin/true"}, {"PATH=/bin"}, "/tmp")) {
        return -2;
    }
    int go[2];
    if (::pipe2(go, O_CLOEXEC) != 0 || ::write(go[1], "s", 1) != 1) {
        return -2;
    }
    const pid_t child = ::fork();
    if (child == 0) {
        if (!sandbox::kernel_signals::block(sandbox::kernel_signals::kEverySignal)) {
            ::_exit(9);
        }
        ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
        int listener = -1;
        if (!sandbox::install_seccomp_filters(plan.seccomp(), &listener).ok()) {
            ::_exit(10);
        }
        char byte = 0;
        if (::read(go[0], &byte, 1) != 1) {
            ::_exit(11);
        }
        if (!sandbox::discard_pending_then_unblock_signals()) {
            ::_exit(16);
        }
        sandbox::CommandView exec;
        if (!sandbox::map_command_block(memfd, exec)) {
            ::_exit(12);
        }
        ::close(memfd);
        if (::chdir(exec.cwd) != 0) {
            ::_exit(13);
        }
        if (!sandbox::apply_rlimits(plan.rlimits()).ok()) {
            ::_exit(14);
        }
        ::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
        ::execve(exec.argv[0], exec.argv, exec.envp);
        ::_exit(15);
    }
    ::close(memfd);
    ::close(go[0]);
    ::close(go[1]);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    int status = 0;
    while (::waitpid(child, &status, WNOHANG) == 0) {
        if (std::chrono::steady_clock::now() > deadline) {
            ::kill(child, SIGKILL);
            ::waitpid(child, &status, 0);
            return -1;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(1));  // polling a child, bounded
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

struct Case {
    const char* name;
    void (*change)(sandbox::Config&);
};

const Case kCases[] = {
    {"default_kill", [](sandbox::Config&) {}},
    {"default_errno", [](sandbox::Config& c) { c.syscalls.action = SyscallAction::errno_eperm; }},
    {"default_log", [](sandbox::Config& c) { c.syscalls.action = SyscallAction::log; }},
    {"default_with_allow",
     [](sandbox::Config& c) {
         c.syscalls.allow = {"ptrace", "clone3"};
     }},
    {"none", [](sandbox::Config& c) { c.syscalls.policy = SyscallPolicy::none; }},
    {"port_allowlist",
     [](sandbox::Config& c) {
         c.network.mode = sandbox::NetworkMode::loopback;
         c.network.tcp_connect = std::vector<std::uint16_t>{443};
     }},
    {"none_with_port_allowlist",
     [](sandbox::Config& c) {
         c.syscalls.policy = SyscallPolicy::none;
         c.network.mode = sandbox::NetworkMode::loopback;
         c.network.tcp_connect = std::vector<std::uint16_t>{443};
     }},
    {"writable_bind",
     [](sandbox::Config& c) {
         c.filesystem.mounts.push_back({"/srv/job", "/tmp", sandbox::Access::rw});
     }},
    {"none_with_writable_bind",
     [](sandbox::Config& c) {
         c.syscalls.policy = SyscallPolicy::none;
         c.filesystem.mounts.push_back({"/srv/job", "/tmp", sandbox::Access::rw});
     }},
};

TEST(SeccompStartSteps, FiltersInstalledBeforeTheStartAllowEveryStepLeft) {
    const sandbox::HostCapabilities host = sandbox::probe_host();
    if (!host.seccomp) {
        GTEST_SKIP() << "no seccomp here";
    }
    std::size_t held = 0;
    for (const Case& test : kCases) {
        SCOPED_TRACE(test.name);
        sandbox::Config config = runnable_config();
        test.change(config);
        auto plan = sandbox::make_plan(config, host);
        if (!plan) {
            // Only a port allowlist may be beyond this host; then there is nothing to hold.
            EXPECT_NE(std::string(test.name).find("port"), std::string::npos)
                << plan.error().message;
            continue;
        }
        ASSERT_TRUE(plan.value().seccomp_allows_start_steps());
        EXPECT_EQ(start_steps_under_filters(plan.value()), 0);
        ++held;
    }
    EXPECT_GE(held, std::size(kCases) - 2) << "only the port allowlist cases may be skipped";
}

// Control: a `deny` can name a step, and then the filters are installed last, as before.
TEST(SeccompStartSteps, ADenyNamingAStepWouldStopItAndKeepsTheFiltersLast) {
    const sandbox::HostCapabilities host = sandbox::probe_host();
    if (!host.seccomp) {
        GTEST_SKIP() << "no seccomp here";
    }
    sandbox::Config config = runnable_config();
    config.syscalls.deny = {"chdir"};
    config.syscalls.action = SyscallAction::errno_eperm;
    auto plan = sandbox::make_plan(config, host);
    ASSERT_TRUE(plan) << plan.error().message;
    EXPECT_FALSE(plan.value().seccomp_allows_start_steps());
    EXPECT_EQ(start_steps_under_filters(plan.value()), 13);  // its chdir refused
}

}  // namespace
}  // namespace resin::test
