// The sandbox's pid namespace and its init: what the command can see and signal, who reaps
// orphans, that no process outlives the sandbox however resin lets go of it, and how the end of a
// sandbox is reported.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <set>
#include <sstream>

#include "sandbox/host_probe.hpp"
#include "sandbox/namespace_owner.hpp"
#include "support/host_processes.hpp"
#include "support/sandbox_cgroups.hpp"
#include "support/sandbox_run.hpp"
#include "support/temp_dir.hpp"

namespace resin::test {
namespace {

using sandbox::ExitReason;

const std::string kSh = "/bin/sh";
constexpr std::chrono::seconds kTimeout{10};

std::set<long> numbers_in(const std::string& listing) {
    std::set<long> numbers;
    std::istringstream words(listing);
    for (std::string word; words >> word;) {
        if (word.find_first_not_of("0123456789") == std::string::npos) {
            numbers.insert(std::stol(word));
        }
    }
    return numbers;
}

// A `sleep` whose command line no other process has.
Argv unique_sleep() {
    return {"sleep", "1000." + unique_token()};
}

// Three `sleep`s: the command itself, and two grandchildren that double-forked into sessions of
// their own, the classic way to escape a parent's clean-up.
Argv escaping_tree(const Argv& sleep_argv) {
    const std::string sleep = sleep_argv[0] + " " + sleep_argv[1];
    return {kSh, "-c", "setsid -f " + sleep + "; (setsid " + sleep + " &); exec " + sleep};
}

// The pid and session id of a shell, from its /proc/<pid>/stat.
std::pair<long, long> pid_and_session(const RunResult& run) {
    std::istringstream stat(run.out.substr(run.out.rfind(')') + 1));
    std::string state;
    long parent = 0, group = 0, session = 0;
    stat >> state >> parent >> group >> session;
    return {std::stol(run.out), session};
}

TEST(Namespaces, ProcShowsOnlyTheSandboxesProcesses) {
    const Argv list_proc = {"/bin/ls", "/proc"};
    const RunResult host = run_on_host(list_proc);
    ASSERT_EQ(host.exit_code, 0) << host.err;
    EXPECT_EQ(numbers_in(host.out).count(::getpid()), 1u) << "the host's /proc lists this test";

    const RunResult inside = run_sandboxed(runnable_config(), list_proc);
    ASSERT_EQ(inside.exit_code, 0) << inside.err;
    EXPECT_EQ(numbers_in(inside.out), (std::set<long>{1, 2})) << "resin's init and ls itself";
}

TEST(Namespaces, HostPidCannotBeSignalled) {
    const auto terminate = [](pid_t pid) {
        return Argv{kSh, "-c", "kill -s TERM " + std::to_string(pid)};
    };
    HostProcess control_victim;
    const RunResult host = run_on_host(terminate(control_victim.pid()));
    ASSERT_EQ(host.exit_code, 0) << host.err;
    const int status = control_victim.kill_and_reap(0);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM) << "status " << status;

    // Unprivileged, the victim has the sandbox's own host uid: only the pid namespace protects it.
    HostProcess victim;
    const RunResult inside = run_sandboxed(runnable_config(), terminate(victim.pid()));
    EXPECT_NE(inside.exit_code, 0) << inside.out;
    EXPECT_TRUE(is_alive(victim.pid()));
}

// An orphan that exits must not stay a zombie. Python, because a shell reaps any child it has.
constexpr const char* kOrphanState = R"py(
import os, sys, time
r, w = os.pipe()
if os.fork() == 0:
    orphan = os.fork()
    if orphan == 0:
        os._exit(0)
    os.write(w, str(orphan).encode())
    os._exit(0)
os.wait()
orphan = int(os.read(r, 32))
deadline = time.monotonic() + float(sys.argv[1])
state = "gone"
while time.monotonic() < deadline:
    try:
        state = open(f"/proc/{orphan}/stat").read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):  # reaped between open and read
        state = "gone"
        break
    time.sleep(0.01)
print(state)
)py";

