// Attacks on what the kernel counts per user or per host rather than per sandbox: per-user quotas
// (inotify instances) that a sandbox created by root would charge to host root, native AIO
// contexts (fs.aio-max-nr, one count for the whole host), kernel memory through empty files on a
// tmpfs, and the host's device events reaching a sandbox's network namespace.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/nsfs.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <functional>
#include <string>
#include <vector>

#include "sandbox/netns_pool.hpp"
#include "security/attack_run.hpp"
#include "support/temp_dir.hpp"

namespace resin::test {
namespace {

using sandbox::UniqueFd;

std::string read_line(int fd, Clock::time_point deadline = Clock::now() + kRunTimeout) {
    std::string line;
    for (;;) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
        pollfd pfd{fd, POLLIN, 0};
        if (left <= 0 || ::poll(&pfd, 1, static_cast<int>(left)) == 0) {
            return line;
        }
        char byte = 0;
        const ssize_t got = ::read(fd, &byte, 1);
        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got != 1 || byte == '\n') {
            return line;
        }
        line += byte;
    }
}

// errno of a fresh inotify instance for this process (0: it got one, and closed it).
int inotify_error() {
    const int fd = ::inotify_init1(IN_CLOEXEC);
    if (fd < 0) {
        return errno;
    }
    ::close(fd);
    return 0;
}

// ---- 3. per-user kernel quotas ----

// The control: the attack run on the host, as this test's user, leaves this user no inotify
// instance while it holds them. In a sandbox, created by root, the kernel charges a namespace's
// counts to its owner: the sandbox's own reserved uid, not host root, so the test (root) and a
// second sandbox still get instances while the first holds all it may.
TEST(Quotas, HoldingEveryInotifyInstanceLeavesHostRootAndOtherSandboxesTheirs) {
    int out[2];
    ASSERT_EQ(::pipe2(out, O_CLOEXEC), 0);
    const pid_t holder =
        spawn_on_host({std::string(RESIN_ATTACKS_DIR) + "/inotify_exhaust", "--hold"},
                      [&] { ::dup2(out[1], 1); });
    ::close(out[1]);
    const UniqueFd host_out(out[0]);
    const std::string host_line = read_line(host_out.get());
    const int host_error = inotify_error();
    ::kill(holder, SIGKILL);
    ::waitpid(holder, nullptr, 0);
    ASSERT_NE(host_line.find("SUCCEEDED held"), std::string::npos) << host_line;
    ASSERT_EQ(host_error, EMFILE) << "the control: the host attacker left this user instances: "
                                  << host_line;
    if (!privileged()) {
        GTEST_SKIP() << "unprivileged, resin creates the sandbox's namespace as its own uid, which "
                        "the sandbox's counts are then charged to, as a plain process's would be "
                        "(docs/security.md)";
    }

    auto launched =
        launch(default_profile(), {std::string(kAttacksInSandbox) + "/inotify_exhaust", "--hold"});
    ASSERT_TRUE(launched) << launched.error().message;
    const std::string line = read_line(launched.value().out.get());
    EXPECT_NE(line.find("SUCCEEDED held"), std::string::npos) << line;
    EXPECT_EQ(inotify_error(), 0) << "host root lost its inotify instances to a sandbox: " << line;
    const AttackRun second = attack_in_sandbox(default_profile(), "inotify_exhaust");
    EXPECT_EQ(second.verdict, "SUCCEEDED") << describe(second);
    EXPECT_EQ(second.detail, line.substr(line.find("held"))) << "a second sandbox got fewer";
    launched.value().sandbox->terminate(sandbox::EndCause::killed);
    finish(launched.value());
}

// How many POSIX timers this process can create, up to kTimers (then deletes them). Each takes a
// queued signal of this user's (RLIMIT_SIGPENDING). Counting rather than trying one: other
// processes of the same user (uid 65534 is every sandbox's) may free a signal or two meanwhile.
constexpr int kTimers = 100;

int timers_available() {
    std::vector<timer_t> timers;
    for (int i = 0; i < kTimers; ++i) {
        sigevent event{};
        event.sigev_notify = SIGEV_SIGNAL;
        event.sigev_signo = SIGRTMIN + 1;
        timer_t timer{};
        if (::timer_create(CLOCK_MONOTONIC, &event, &timer) != 0) {
            break;
        }
        timers.push_back(timer);
    }
    for (timer_t timer : timers) {
        ::timer_delete(timer);
    }
    return static_cast<int>(timers.size());
}

