// The limits through the resin executable (`resin --config ... --report -`), whose event loop
// (src/host/supervisor.cpp) drives the wall-time timer, the CPU-time polls and the cgroup v1 OOM
// event that the other limits tests drive with supervise(); and the sweep of a killed resin's
// cgroups by the next resin.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "sandbox/host_probe.hpp"
#include "support/command_runner.hpp"
#include "support/configs.hpp"
#include "support/host_processes.hpp"
#include "support/programs.hpp"
#include "support/sandbox_cgroups.hpp"
#include "support/spawn_resin.hpp"
#include "support/temp_dir.hpp"

namespace resin::test {
namespace {

using nlohmann::json;

constexpr std::chrono::seconds kTimeout{10};

class ThroughResin : public testing::Test {
  protected:
    // The default profile with `limits` merged in. {} is json null, which as a merge patch would
    // remove the default's limits: then the default's own limits stay.
    std::string config_file(const json& limits) {
        json config = json::parse(default_profile_json());
        if (!limits.is_null()) {
            config["limits"] = limits;
        }
        write_file(dir_ / "config.json", config.dump());
        return dir_ / "config.json";
    }

    // The default profile on the host's network with a port allowlist: on a hybrid host the
    // sandbox goes in a v2 cgroup of its own as well, under resin's in the unified hierarchy.
    std::string allowlist_config_file() {
        json config = json::parse(default_profile_json());
        config["network"] = {{"mode", "host"}, {"tcp_connect", {443}}};
        write_file(dir_ / "allowlist.json", config.dump());
        return dir_ / "allowlist.json";
    }

    struct Run {
        int exit_code = -1;  // resin's: the command's, or 128 + signal
        std::string out;
        json report;
    };

    // `resin --config ... --report - COMMAND...`: its exit code, the command's stdout and the
    // report resin wrote to stderr (after the command's own stderr). Killed after `timeout`.
    Run run(const json& limits, const Argv& command,
            std::chrono::milliseconds timeout = std::chrono::milliseconds(30000)) {
        std::vector<std::string> args = {"--config", config_file(limits), "--report", "-", "--"};
        args.insert(args.end(), command.begin(), command.end());
        const CommandResult result = run_resin(args, timeout);
        const auto report_at = result.err.rfind("\n{");
        const std::string report =
            result.err.substr(report_at == std::string::npos ? 0 : report_at + 1);
        return {result.exit_code, result.out, json::parse(report, nullptr, false)};
    }