TEST(Namespaces, OrphansAreReapedByInit) {
    const Argv orphan_state = {"/usr/bin/python3", "-c", kOrphanState, "2"};
    SubreaperScope adopt_orphans;  // the control's zombie comes here once python exits
    // Control: a parent that adopts orphans but never waits for them leaves a zombie.
    const RunResult host = run_on_host(orphan_state, [] { ::prctl(PR_SET_CHILD_SUBREAPER, 1); });
    ASSERT_EQ(host.exit_code, 0) << host.err;
    EXPECT_EQ(host.out, "Z\n");

    const RunResult inside = run_sandboxed(runnable_config(), orphan_state);
    ASSERT_EQ(inside.exit_code, 0) << inside.err;
    EXPECT_EQ(inside.out, "gone\n");
}

// The init tells resin that the command's tree is gone only when it is: resin may then report
// before the namespaces are torn down (Sandbox::report_if_tree_gone). With a process left behind
// it may not; the init's exit, once it has killed the rest, tells.
TEST(Namespaces, TheInitSaysTheTreeIsGoneOnlyWhenNoProcessIsLeft) {
    if (!cgroup_support().memory || !cgroup_support().cpu_time) {
        GTEST_SKIP() << "the early report takes the usage from the cgroups, which this host lacks";
    }
    sandbox::Config config = runnable_config();
    config.limits.memory_bytes = 256u << 20;
    const std::pair<std::string, bool> cases[] = {{"exit 0", true},
                                                  {"/bin/sleep 1000 & exit 0", false},
                                                  {"(/bin/sleep 1000 &); exit 0", false}};
    for (const auto& [script, gone] : cases) {
        SCOPED_TRACE(script);
        auto launched = launch(config, {kSh, "-c", script});
        ASSERT_TRUE(launched) << launched.error().message;
        pollfd ended{launched.value().sandbox->command_end_fd(), POLLIN, 0};
        ASSERT_EQ(::poll(&ended, 1, 10000), 1);
        const auto report = launched.value().sandbox->report_if_tree_gone();
        EXPECT_EQ(report.has_value(), gone);
        if (report) {
            EXPECT_EQ(report->reason, ExitReason::exited);
            EXPECT_EQ(report->exit_code, 0);
            EXPECT_GT(report->usage.peak_memory_bytes, 0u);
        }
    }
}

std::size_t owner_lock_files() {
    std::size_t count = 0;
    for (const auto& entry :
         std::filesystem::directory_iterator(sandbox::NamespaceOwner::kDirectory)) {
        count += entry.path().filename().string().front() != '.' ? 1 : 0;
    }
    return count;
}

// The reserved uids' lock files number about the most sandboxes alive at once, not the sandboxes
// started over time: a claim takes a free one rather than making another.
TEST(Namespaces, ReservedUidLockFilesDoNotGrowWithTheSandboxesStarted) {
    const sandbox::HostCapabilities host = sandbox::probe_host();
    if (!host.privileged) {
        GTEST_SKIP() << "reserved uids are root's";
    }
    ASSERT_TRUE(sandbox::NamespaceOwner::claim(host));  // the directory exists from here
    const std::size_t before = owner_lock_files();
    for (int i = 0; i < 300; ++i) {
        auto first = sandbox::NamespaceOwner::claim(host);
        auto second = sandbox::NamespaceOwner::claim(host);
        ASSERT_TRUE(first && second);
        ASSERT_NE(first.value().uid(), second.value().uid());
    }
    // Other tests may hold a few meanwhile; the old random claim made ~150 here.
    EXPECT_LE(owner_lock_files(), before + 16);
}