// As for inotify, with queued signals: on the host the holder leaves this user no timer; a
// sandbox's are charged to its own owner uid, so host root and a second sandbox keep theirs.
TEST(Quotas, HoldingEveryQueuedSignalLeavesHostRootAndOtherSandboxesTheirs) {
    int out[2];
    ASSERT_EQ(::pipe2(out, O_CLOEXEC), 0);
    const pid_t holder =
        spawn_on_host({std::string(RESIN_ATTACKS_DIR) + "/sigqueue_exhaust", "--hold"},
                      [&] { ::dup2(out[1], 1); });
    ::close(out[1]);
    const UniqueFd host_out(out[0]);
    const std::string host_line = read_line(host_out.get());
    const int host_timers = timers_available();
    ::kill(holder, SIGKILL);
    ::waitpid(holder, nullptr, 0);
    ASSERT_NE(host_line.find("SUCCEEDED queued"), std::string::npos) << host_line;
    ASSERT_LT(host_timers, kTimers)
        << "the control: the host attacker left this user timers: " << host_line;
    if (!privileged()) {
        GTEST_SKIP() << "unprivileged, the sandbox's counts are charged to resin's own uid, as a "
                        "plain process's would be (docs/security.md)";
    }

    auto launched =
        launch(default_profile(), {std::string(kAttacksInSandbox) + "/sigqueue_exhaust", "--hold"});
    ASSERT_TRUE(launched) << launched.error().message;
    const std::string line = read_line(launched.value().out.get());
    EXPECT_NE(line.find("SUCCEEDED queued"), std::string::npos) << line;
    EXPECT_EQ(timers_available(), kTimers)
        << "host root lost its queued signals to a sandbox: " << line;
    const AttackRun second = attack_in_sandbox(default_profile(), "sigqueue_exhaust");
    EXPECT_EQ(second.verdict, "SUCCEEDED") << describe(second);
    EXPECT_EQ(second.detail, line.substr(line.find("queued"))) << "a second sandbox got fewer";
    launched.value().sandbox->terminate(sandbox::EndCause::killed);
    finish(launched.value());
}

// fs.aio-max-nr bounds io_setup contexts for the whole host, with no per-user or per-namespace
// share: the filter refuses native AIO.
TEST(Quotas, ExhaustingAioContextsIsKilled) {
    expect_default_profile_kills("aio_exhaust", "io_setup");
}

// ---- 4. tmpfs inodes ----

constexpr const char* kManyFiles = "20000";  // above the default /tmp's 16384 inodes

// A 64 MiB tmpfs mounted the way a plain mount(8) does, without an inode bound, at `dir`: in a
// mount namespace of the child's own (and a user namespace, when not root).
std::function<void()> unbounded_tmpfs_at(const std::string& dir) {
    const uid_t uid = ::geteuid();
    const gid_t gid = ::getegid();
    return [dir, uid, gid] {
        auto write_file = [](const char* path, const std::string& text) {
            const int fd = ::open(path, O_WRONLY | O_CLOEXEC);
            return fd >= 0 &&
                   ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
        };
        const bool root = uid == 0;
        if (::unshare(CLONE_NEWNS | (root ? 0 : CLONE_NEWUSER)) != 0 ||
            (!root && !(write_file("/proc/self/setgroups", "deny") &&
                        write_file("/proc/self/uid_map",
                                   std::to_string(uid) + " " + std::to_string(uid) + " 1") &&
                        write_file("/proc/self/gid_map",
                                   std::to_string(gid) + " " + std::to_string(gid) + " 1"))) ||
            ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
            ::mount("tmpfs", dir.c_str(), "tmpfs", 0, "size=64m,mode=0777") != 0) {
            ::_exit(12);
        }
    };
}