    TempDir dir_;
};

// The report's figures have microsecond fractions: truncating each to whole milliseconds could
// put a tree that was stopped at the limit just under it.
double cpu_ms(const json& report) {
    return report["usage"]["cpu_user_ms"].get<double>() +
           report["usage"]["cpu_system_ms"].get<double>();
}

TEST_F(ThroughResin, MemoryLimitEndsTheCommandOrFailsItsAllocation) {
    const Run control = run({}, touch_memory(256));
    ASSERT_EQ(control.out, "touched\n") << "control: it fits without the limit";

    const Run limited = run({{"memory_bytes", 64 * kMiB}}, touch_memory(256));
    EXPECT_EQ(limited.out, "");
    if (cgroup_support().memory) {
        EXPECT_EQ(limited.exit_code, 128 + SIGKILL);
        EXPECT_EQ(limited.report["reason"], "memory_limit") << limited.report;
        EXPECT_LE(limited.report["usage"]["peak_memory_bytes"].get<std::uint64_t>(), 64 * kMiB);
    } else {
        EXPECT_EQ(limited.exit_code, 1);
        EXPECT_EQ(limited.report["reason"], "exited") << limited.report;
    }
}

TEST_F(ThroughResin, CpuTimeLimitEndsABusyCommand) {
    const Run control = run({{"wall_time_ms", 1500}}, hog_processes(1));
    ASSERT_EQ(control.report["reason"], "wall_time_limit") << "control: it runs on";

    const Run limited = run({{"cpu_time_ms", 1000}, {"wall_time_ms", 20000}}, hog_processes(1));
    EXPECT_EQ(limited.report["reason"], "cpu_time_limit") << limited.report;
    EXPECT_EQ(limited.exit_code, 128 + SIGKILL);
    if (cgroup_support().cpu_time) {
        EXPECT_GE(cpu_ms(limited.report), 1000.0);
        if (!cpu_is_emulated()) {
            EXPECT_LE(cpu_ms(limited.report), 1200.0);  // limits_cpu_test states the tight bound
        }
    }
}

TEST_F(ThroughResin, WallTimeLimitEndsASleepingCommand) {
    const Run control = run({}, {"/bin/sleep", "30"}, std::chrono::milliseconds(1000));
    ASSERT_EQ(control.exit_code, -1) << "control: without the limit it is still running at 1 s";

    const Run limited = run({{"wall_time_ms", 300}}, {"/bin/sleep", "30"});
    EXPECT_EQ(limited.exit_code, 128 + SIGKILL);
    EXPECT_EQ(limited.report["reason"], "wall_time_limit") << limited.report;
    EXPECT_GE(limited.report["usage"]["wall_ms"].get<double>(), 300.0);
    EXPECT_LT(limited.report["usage"]["wall_ms"].get<double>(), 5000.0);
}

TEST_F(ThroughResin, ProcessLimitStopsForksAtTheLimit) {
    const Run control = run({}, fork_until_refused(64, AfterCount::exit));
    ASSERT_EQ(control.out, "64 none\n") << "control: without the limit it reaches its own cap";

    const Run limited = run({{"processes", 16}}, fork_until_refused(64, AfterCount::exit));
    EXPECT_EQ(limited.out, "16 EAGAIN\n");
    EXPECT_EQ(limited.exit_code, 0);
    if (cgroup_support().pids) {
        EXPECT_EQ(limited.report["usage"]["peak_processes"], 16) << limited.report;
    }
}

TEST_F(ThroughResin, ProcessLimitHoldsAForkBomb) {
    const Run bomb = run({{"processes", 16}, {"wall_time_ms", 1000}},
                         {"/bin/bash", "-c", "bomb() { bomb | bomb & }; bomb; exec sleep 1000"});
    EXPECT_EQ(bomb.report["reason"], "wall_time_limit") << bomb.report;
    if (cgroup_support().pids) {
        EXPECT_EQ(bomb.report["usage"]["peak_processes"], 16) << bomb.report;
    }
}

// config/default.json as shipped: run({}, ...) is {"extends": "default"} and nothing else.
// Without its limits these would run on (the controls raise the limit in a profile extending it).
constexpr std::uint64_t kDefaultProcesses = 256;

std::uint64_t ram_mib() {
    return static_cast<std::uint64_t>(::sysconf(_SC_PHYS_PAGES)) *
           static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE)) / kMiB;
}

// The controls need room past the default's limits: 400 Python processes, 1.25 GiB touched. The
// cgroup v2 VM (tests/vm) has 512 MiB; its own limits tests cover the mechanisms there.
bool room_past_the_default_limits() {
    return ram_mib() >= 3 * 1024;
}

TEST_F(ThroughResin, ShippedDefaultStopsAForkLoopAtItsProcessLimit) {
    if (!room_past_the_default_limits()) {
        GTEST_SKIP() << ram_mib() << " MiB of RAM: too little for the control's 400 processes";
    }
    const Run control = run({{"processes", 1024}}, fork_until_refused(400, AfterCount::exit));
    ASSERT_EQ(control.out, "400 none\n") << "control: with the limit raised it reaches its cap";

    const Run limited = run({}, fork_until_refused(400, AfterCount::exit));
    EXPECT_EQ(limited.out, std::to_string(kDefaultProcesses) + " EAGAIN\n");
    EXPECT_EQ(limited.exit_code, 0) << limited.report;
}

