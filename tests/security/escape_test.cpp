// The default profile against the classic ways out of a container that are not one syscall: kernel
// tunables, resource limits, device nodes, resin's own process, other sandboxes, host sockets and
// setuid binaries. Each works on the host first.
#include <fcntl.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <linux/capability.h>
#include <linux/vm_sockets.h>
#include <poll.h>
#include <stddef.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <filesystem>
#include <sstream>

#include "security/attack_run.hpp"
#include "support/host_processes.hpp"
#include "support/temp_dir.hpp"

namespace resin::test {
namespace {

using sandbox::UniqueFd;

void expect_default_profile_denies(const std::string& name, const std::string& error,
                                   const Argv& host_args = {}, const Argv& sandbox_args = {},
                                   const std::function<void()>& in_child = {}) {
    expect_works_on_host(attack_on_host(name, host_args, in_child));
    if (should_stop()) {
        return;
    }
    expect_denied_with(attack_in_sandbox(default_profile(), name, sandbox_args), error);
}

// /proc/sys is mounted read-only, and its files belong to a root the sandbox does not map.
TEST(Escapes, WritingProcSysIsDenied) {
    expect_default_profile_denies("write_proc_sys", "EACCES");
}

// The default profile has no /sys at all.
TEST(Escapes, WritingSysIsDenied) {
    expect_default_profile_denies("write_sys", "ENOENT");
}

// Whether this process holds capability `cap` in its effective set.
bool has_capability(int cap) {
    std::istringstream status(read_file("/proc/self/status"));
    for (std::string line; std::getline(status, line);) {
        if (line.rfind("CapEff:", 0) == 0) {
            return (std::stoull(line.substr(7), nullptr, 16) >> cap & 1) != 0;
        }
    }
    return false;
}

// The host run starts with the profile's hard limit (open_files 256) and, with CAP_SYS_RESOURCE,
// may raise it; in the sandbox nothing holds CAP_SYS_RESOURCE. Some hosts' root lacks it too (a
// container's, or this VM's): then the control cannot succeed, and only the sandbox is checked.
TEST(Escapes, RaisingAnRlimitIsDenied) {
    const auto limit_like_the_profile = [] {
        const rlimit limit{256, 256};
        ::setrlimit(RLIMIT_NOFILE, &limit);
    };
    const AttackRun host = attack_on_host("raise_rlimit", {}, limit_like_the_profile);
    if (has_capability(CAP_SYS_RESOURCE) || !privileged()) {
        expect_works_on_host(host);
    } else {
        std::cout << "[   NOTE   ] this root lacks CAP_SYS_RESOURCE, so the control run cannot "
                     "succeed: "
                  << describe(host) << "\n";
    }
    if (should_stop()) {
        return;
    }
    expect_denied_with(attack_in_sandbox(default_profile(), "raise_rlimit"), "EPERM");
}

TEST(Escapes, CreatingADeviceNodeIsDenied) {
    expect_default_profile_denies("mknod_device", "EPERM", {kScratchDir}, {kScratchDir});
}

// resin (here: this test, which hosts the sandboxes) is outside the sandbox's pid namespace.
TEST(Escapes, SignallingResinIsDenied) {
    const Argv our_pid = {std::to_string(::getpid())};
    expect_default_profile_denies("signal_resin", "ESRCH", our_pid, our_pid);
}

// Reads one line from `fd`, bounded by the deadline. "" at end of file or on time-out.
std::string read_line(int fd, Clock::time_point deadline) {
    std::string line;
    for (;;) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
        pollfd pfd{fd, POLLIN, 0};
        if (left <= 0 || ::poll(&pfd, 1, static_cast<int>(left)) == 0) {
            return "";
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

// Another sandbox, started by another process as a second resin would be, keeps a secret in its
// /tmp. The host (root, or the same uid) can reach it through /proc/<pid>/root; a sandbox sees
// neither the other's processes nor its mounts.
TEST(Escapes, ReadingAnotherSandboxesTmpIsDenied) {
    const std::string name = "secret-" + unique_token();
    int ready[2];
    int done[2];
    ASSERT_EQ(::pipe2(ready, O_CLOEXEC), 0);
    ASSERT_EQ(::pipe2(done, O_CLOEXEC), 0);
    HostProcess other_resin([&] {
        ::close(ready[0]);
        ::close(done[1]);
        const Argv keeper = {
            "/bin/sh", "-c",
            "echo the-secret > /tmp/" + name + " && echo ready && exec sleep 1000"};
        auto launched = launch(default_profile(), keeper);
        if (!launched ||
            read_line(launched.value().out.get(), Clock::now() + kRunTimeout) != "ready" ||
            ::write(ready[1], "ready\n", 6) != 6) {
            ::_exit(1);
        }
        char byte = 0;
        (void)!::read(done[0], &byte, 1);  // until the test is done with it
        launched.value().sandbox->terminate(sandbox::EndCause::killed);
        finish(launched.value());
        ::_exit(0);
    });
    ::close(ready[1]);
    const UniqueFd test_done(done[1]);
    ::close(done[0]);
    const UniqueFd other_ready(ready[0]);
    ASSERT_EQ(read_line(other_ready.get(), Clock::now() + kRunTimeout), "ready")
        << "the other sandbox did not start";

    const AttackRun host = attack_on_host("read_other_sandbox_tmp", {name});
    expect_works_on_host(host);
    if (!should_stop()) {
        EXPECT_NE(host.detail.find("the-secret"), std::string::npos) << describe(host);
        expect_denied_with(attack_in_sandbox(default_profile(), "read_other_sandbox_tmp", {name}),
                           "ENOENT");
    }
}

// An abstract unix socket listening on the host, which the sandbox's own network namespace (and
// Landlock's abstract-socket scope) keep out of reach.
TEST(Escapes, ReachingAHostAbstractSocketIsDenied) {
    const std::string name = "resin-attack-" + unique_token();
    UniqueFd listener(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    name.copy(address.sun_path + 1, sizeof address.sun_path - 2);
    const auto length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
    ASSERT_EQ(::bind(listener.get(), reinterpret_cast<sockaddr*>(&address), length), 0);
    ASSERT_EQ(::listen(listener.get(), 8), 0);
    expect_default_profile_denies("abstract_socket", "ECONNREFUSED", {name}, {name});
}

// vsock carries a virtual machine's traffic to its hypervisor host and, on this kernel, is not
// network-namespaced: a sandbox without a network would share the machine's vsock ports. The
// control shows both: the attack works on the host, and a sandbox without the syscall filter
// collides with a port the host holds.
TEST(Escapes, VsockIsKilledBecauseNetworkNamespacesDoNotIsolateIt) {
    const std::string port = std::to_string(40000 + ::getpid() % 20000);
    const AttackRun host = attack_on_host("vsock", {port});
    if (host.verdict == "DENIED" && host.detail == "EAFNOSUPPORT") {
        GTEST_SKIP() << "this machine has no vsock";
    }
    expect_works_on_host(host);
    if (should_stop()) {
        return;
    }
    UniqueFd held(::socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_vm address{};
    address.svm_family = AF_VSOCK;
    address.svm_cid = VMADDR_CID_ANY;
    address.svm_port = static_cast<unsigned>(std::stoul(port));
    ASSERT_EQ(::bind(held.get(), reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    sandbox::Config unfiltered = default_profile();
    unfiltered.syscalls.policy = sandbox::SyscallPolicy::none;
    expect_denied_with(attack_in_sandbox(unfiltered, "vsock", {port}), "EADDRINUSE");

    expect_killed_for(attack_in_sandbox(default_profile(), "vsock", {port}), "socket");
    expect_killed_for(attack_in_sandbox(default_profile(), "vsock", {port, "--high-bits"}),
                      "socket");
}

// The sandbox's init runs without the syscall filter, so writing its memory would be a way around
// it. The init is not dumpable before the command exists, and Landlock keeps a sandboxed process
// from reaching into a process outside its domain: either holds alone, so the second run is
// planned as if on a host without Landlock.
TEST(Escapes, WritingTheInitsMemoryIsDeniedEvenWithoutLandlock) {
    HostProcess victim;
    expect_works_on_host(attack_on_host("init_memory", {std::to_string(victim.pid())}));
    if (should_stop()) {
        return;
    }
    expect_denied_with(attack_in_sandbox(default_profile(), "init_memory"), "EACCES");
    sandbox::HostCapabilities without_landlock = sandbox::probe_host();
    without_landlock.landlock_abi = 0;
    expect_denied_with(attack_in_sandbox_on(without_landlock, default_profile(), "init_memory"),
                       "EACCES");
}

// A setuid-root copy of a program: run by uid 65534 on the host it is root; in the sandbox it
// gains nothing (every bind mount is nosuid, and no_new_privs is set before exec).
TEST(Escapes, SetuidBinaryGainsNothing) {
    if (::geteuid() != 0) {
        GTEST_SKIP() << "making a setuid-root binary needs root";
    }
    TempDir dir(0755);
    const std::string copy = dir / "setuid_root";
    std::filesystem::copy_file(std::string(RESIN_ATTACKS_DIR) + "/setuid_root", copy);
    ASSERT_EQ(::chown(copy.c_str(), 0, 0), 0);
    ASSERT_EQ(::chmod(copy.c_str(), 04755), 0);

    const auto become_nobody = [] {
        if (::setgroups(0, nullptr) != 0 || ::setresgid(65534, 65534, 65534) != 0 ||
            ::setresuid(65534, 65534, 65534) != 0) {
            ::_exit(126);
        }
    };
    const RunResult host = run_on_host({copy}, become_nobody);
    ASSERT_EQ(host.exit_code, 0) << "the setuid bit does not work on the host: " << host.out;

    sandbox::Config config = default_profile();
    sandbox::BindMount mount;
    mount.path = "/setuid";
    mount.source = dir.path();
    config.filesystem.mounts.push_back(mount);
    const RunResult inside = run_sandboxed(config, {"/setuid/setuid_root"});
    EXPECT_EQ(inside.out, "ATTACK setuid_root DENIED euid stayed 65534\n") << inside.err;
}

}  // namespace
}  // namespace resin::test