// A lock file removed from the middle (an admin's or a cleanup's doing) is a gap the claims fill:
// a try that finds it missing makes it again and takes it, rather than skipping it for ever while
// new files are made past the end. In a directory of the test's own, which no other claim uses.
TEST(Namespaces, AMissingReservedUidLockFileInTheMiddleIsMadeAgainByTheClaims) {
    const sandbox::HostCapabilities host = sandbox::probe_host();
    if (!host.privileged) {
        GTEST_SKIP() << "reserved uids are root's";
    }
    const TempDir locks(0700);
    const auto uid_file = [&](uid_t offset) {
        return locks / std::to_string(sandbox::NamespaceOwner::kFirstUid + offset);
    };
    // Eight files, each held: a claim's eight tries then cover every one.
    std::vector<sandbox::NamespaceOwner> held;
    for (uid_t offset = 0; offset < 8; ++offset) {
        auto owner = sandbox::NamespaceOwner::claim(host, locks.path());
        ASSERT_TRUE(owner) << owner.error().message;
        ASSERT_EQ(owner.value().uid(), sandbox::NamespaceOwner::kFirstUid + offset)
            << "every file held: the next is made";
        held.push_back(std::move(owner).value());
    }
    // Not an offset the count's search looks at (0, 1, 3, 7, then 15 and 8 to 11): the gap lies
    // inside the count of eight.
    const uid_t gap = 2;
    std::erase_if(held, [&](const auto& owner) {
        return owner.uid() == sandbox::NamespaceOwner::kFirstUid + gap;
    });
    ASSERT_EQ(::unlink(uid_file(gap).c_str()), 0);

    auto filler = sandbox::NamespaceOwner::claim(host, locks.path());
    ASSERT_TRUE(filler) << filler.error().message;
    EXPECT_EQ(filler.value().uid(), sandbox::NamespaceOwner::kFirstUid + gap)
        << "the gap, not a ninth file";
    struct stat made {};
    EXPECT_EQ(::lstat(uid_file(gap).c_str(), &made), 0);
    EXPECT_NE(::lstat(uid_file(8).c_str(), &made), 0);
    // Filled, the files are whole again: with every one held the next claim makes the ninth.
    auto next = sandbox::NamespaceOwner::claim(host, locks.path());
    ASSERT_TRUE(next) << next.error().message;
    EXPECT_EQ(next.value().uid(), sandbox::NamespaceOwner::kFirstUid + 8);
}

TEST(Namespaces, KillingTheLaunchingProcessLeavesNoProcessBehind) {
    SubreaperScope adopt_orphans;  // so the control's survivors can be reaped here
    {
        const Argv sleep = unique_sleep();
        HostProcess launcher([&] { spawn_on_host(escaping_tree(sleep)); });
        const bool started = wait_for_processes(sleep, 3, Clock::now() + kTimeout).size() == 3;
        launcher.kill_and_reap(SIGKILL);
        const auto survivors = pids_running(sleep);
        for (pid_t pid : survivors) {
            SubreaperScope::kill_and_reap(pid);
        }
        ASSERT_TRUE(started);
        ASSERT_EQ(survivors.size(), 3u) << "control: without a sandbox the tree survives";
    }
    const Argv sleep = unique_sleep();
    HostProcess launcher([&] {
        auto launched = launch(runnable_config(), escaping_tree(sleep));
        if (!launched) {
            std::fprintf(stderr, "launch: %s\n", launched.error().message.c_str());
            ::_exit(1);
        }
        wait_to_be_killed();
    });
    const auto tree = wait_for_processes(sleep, 3, Clock::now() + kTimeout);
    ASSERT_EQ(tree.size(), 3u);
    launcher.kill_and_reap(SIGKILL);
    EXPECT_TRUE(wait_until_gone(tree, Clock::now() + kTimeout));
}

TEST(Namespaces, DestroyingTheSandboxKillsItsWholeTree) {
    const Argv sleep = unique_sleep();
    auto launched = launch(runnable_config(), escaping_tree(sleep));
    ASSERT_TRUE(launched) << launched.error().message;
    const auto tree = wait_for_processes(sleep, 3, Clock::now() + kTimeout);
    ASSERT_EQ(tree.size(), 3u) << "control: the tree is running";
    launched.value().sandbox.reset();
    EXPECT_TRUE(wait_until_gone(tree, Clock::now() + kTimeout));
}