TEST_F(ThroughResin, ShippedDefaultEndsAnAllocationBeyondItsMemoryLimit) {
    if (!room_past_the_default_limits()) {
        GTEST_SKIP() << ram_mib() << " MiB of RAM: too little for the control's 1.25 GiB";
    }
    const Run control = run({{"memory_bytes", 2048 * kMiB}}, touch_memory(1280));
    ASSERT_EQ(control.out, "touched\n") << "control: with the limit raised it fits";

    const Run limited = run({}, touch_memory(1280));
    EXPECT_EQ(limited.out, "");
    if (cgroup_support().memory) {
        EXPECT_EQ(limited.exit_code, 128 + SIGKILL);
        EXPECT_EQ(limited.report["reason"], "memory_limit") << limited.report;
        EXPECT_LE(limited.report["usage"]["peak_memory_bytes"].get<std::uint64_t>(), 1024 * kMiB);
    } else {
        EXPECT_EQ(limited.exit_code, 1) << "RLIMIT_AS: the allocation fails (MemoryError)";
        EXPECT_EQ(limited.report["reason"], "exited") << limited.report;
    }
}

// The fallback behind the reaper (below): a resin killed together with its reaper leaves its
// cgroups, and the next resin to create a sandbox under the same cgroup removes them.
TEST_F(ThroughResin, CgroupsOfAKilledResinAndReaperAreSweptByTheNextResin) {
    SubreaperScope adopt_orphans;  // the killed resin's sandbox init is reaped here
    const Argv sleep = {"/bin/sleep", "1000." + unique_token()};
    std::vector<std::string> args = {"--config", config_file({{"processes", 16}}), "--"};
    args.insert(args.end(), sleep.begin(), sleep.end());
    auto null = high_fd(sandbox::UniqueFd(::open("/dev/null", O_RDWR | O_CLOEXEC)));
    const pid_t resin = spawn_resin(args, {{null.get(), 0}, {null.get(), 1}, {null.get(), 2}});
    const auto tree = wait_for_processes(sleep, 1, Clock::now() + kTimeout);
    ASSERT_EQ(tree.size(), 1u);
    const auto reapers = children_named(resin, "resin-reaper");
    ASSERT_EQ(reapers.size(), cgroup_support().any() ? 1u : 0u) << "one reaper, if cgroups";
    for (pid_t reaper : reapers) {
        ::kill(reaper, SIGKILL);
    }
    ::kill(resin, SIGKILL);
    ::waitpid(resin, nullptr, 0);
    EXPECT_TRUE(wait_until_gone(tree, Clock::now() + kTimeout)) << "the sandbox dies with resin";

    if (!cgroup_support().any()) {
        EXPECT_EQ(sandbox_cgroups_of(resin), std::vector<std::string>{}) << "no cgroups here";
        return;
    }
    // Dead (a zombie of this subreaper at most): it can remove nothing any more.
    EXPECT_TRUE(wait_until(Clock::now() + kTimeout, [&reapers] {
        return std::none_of(reapers.begin(), reapers.end(), is_alive);
    }));
    ASSERT_FALSE(sandbox_cgroups_of(resin).empty())
        << "control: a resin killed with its reaper leaves them";
    make_cgroup_sweep_due();
    const Run next = run({}, {"/bin/true"});
    EXPECT_EQ(next.exit_code, 0) << next.report;
    EXPECT_EQ(sandbox_cgroups_of(resin), std::vector<std::string>{});
}

bool allowlist_enforceable() {
    return sandbox::probe_host().socket_bpf_unavailable.empty();
}