TEST(Quotas, EmptyFilesBeyondTheTmpfsInodeBoundFailWithEnospc) {
    TempDir mount_point(0755);
    const AttackRun host = attack_on_host("tmpfs_inodes", {mount_point.path(), kManyFiles},
                                          unbounded_tmpfs_at(mount_point.path()));
    expect_works_on_host(host);
    if (should_stop()) {
        return;
    }
    // 64 MiB / 4 KiB per inode.
    const AttackRun tmp =
        attack_in_sandbox(default_profile(), "tmpfs_inodes", {"/tmp", kManyFiles});
    EXPECT_EQ(tmp.verdict, "DENIED") << describe(tmp);
    EXPECT_EQ(tmp.detail, "ENOSPC after 16384 files") << describe(tmp);
    const AttackRun shm =
        attack_in_sandbox(default_profile(), "tmpfs_inodes", {"/dev/shm", kManyFiles});
    EXPECT_EQ(shm.detail, "ENOSPC after 16384 files") << describe(shm);
    // The key, both ways.
    sandbox::Config config = default_profile();
    config.filesystem.tmpfs.at(0).inodes = 100;
    const AttackRun few = attack_in_sandbox(config, "tmpfs_inodes", {"/tmp", kManyFiles});
    EXPECT_EQ(few.detail, "ENOSPC after 100 files") << describe(few);
    config.filesystem.tmpfs.at(0).inodes = 30000;
    const AttackRun many = attack_in_sandbox(config, "tmpfs_inodes", {"/tmp", kManyFiles});
    EXPECT_EQ(many.verdict, "SUCCEEDED") << describe(many);
}

// ---- 5. host device events ----

// Makes a host device emit a "change" uevent tagged with `uuid`, as udevadm trigger does.
bool trigger_host_uevent(const std::string& uuid) {
    const UniqueFd fd(::open("/sys/devices/virtual/mem/null/uevent", O_WRONLY | O_CLOEXEC));
    const std::string text = "change " + uuid;
    return fd && ::write(fd.get(), text.data(), text.size()) == static_cast<ssize_t>(text.size());
}

std::string new_uuid() {
    const std::string token = unique_token();
    char uuid[40];
    std::snprintf(
        uuid, sizeof uuid, "%08x-%04x-4%03x-8%03x-%012llx",
        static_cast<unsigned>(std::hash<std::string>{}(token)),
        static_cast<unsigned>(::getpid() & 0xffff), 0x123u,
        static_cast<unsigned>(::time(nullptr) & 0xfff),
        static_cast<unsigned long long>(std::hash<std::string>{}(token + "x")) & 0xffffffffffffULL);
    return uuid;
}

// Whether the sandbox's init is in a network namespace its own user namespace owns (the clone
// made it) rather than a pooled one.
bool has_fresh_network_namespace(pid_t pid) {
    const std::string base = "/proc/" + std::to_string(pid) + "/ns/";
    const UniqueFd net(::open((base + "net").c_str(), O_RDONLY | O_CLOEXEC));
    const UniqueFd owner(net ? ::ioctl(net.get(), NS_GET_USERNS) : -1);
    struct stat owner_info {};
    struct stat user_info {};
    return owner && ::fstat(owner.get(), &owner_info) == 0 &&
           ::stat((base + "user").c_str(), &user_info) == 0 &&
           owner_info.st_ino == user_info.st_ino;
}

struct UeventRun {
    AttackRun attack;
    bool fresh_namespace = false;
};

UeventRun listen_in_sandbox(const sandbox::Config& config) {
    ::signal(SIGPIPE, SIG_IGN);  // a listener that died early must fail the test, not end it
    const std::string uuid = new_uuid();
    int in[2];
    if (::pipe2(in, O_CLOEXEC) != 0) {
        ADD_FAILURE() << "pipe2";
        return {};
    }
    UniqueFd go(in[1]);
    UniqueFd stdin_read(in[0]);
    auto launched = launch_with_stdin(
        config, {std::string(kAttacksInSandbox) + "/uevent_listen", uuid}, stdin_read.get());
    stdin_read.reset();
    if (!launched) {
        ADD_FAILURE() << launched.error().message;
        return {};
    }
    UeventRun result;
    result.fresh_namespace = has_fresh_network_namespace(launched.value().sandbox->command_pid());
    const std::string line = read_line(launched.value().out.get());
    EXPECT_EQ(line, "listening");
    EXPECT_TRUE(trigger_host_uevent(uuid)) << std::strerror(errno);
    EXPECT_EQ(::write(go.get(), "g", 1), 1);
    go.reset();
    RunResult run = finish(launched.value());
    run.out = line + "\n" + run.out;
    const std::string prefix = "ATTACK uevent_listen ";
    const auto at = run.out.find(prefix);
    if (at != std::string::npos) {
        const std::string rest = run.out.substr(at + prefix.size());
        const auto space = rest.find(' ');
        result.attack.verdict = rest.substr(0, space);
        result.attack.detail = rest.substr(space + 1, rest.find('\n') - space - 1);
    }
    result.attack.run = std::move(run);
    return result;
}

