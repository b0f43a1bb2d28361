// A sandbox's cgroups are removed however it ends, and those of a launcher that was killed before
// it could remove them are swept by the next launch (docs/limits.md, "Tree kill and cleanup").
// Sandbox cgroups are found through probe_host()'s layout, so this holds on v1, hybrid and v2.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>

#include "sandbox/cgroup.hpp"
#include "sandbox/cgroup_files.hpp"
#include "sandbox/host_probe.hpp"
#include "sandbox/plan.hpp"
#include "support/host_processes.hpp"
#include "support/programs.hpp"
#include "support/sandbox_cgroups.hpp"
#include "support/supervised_run.hpp"
#include "support/temp_dir.hpp"

namespace resin::test {
namespace {

using sandbox::EndCause;
using sandbox::ExitReason;

constexpr std::chrono::seconds kTimeout{10};

// Every limit a cgroup takes, so each hierarchy gets a directory, and loose enough for /bin/true.
sandbox::Config with_every_limit() {
    sandbox::Config config = runnable_config();
    config.limits.memory_bytes = 64 * kMiB;
    config.limits.processes = 16;
    config.limits.cpu_time_ms = 10000;
    if (cgroup_support().cpu) {
        config.limits.cpu_cores = 1.5;
    }
    return config;
}

// Launches `argv`, and makes sure its cgroups exist while it runs (where it gets any).
Launched launch_checked(const sandbox::Config& config, const Argv& argv) {
    auto launched = launch(config, argv);
    EXPECT_TRUE(launched) << launched.error().message;
    if (!launched) {
        return {};
    }
    EXPECT_EQ(sandbox_cgroups_of(::getpid()).empty(), !cgroup_support().any())
        << "a running sandbox has its cgroups exactly where cgroups are usable";
    return std::move(launched).value();
}

TEST(CgroupCleanup, HundredSandboxesExitedTimedOutOrKilledLeaveNoCgroupBehind) {
    const sandbox::Config config = with_every_limit();
    const Argv sleep = {"/bin/sleep", "30"};
    int ended_by_resin = 0;
    for (int i = 0; i < 100; ++i) {
        SCOPED_TRACE("sandbox " + std::to_string(i));
        switch (i % 6) {
            case 0: {  // timed out
                sandbox::Config timed = config;
                timed.limits.wall_time_ms = 20;
                Launched launched = launch_checked(timed, sleep);
                ASSERT_TRUE(launched.sandbox);
                EXPECT_EQ(supervise(launched, timed.limits).report.reason,
                          ExitReason::wall_time_limit);
                ++ended_by_resin;
                break;
            }
            case 3: {  // killed
                Launched launched = launch_checked(config, sleep);
                ASSERT_TRUE(launched.sandbox);
                launched.sandbox->terminate(EndCause::killed);
                EXPECT_EQ(finish(launched).report.reason, ExitReason::killed);
                ++ended_by_resin;
                break;
            }
            default: {  // exited
                Launched launched = launch_checked(config, {"/bin/true"});
                ASSERT_TRUE(launched.sandbox);
                EXPECT_EQ(finish(launched).exit_code, 0);
                break;
            }
        }
        ASSERT_EQ(sandbox_cgroups_of(::getpid()), std::vector<std::string>{});
    }
    EXPECT_EQ(ended_by_resin, 34);
}

TEST(CgroupCleanup, CgroupsAreRemovedWhenALimitEndsTheSandbox) {
    sandbox::Config config = with_every_limit();
    config.limits.cpu_time_ms = 200;
    const RunResult cpu = run_supervised(config, hog_processes(2));
    EXPECT_EQ(cpu.report.reason, ExitReason::cpu_time_limit);
    EXPECT_EQ(sandbox_cgroups_of(::getpid()), std::vector<std::string>{});

    const RunResult memory = run_supervised(with_every_limit(), touch_memory(256));
    EXPECT_NE(memory.out, "touched\n");
    EXPECT_EQ(sandbox_cgroups_of(::getpid()), std::vector<std::string>{});

    Launched running = launch_checked(with_every_limit(), {"/bin/sleep", "30"});
    running.sandbox.reset();  // never reaped: the destructor kills the tree
    EXPECT_EQ(sandbox_cgroups_of(::getpid()), std::vector<std::string>{});
}

// The pid a pidfd refers to, from its fdinfo.
pid_t pid_of_pidfd(int pidfd) {
    std::ifstream info("/proc/self/fdinfo/" + std::to_string(pidfd));
    for (std::string line; std::getline(info, line);) {
        if (line.rfind("Pid:", 0) == 0) {
            return static_cast<pid_t>(std::stol(line.substr(4)));
        }
    }
    return -1;
}

// resin's event loop watches the init's pidfd, which makes it non-blocking, and waitid(2) on a
// non-blocking pidfd does not wait. A sandbox destroyed unreaped (resin after an early report, or
// when its port closes) must still have reaped its init before its cgroups and its uid go: else
// the init is still in its cgroups, mid-exit, while they are torn down.
TEST(CgroupCleanup, ADestroyedSandboxHasReapedItsInitThoughItsPidfdIsNonBlocking) {
    for (int round = 0; round < 3; ++round) {
        SCOPED_TRACE("round " + std::to_string(round));
        Launched running = launch_checked(with_every_limit(), {"/bin/sleep", "30"});
        ASSERT_TRUE(running.sandbox);
        const int pidfd = running.sandbox->exit_fd();
        const pid_t init = pid_of_pidfd(pidfd);
        ASSERT_GT(init, 0);
        ASSERT_EQ(::fcntl(pidfd, F_SETFL, ::fcntl(pidfd, F_GETFL) | O_NONBLOCK), 0);

        running.sandbox.reset();

        siginfo_t info{};
        EXPECT_EQ(::waitid(P_PID, static_cast<id_t>(init), &info, WEXITED | WNOHANG), -1)
            << "the init is still a child of the test, unreaped";
        EXPECT_EQ(errno, ECHILD);
        EXPECT_EQ(sandbox_cgroups_of(::getpid()), std::vector<std::string>{});
    }
}

// Forks a process that runs `body` as pid 1 of a new pid namespace, and dies with the returned
// process (which ends when `body` does, closing its copies of the test's descriptors).
std::unique_ptr<HostProcess> in_new_pid_namespace(const std::function<void()>& body) {
    return std::make_unique<HostProcess>([body] {
        if (::unshare(CLONE_NEWPID) != 0) {
            ::_exit(1);
        }
        const pid_t init = ::fork();
        if (init == 0) {
            ::prctl(PR_SET_PDEATHSIG, SIGKILL);
            body();
            ::_exit(0);
        }
        ::waitpid(init, nullptr, 0);
        ::_exit(0);
    });
}

// cgroup.procs lists a task that the reader's pid namespace cannot see (a sibling's) as 0, and
// kill(0, SIGKILL) would kill the reader's own process group: resin, and in CLI mode its caller's
// shell pipeline. read_cgroup_procs leaves such tasks out. (v1's cgroup.procs leaves them out
// itself: the v2 hierarchy, the last parent on a hybrid or v2 host, is the one that lists them.)
TEST(CgroupFiles, ProcsNeverListsAPidBelowOneForATaskOfASiblingPidNamespace) {
    const auto version = sandbox::probe_host().cgroup_layout.version;
    const auto parents = sandbox_cgroup_parents();
    if (!privileged() || parents.empty() ||
        (version != sandbox::CgroupVersion::hybrid && version != sandbox::CgroupVersion::v2)) {
        GTEST_SKIP() << "needs root and a cgroup v2 hierarchy to create a directory in";
    }
    // Not "resin-...": a resin's sweep would take it for a sandbox cgroup whose owner is gone.
    const std::string cgroup = parents.back() + "/limits-test-procs-" + unique_token();
    ASSERT_EQ(::mkdir(cgroup.c_str(), 0755), 0) << cgroup << ": " << std::strerror(errno);
    int joined[2];
    ASSERT_EQ(::pipe2(joined, O_CLOEXEC), 0);
    const auto holder = in_new_pid_namespace([&] {
        const bool ok = sandbox::write_cgroup_file(cgroup + "/cgroup.procs", "0").has_value();
        (void)!::write(joined[1], ok ? "y" : "n", 1);
        wait_to_be_killed();
    });
    ::close(joined[1]);
    char ok = 0;
    ASSERT_EQ(::read(joined[0], &ok, 1), 1);
    ::close(joined[0]);
    ASSERT_EQ(ok, 'y') << "the holder joins " << cgroup;

    int seen[2];
    ASSERT_EQ(::pipe2(seen, O_CLOEXEC), 0);
    const auto reader = in_new_pid_namespace([&] {
        std::string line = sandbox::read_cgroup_file(cgroup + "/cgroup.procs").value_or("?") + "|";
        for (pid_t pid : sandbox::read_cgroup_procs(cgroup)) {
            line += std::to_string(pid) + " ";
        }
        (void)!::write(seen[1], line.data(), line.size());
    });
    ::close(seen[1]);
    std::string line;
    char buffer[256];
    for (ssize_t got; (got = ::read(seen[0], buffer, sizeof buffer)) > 0;) {
        line.append(buffer, static_cast<std::size_t>(got));
    }
    ::close(seen[0]);
    EXPECT_EQ(line, "0\n|") << "control: the raw file names the sibling's task 0; then none";

    holder->kill_and_reap(SIGKILL);
    EXPECT_TRUE(wait_until(Clock::now() + kTimeout, [&] { return ::rmdir(cgroup.c_str()) == 0; }))
        << cgroup << ": " << std::strerror(errno);
}

// A resin from before the names carried the time namespace may have been killed with its reaper:
// its names (resin-<pid ns>-<pid>-<start time>-<n>) are judged by the pid alone. Gone: stale. Held
// by a process (its own, or a reuse that a start time read through another time namespace cannot
// tell from it): kept.
TEST(CgroupCleanup, AnOlderResinsNamesAreStaleOnlyWhenTheirPidIsGone) {
    const pid_t dead = ::fork();
    if (dead == 0) {
        ::_exit(0);
    }
    ASSERT_GT(dead, 0);
    ASSERT_EQ(::waitpid(dead, nullptr, 0), dead);
    const std::string pid_ns = namespace_inode("/proc/self/ns/pid");
    const std::string time_ns = namespace_inode("/proc/self/ns/time");
    const std::string gone = std::to_string(dead);
    const std::string alive = std::to_string(::getpid());

    TempDir parent;
    const std::vector<std::string> stale_names = {
        "resin-" + pid_ns + "-" + gone + "-123-0",
        "resin-" + pid_ns + "-" + time_ns + "-" + gone + "-123-0",
    };
    const std::vector<std::string> kept_names = {
        "resin-" + pid_ns + "-" + alive + "-123-0",  // a live pid, whatever its start time
        "resin-1" + pid_ns + "-" + gone + "-123-0",  // another pid namespace's
        "resin-" + pid_ns + "-" + gone + "-123",     // three parts: not a sandbox cgroup
        "resin-" + pid_ns + "-x" + gone + "-123-0",  // not all digits
    };
    for (const auto& name : stale_names) {
        ASSERT_EQ(::mkdir((parent / name).c_str(), 0755), 0) << name;
    }
    for (const auto& name : kept_names) {
        ASSERT_EQ(::mkdir((parent / name).c_str(), 0755), 0) << name;
    }

    std::vector<std::string> stale;
    for (const auto& directory :
         sandbox::stale_sandbox_cgroups({{sandbox::CgroupVersion::v1, parent.path()}})) {
        stale.push_back(directory.path.substr(parent.path().size() + 1));
    }
    std::sort(stale.begin(), stale.end());
    std::vector<std::string> expected = stale_names;
    std::sort(expected.begin(), expected.end());
    EXPECT_EQ(stale, expected);
}

TEST(CgroupCleanup, CgroupsOfAKilledLauncherAreSweptByTheNextLaunch) {
    SubreaperScope adopt_orphans;  // the killed launcher's sandbox init is reaped here
    const Argv sleep = {"/bin/sleep", "1000." + unique_token()};
    HostProcess launcher([&] {
        auto launched = launch(with_every_limit(), sleep);
        if (!launched) {
            std::fprintf(stderr, "launch: %s\n", launched.error().message.c_str());
            ::_exit(1);
        }
        wait_to_be_killed();
    });
    const pid_t launcher_pid = launcher.pid();
    const auto tree = wait_for_processes(sleep, 1, Clock::now() + kTimeout);
    ASSERT_EQ(tree.size(), 1u);
    launcher.kill_and_reap(SIGKILL);
    EXPECT_TRUE(wait_until_gone(tree, Clock::now() + kTimeout)) << "the sandbox dies with it";

    const auto left = sandbox_cgroups_of(launcher_pid);
    if (!cgroup_support().any()) {
        EXPECT_EQ(left, std::vector<std::string>{}) << "no cgroups without usable cgroups";
        return;
    }
    ASSERT_FALSE(left.empty()) << "control: a killed launcher leaves its cgroups behind";
    make_cgroup_sweep_due();
    const RunResult next = run_supervised(runnable_config(), {"/bin/true"});
    EXPECT_EQ(next.exit_code, 0) << next.err;
    EXPECT_EQ(sandbox_cgroups_of(launcher_pid), std::vector<std::string>{});
}

// The reaper (src/sandbox/cgroup_reaper.cpp) acts on its owner's exit, not on the end of the socket
// its owner tells it on: an owner that closes that socket by mistake (here every descriptor from 3)
// keeps its sandbox and its cgroups while it lives, and once it is killed they are gone within the
// reaper's budget all the same. Under the old rule (end-of-file is the owner's end) the close alone
// killed the sandbox and removed its cgroups: this test fails so against that reaper.
TEST(CgroupCleanup, TheReaperWaitsForItsOwnersExitNotForTheEndOfItsSocket) {
    if (!cgroup_support().any()) {
        GTEST_SKIP() << "no sandbox cgroups here, and no reaper";
    }
    SubreaperScope adopt_orphans;  // the killed owner's sandbox init and reaper are reaped here
    const Argv sleep = {"/bin/sleep", "1000." + unique_token()};
    int go[2];
    ASSERT_EQ(::pipe2(go, O_CLOEXEC), 0) << std::strerror(errno);
    HostProcess owner([&] {
        ::close(go[1]);
        const sandbox::Config config = runnable_config();
        auto plan = sandbox::make_plan(config, sandbox::probe_host());
        if (plan) {
            sandbox::Sandbox::remove_cgroups_when_killed(plan.value());  // as resin does
        }
        auto launched = launch(config, sleep);
        char byte;
        if (!plan || !launched || ::read(go[0], &byte, 1) != 1) {
            std::fprintf(stderr, "the owner could not launch its sandbox\n");
            ::_exit(1);
        }
        ::close_range(3, ~0U, 0);  // the socket's write end among them
        wait_to_be_killed();
    });
    ::close(go[0]);
    sandbox::UniqueFd tell_owner(go[1]);
    const auto tree = wait_for_processes(sleep, 1, Clock::now() + kTimeout);
    ASSERT_EQ(tree.size(), 1u);
    const auto reapers = children_named(owner.pid(), "resin-reaper");
    ASSERT_EQ(reapers.size(), 1u);
    const pid_t reaper = reapers.front();
    const auto made = sandbox_cgroups_of(owner.pid());
    ASSERT_FALSE(made.empty());

    ASSERT_EQ(::write(tell_owner.get(), "!", 1), 1);
    // The reaper has seen the socket's end once it no longer holds it (or has ended).
    const std::string socket = "/proc/" + std::to_string(reaper) + "/fd/0";
    ASSERT_TRUE(wait_until(Clock::now() + kTimeout, [&] {
        struct stat info {};
        return !is_alive(reaper) || ::lstat(socket.c_str(), &info) != 0;
    }));
    EXPECT_TRUE(is_alive(reaper));
    EXPECT_TRUE(is_alive(tree.front())) << "the sandbox was killed while its owner lives";
    EXPECT_EQ(sandbox_cgroups_of(owner.pid()), made);

    const pid_t owner_pid = owner.pid();
    owner.kill_and_reap(SIGKILL);
    const auto killed_at = Clock::now();
    std::optional<Clock::time_point> gone_at;
    wait_until(killed_at + kTimeout, [&] {
        if (!sandbox_cgroups_of(owner_pid).empty() || process_exists(tree.front())) {
            return false;
        }
        gone_at = Clock::now();
        return true;
    });
    ASSERT_TRUE(gone_at) << "left: " << testing::PrintToString(sandbox_cgroups_of(owner_pid));
    EXPECT_LE(*gone_at, killed_at + kKilledResinsGoneWithin);
}

}  // namespace
}  // namespace resin::test