// On a hybrid host, the port allowlist's cgroup among `cgroups` (under resin's own in the unified
// hierarchy); elsewhere the allowlist takes the sandbox's own cgroup, and this is empty.
std::vector<std::string> allowlist_cgroups_among(const std::vector<std::string>& cgroups) {
    const auto layout = sandbox::probe_host().cgroup_layout;
    std::vector<std::string> found;
    for (const auto& cgroup : cgroups) {
        if (layout.version == sandbox::CgroupVersion::hybrid &&
            cgroup.rfind(layout.unified_own + "/", 0) == 0) {
            found.push_back(cgroup);
        }
    }
    return found;
}

struct Spawned {
    pid_t resin = -1;
    std::vector<pid_t> tree;  // the sandboxed sleep
};

// A resin running a sandboxed sleep under `config`.
Spawned spawn_resin_sleeping(const std::string& config) {
    const Argv sleep = {"/bin/sleep", "1000." + unique_token()};
    std::vector<std::string> args = {"--config", config, "--"};
    args.insert(args.end(), sleep.begin(), sleep.end());
    auto null = high_fd(sandbox::UniqueFd(::open("/dev/null", O_RDWR | O_CLOEXEC)));
    const pid_t resin = spawn_resin(args, {{null.get(), 0}, {null.get(), 1}, {null.get(), 2}});
    return {resin, wait_for_processes(sleep, 1, Clock::now() + kTimeout)};
}

// The reaper covers every kind of sandbox cgroup resin makes, the port allowlist's v2 cgroup on a
// hybrid host too: a resin killed with SIGKILL leaves none in any hierarchy within a second.
TEST_F(ThroughResin, AKilledResinWithAPortAllowlistLeavesNoCgroupInAnyHierarchyWithinASecond) {
    if (!allowlist_enforceable()) {
        GTEST_SKIP() << "no port allowlist here: " << sandbox::probe_host().socket_bpf_unavailable;
    }
    SubreaperScope adopt_orphans;  // the killed resin's sandbox init and reaper are reaped here
    const Spawned spawned = spawn_resin_sleeping(allowlist_config_file());
    const pid_t resin = spawned.resin;
    const std::vector<pid_t>& tree = spawned.tree;
    ASSERT_EQ(tree.size(), 1u);
    const auto made = sandbox_cgroups_of(resin);
    ASSERT_FALSE(made.empty()) << "control: the running sandbox has its cgroups";
    if (sandbox::probe_host().cgroup_layout.version == sandbox::CgroupVersion::hybrid) {
        ASSERT_EQ(allowlist_cgroups_among(made).size(), 1u)
            << "control: the allowlist's own v2 cgroup: " << testing::PrintToString(made);
    }

    ::kill(resin, SIGKILL);
    ::waitpid(resin, nullptr, 0);
    const auto killed_at = Clock::now();
    std::optional<Clock::time_point> gone_at;
    wait_until(killed_at + kTimeout, [&] {
        if (!sandbox_cgroups_of(resin).empty() ||
            std::any_of(tree.begin(), tree.end(), process_exists)) {
            return false;
        }
        gone_at = Clock::now();
        return true;
    });
    ASSERT_TRUE(gone_at) << "left: " << testing::PrintToString(sandbox_cgroups_of(resin));
    EXPECT_LE(*gone_at, killed_at + std::chrono::seconds(1));
}