// The control: a listener on the host (no sandbox) receives the event. Then a sandbox must not,
// both in a pooled network namespace and in one its clone creates, for `none` and `loopback`, even
// without the filter; under the default profile the filter kills the socket too.
void expect_no_host_uevents(sandbox::NetworkMode mode) {
    if (!privileged()) {
        GTEST_SKIP() << "making a host device emit an event takes root";
    }
    const std::string uuid = new_uuid();
    int in[2];
    int out[2];
    ASSERT_EQ(::pipe2(in, O_CLOEXEC), 0);
    ASSERT_EQ(::pipe2(out, O_CLOEXEC), 0);
    const pid_t listener =
        spawn_on_host({std::string(RESIN_ATTACKS_DIR) + "/uevent_listen", uuid}, [&] {
            ::dup2(in[0], 0);
            ::dup2(out[1], 1);
        });
    ::close(in[0]);
    ::close(out[1]);
    UniqueFd go(in[1]);
    const UniqueFd host_out(out[0]);
    ASSERT_EQ(read_line(host_out.get()), "listening");
    ASSERT_TRUE(trigger_host_uevent(uuid)) << std::strerror(errno);
    ASSERT_EQ(::write(go.get(), "g", 1), 1);
    const std::string host_line = read_line(host_out.get());
    ::waitpid(listener, nullptr, 0);
    ASSERT_NE(host_line.find("SUCCEEDED"), std::string::npos)
        << "the control: a host listener did not receive the event: " << host_line;

    // Without the filter, which refuses the socket anyway (below): this is about the namespace.
    sandbox::Config config = default_profile();
    config.network.mode = mode;
    config.syscalls.policy = sandbox::SyscallPolicy::none;
    // A pooled namespace: fill the pool first; other resins on the host may take it before this
    // sandbox, so a few tries.
    bool pooled_seen = false;
    for (int attempt = 0; attempt < 10 && !pooled_seen; ++attempt) {
        sandbox::NetnsPool::fill(sandbox::probe_host());
        const UeventRun run = listen_in_sandbox(config);
        EXPECT_EQ(run.attack.verdict, "DENIED") << describe(run.attack);
        pooled_seen = !run.fresh_namespace;
    }
    EXPECT_TRUE(pooled_seen) << "no sandbox got a pooled network namespace";
    // A fresh one: a kept CAP_NET_* capability makes resin skip the pool.
    config.capabilities = {"CAP_NET_BIND_SERVICE"};
    const UeventRun fresh = listen_in_sandbox(config);
    EXPECT_TRUE(fresh.fresh_namespace);
    EXPECT_EQ(fresh.attack.verdict, "DENIED") << describe(fresh.attack);
    sandbox::Config filtered = default_profile();
    filtered.network.mode = mode;
    expect_killed_for(attack_in_sandbox(filtered, "uevent_listen", {new_uuid()}), "socket");
}

TEST(Quotas, HostUeventsDoNotReachANetworkNoneSandbox) {
    expect_no_host_uevents(sandbox::NetworkMode::none);
}

TEST(Quotas, HostUeventsDoNotReachANetworkLoopbackSandbox) {
    expect_no_host_uevents(sandbox::NetworkMode::loopback);
}

// With network "host" the sandbox shares the host's network namespace and so its device events:
// the filter refuses the socket. Without the filter (the control) such a sandbox receives them.
TEST(Quotas, HostUeventsDoNotReachANetworkHostSandbox) {
    if (!privileged()) {
        GTEST_SKIP() << "making a host device emit an event takes root";
    }
    sandbox::Config config = default_profile();
    config.network.mode = sandbox::NetworkMode::host;
    sandbox::Config unfiltered = config;
    unfiltered.syscalls.policy = sandbox::SyscallPolicy::none;
    const UeventRun control = listen_in_sandbox(unfiltered);
    ASSERT_EQ(control.attack.verdict, "SUCCEEDED") << describe(control.attack);
    const AttackRun filtered = attack_in_sandbox(config, "uevent_listen", {new_uuid()});
    expect_killed_for(filtered, "socket");
}

}  // namespace
}  // namespace resin::test