TEST(Namespaces, NoInheritedDescriptorIsOpenInTheCommand) {
    const sandbox::UniqueFd inheritable(::open("/dev/null", O_RDONLY));  // not close-on-exec
    ASSERT_TRUE(inheritable);
    const Argv list_fds = {kSh, "-c", "ls /proc/$$/fd"};
    const RunResult host = run_on_host(list_fds);
    ASSERT_EQ(host.exit_code, 0) << host.err;
    EXPECT_EQ(numbers_in(host.out).count(inheritable.get()), 1u) << "a plain child inherits it";

    const RunResult inside = run_sandboxed(runnable_config(), list_fds);
    ASSERT_EQ(inside.exit_code, 0) << inside.err;
    EXPECT_EQ(numbers_in(inside.out), (std::set<long>{0, 1, 2}));
}

TEST(Namespaces, CommandIsASessionLeader) {
    const Argv stat = {kSh, "-c", "cat /proc/$$/stat"};
    const RunResult host = run_on_host(stat);
    ASSERT_EQ(host.exit_code, 0) << host.err;
    const auto [host_pid, host_session] = pid_and_session(host);
    EXPECT_NE(host_pid, host_session) << "a plain child stays in its parent's session";

    const RunResult inside = run_sandboxed(runnable_config(), stat);
    ASSERT_EQ(inside.exit_code, 0) << inside.err;
    const auto [pid, session] = pid_and_session(inside);
    EXPECT_EQ(pid, session);
}

TEST(ExitReport, ExitCodeIsReported) {
    const Argv exit_7 = {kSh, "-c", "exit 7"};
    ASSERT_EQ(run_on_host(exit_7).exit_code, 7);
    const RunResult inside = run_sandboxed(runnable_config(), exit_7);
    EXPECT_EQ(inside.report.reason, ExitReason::exited);
    EXPECT_EQ(inside.report.exit_code, 7);
    EXPECT_EQ(inside.report.signal, 0);
}

TEST(ExitReport, SignalNobodyAskedForIsReportedAsSignaled) {
    const Argv self_terminate = {kSh, "-c", "kill -s TERM $$"};
    ASSERT_EQ(run_on_host(self_terminate).signal, SIGTERM);
    const RunResult inside = run_sandboxed(runnable_config(), self_terminate);
    EXPECT_EQ(inside.report.reason, ExitReason::signaled);
    EXPECT_EQ(inside.report.signal, SIGTERM);
}

// Launches a `sleep` and waits until it runs, so a signal cannot arrive before the command exists.
Launched launch_sleep() {
    const Argv sleep = unique_sleep();
    auto launched = launch(runnable_config(), sleep);
    EXPECT_TRUE(launched) << launched.error().message;
    if (!launched) {
        return {};
    }
    EXPECT_EQ(wait_for_processes(sleep, 1, Clock::now() + kTimeout).size(), 1u);
    return std::move(launched).value();
}

TEST(ExitReport, SignalTheClientAskedForIsReportedAsKilled) {
    for (int sig : {SIGKILL, SIGTERM}) {  // SIGKILL ends init; SIGTERM is forwarded by it
        SCOPED_TRACE(strsignal(sig));
        Launched sleeping = launch_sleep();
        ASSERT_TRUE(sleeping.sandbox);
        sleeping.sandbox->signal(sig);
        const RunResult run = finish(sleeping);
        EXPECT_EQ(run.report.reason, ExitReason::killed);
        EXPECT_EQ(run.report.signal, sig);
    }
}

TEST(ExitReport, TerminateReportsItsCause) {
    Launched sleeping = launch_sleep();
    ASSERT_TRUE(sleeping.sandbox);
    sleeping.sandbox->terminate(sandbox::EndCause::wall_time_limit);
    sleeping.sandbox->terminate(sandbox::EndCause::killed);  // the first cause given wins
    const RunResult run = finish(sleeping);
    EXPECT_EQ(run.report.reason, ExitReason::wall_time_limit);
    EXPECT_EQ(run.report.signal, SIGKILL);
}

}  // namespace
}  // namespace resin::test