// The fallback: a resin killed with its reaper leaves the allowlist's cgroup as well, and the next
// resin sweeps it, even one without an allowlist (one sweep covers every kind).
TEST_F(ThroughResin, TheAllowlistCgroupOfAKilledResinAndReaperIsSweptByTheNextResin) {
    if (!allowlist_enforceable()) {
        GTEST_SKIP() << "no port allowlist here: " << sandbox::probe_host().socket_bpf_unavailable;
    }
    SubreaperScope adopt_orphans;
    const Spawned spawned = spawn_resin_sleeping(allowlist_config_file());
    const pid_t resin = spawned.resin;
    const std::vector<pid_t>& tree = spawned.tree;
    ASSERT_EQ(tree.size(), 1u);
    const auto reapers = children_named(resin, "resin-reaper");
    ASSERT_EQ(reapers.size(), 1u);
    ::kill(reapers.front(), SIGKILL);
    ::kill(resin, SIGKILL);
    ::waitpid(resin, nullptr, 0);
    EXPECT_TRUE(wait_until_gone(tree, Clock::now() + kTimeout)) << "the sandbox dies with resin";
    EXPECT_TRUE(
        wait_until(Clock::now() + kTimeout, [&reapers] { return !is_alive(reapers.front()); }));

    const auto left = sandbox_cgroups_of(resin);
    ASSERT_FALSE(left.empty()) << "control: a resin killed with its reaper leaves them";
    if (sandbox::probe_host().cgroup_layout.version == sandbox::CgroupVersion::hybrid) {
        ASSERT_EQ(allowlist_cgroups_among(left).size(), 1u)
            << "control: the allowlist's cgroup among them: " << testing::PrintToString(left);
    }
    make_cgroup_sweep_due();
    const Run next = run({}, {"/bin/true"});  // no allowlist
    EXPECT_EQ(next.exit_code, 0) << next.report;
    EXPECT_EQ(sandbox_cgroups_of(resin), std::vector<std::string>{});
}

// A resin in another pid namespace (a container) shares this one's cgroup parent, and a sweep is
// due: the next resin here leaves that resin's sandbox and cgroups alone. Its pids mean nothing in
// this namespace: under the old names (resin-<pid>-<start time>-<n>) the sweep read /proc/1/stat,
// the host's init, for the inner resin (pid 1 there), judged it gone and killed its sandbox (the
// control: this test fails so against a resin built before the pid namespace was in the name).
TEST_F(ThroughResin, ASweepLeavesTheSandboxOfAResinInAnotherPidNamespaceAlone) {
    if (!privileged() || !cgroup_support().any()) {
        GTEST_SKIP() << "another pid namespace and sandbox cgroups need root and usable cgroups";
    }
    SubreaperScope adopt_orphans;
    const Argv sleep = {"/bin/sleep", "1000." + unique_token()};
    std::vector<std::string> args = {"--config", config_file({}), "--"};
    args.insert(args.end(), sleep.begin(), sleep.end());
    auto null = high_fd(sandbox::UniqueFd(::open("/dev/null", O_RDWR | O_CLOEXEC)));
    const pid_t unshare =
        spawn_resin(args, {{null.get(), 0}, {null.get(), 1}, {null.get(), 2}},
                    {"/usr/bin/unshare", "--pid", "--fork", "--mount-proc", "--kill-child"});
    const auto tree = wait_for_processes(sleep, 1, Clock::now() + kTimeout);
    ASSERT_EQ(tree.size(), 1u);
    const auto inner = children_named(unshare, "resin");
    ASSERT_EQ(inner.size(), 1u) << "resin, pid 1 of its namespace";
    const auto theirs = sandbox_cgroups_in_pid_namespace_of(inner.front());
    ASSERT_FALSE(theirs.empty()) << "its sandbox cgroups, beside this test's";

    make_cgroup_sweep_due();
    const Run next = run({}, {"/bin/true"});
    EXPECT_EQ(next.exit_code, 0) << next.report;
    EXPECT_TRUE(is_alive(tree.front())) << "the other namespace's sandbox was killed";
    EXPECT_EQ(sandbox_cgroups_in_pid_namespace_of(inner.front()), theirs);

    // Its command ends: resin ends the sandbox and removes its cgroups itself.
    ::kill(tree.front(), SIGKILL);
    int status = 0;
    ::waitpid(unshare, &status, 0);
    EXPECT_TRUE(wait_until_gone(tree, Clock::now() + kTimeout));
    for (const auto& cgroup : theirs) {
        EXPECT_FALSE(std::filesystem::exists(cgroup)) << cgroup;
        ::rmdir(cgroup.c_str());
    }
}

// Field 22 of /proc/<pid>/stat: when `pid` started, as this process reads it (through its own time
// namespace).
std::string start_time_seen_from_here(pid_t pid) {
    std::istringstream fields(read_file("/proc/" + std::to_string(pid) + "/stat"));
    std::string field;
    std::getline(fields, field, ')');
    for (int number = 3; number <= 22 && fields >> field; ++number) {
    }
    return field;
}

// A resin in another time namespace of this pid namespace (unshare --time, a boottime offset)
// shares this one's cgroup parent, and a sweep is due: the next resin here leaves that resin's
// sandbox and cgroups alone, a fresh one still empty too (standing for those of a launch between
// their mkdir and the sandbox joining them, which a removal made fail). /proc/<pid>/stat shows a
// start time through the reader's time namespace, so that resin's names carry a start time that is
// not the one read here (the control below). Under names without the time namespace (resin-<pid
// ns>-<pid>-<start time>-<n>) the sweep judged its owner gone and removed the empty one: this test
// fails so against a resin built before the time namespace was in the name.
TEST_F(ThroughResin, ASweepLeavesTheCgroupsOfAResinInAnotherTimeNamespaceAlone) {
    if (!privileged() || !cgroup_support().any() ||
        !std::filesystem::exists("/proc/self/ns/time")) {
        GTEST_SKIP() << "another time namespace and sandbox cgroups need root, usable cgroups and "
                        "a kernel with time namespaces";
    }
    SubreaperScope adopt_orphans;
    const Argv sleep = {"/bin/sleep", "1000." + unique_token()};
    std::vector<std::string> args = {"--config", config_file({}), "--"};
    args.insert(args.end(), sleep.begin(), sleep.end());
    auto null = high_fd(sandbox::UniqueFd(::open("/dev/null", O_RDWR | O_CLOEXEC)));
    const pid_t unshare = spawn_resin(
        args, {{null.get(), 0}, {null.get(), 1}, {null.get(), 2}},
        {"/usr/bin/unshare", "--time", "--boottime", "1000000", "--fork", "--kill-child"});
    const auto tree = wait_for_processes(sleep, 1, Clock::now() + kTimeout);
    ASSERT_EQ(tree.size(), 1u);
    const auto inner = children_named(unshare, "resin");
    ASSERT_EQ(inner.size(), 1u) << "resin, in the new time namespace";
    const auto theirs = sandbox_cgroups_holding(tree.front());
    ASSERT_FALSE(theirs.empty()) << "its sandbox cgroups, beside this test's";
    const std::string name = theirs.front().substr(theirs.front().rfind('/') + 1);
    ASSERT_EQ(name.find("-" + start_time_seen_from_here(inner.front()) + "-"), std::string::npos)
        << "control: " << name << " names a start time other than the one read here";
    std::vector<std::string> fresh;
    for (const auto& cgroup : theirs) {
        fresh.push_back(cgroup.substr(0, cgroup.rfind('-') + 1) + "999999");
        ASSERT_EQ(::mkdir(fresh.back().c_str(), 0755), 0)
            << fresh.back() << ": " << std::strerror(errno);
    }

    make_cgroup_sweep_due();
    const Run next = run({}, {"/bin/true"});
    EXPECT_EQ(next.exit_code, 0) << next.report;
    EXPECT_TRUE(is_alive(tree.front())) << "the other time namespace's sandbox was killed";
    for (const auto& cgroup : theirs) {
        EXPECT_TRUE(std::filesystem::exists(cgroup)) << cgroup;
    }
    for (const auto& cgroup : fresh) {
        EXPECT_TRUE(std::filesystem::exists(cgroup)) << "the empty " << cgroup << " was removed";
    }
    EXPECT_EQ(sandbox_cgroups_in_time_namespace_of(inner.front()).size(), 2 * theirs.size())
        << "their names carry their time namespace";

    // Its command ends: resin removes its sandbox's cgroups, and its reaper the rest of its own.
    ::kill(tree.front(), SIGKILL);
    int status = 0;
    ::waitpid(unshare, &status, 0);
    EXPECT_TRUE(wait_until_gone(tree, Clock::now() + kTimeout));
    const auto gone = [](const std::vector<std::string>& cgroups) {
        return std::none_of(cgroups.begin(), cgroups.end(), [](const std::string& cgroup) {
            return std::filesystem::exists(cgroup);
        });
    };
    EXPECT_TRUE(wait_until(Clock::now() + kTimeout, [&] { return gone(theirs) && gone(fresh); }));
    for (const auto& cgroup : fresh) {
        ::rmdir(cgroup.c_str());
    }
}

// 100 resins, each running a sandboxed sleep, killed with SIGKILL; no resin starts after them.
// Within a second each one's reaper has killed what was left and removed its cgroups, in every
// hierarchy. (The control, a resin killed with its reaper leaving its cgroups, is the test above.)
//
// The second is the optimised build's (kKilledResinsGoneWithin, support/sandbox_cgroups.hpp, says
// why ASan's is three).

TEST_F(ThroughResin, HundredKilledResinsLeaveNoCgroupOrProcessWithinASecond) {
    // 100, or 20 on a machine as small as the cgroup v2 VM (512 MiB).
    const std::size_t resin_count = ram_mib() >= 2 * 1024 ? 100 : 20;
    SubreaperScope adopt_orphans;  // the killed resins' inits and reapers are reaped here
    const Argv sleep = {"/bin/sleep", "1000." + unique_token()};
    std::vector<std::string> args = {"--config", config_file({}), "--"};
    args.insert(args.end(), sleep.begin(), sleep.end());
    auto null = high_fd(sandbox::UniqueFd(::open("/dev/null", O_RDWR | O_CLOEXEC)));
    std::vector<pid_t> resins;
    for (std::size_t i = 0; i < resin_count; ++i) {
        resins.push_back(spawn_resin(args, {{null.get(), 0}, {null.get(), 1}, {null.get(), 2}}));
    }
    const auto sandboxed = wait_for_processes(sleep, resin_count, Clock::now() + 6 * kTimeout);
    ASSERT_EQ(sandboxed.size(), resin_count);
    std::size_t with_cgroups = 0;
    for (pid_t resin : resins) {
        with_cgroups += sandbox_cgroups_of(resin).empty() ? 0 : 1;
    }
    EXPECT_EQ(with_cgroups, cgroup_support().any() ? resin_count : 0u);

    for (pid_t resin : resins) {
        ::kill(resin, SIGKILL);
    }
    for (pid_t resin : resins) {
        ::waitpid(resin, nullptr, 0);
    }
    const auto killed_at = Clock::now();
    const auto deadline = killed_at + kKilledResinsGoneWithin;
    // Each look ends after the state it saw (nothing comes back): when the first look that finds
    // nothing ends is when everything was gone at the latest.
    std::optional<Clock::time_point> gone_at;
    wait_until(killed_at + kTimeout, [&] {
        if (!sandbox_cgroups_of(resins).empty() ||
            std::any_of(sandboxed.begin(), sandboxed.end(), process_exists)) {
            return false;
        }
        gone_at = Clock::now();
        return true;
    });
    ASSERT_TRUE(gone_at) << "left after " << kTimeout.count()
                         << " s: " << testing::PrintToString(sandbox_cgroups_of(resins));
    std::cout << "[   NOTE   ] no sandbox cgroup and no sandboxed process left "
              << std::chrono::duration_cast<std::chrono::milliseconds>(*gone_at - killed_at).count()
              << " ms after the kills\n";
    EXPECT_LE(*gone_at, deadline) << "the requirement: gone within "
                                  << kKilledResinsGoneWithin.count() << " s";
}

}  // namespace
}  // namespace resin::test
