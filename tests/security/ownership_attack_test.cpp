// A host directory bound rw outlives the sandbox, and on the host it is not nosuid: a file the
// sandbox leaves there with a set-id bit or file capabilities would let any host user run code as
// its owner. With ownership "directory" that owner is the directory's (host root for a root-owned
// job directory). Every way of making such a file is tried on the host (the control), then in a
// sandbox under the default policy and under policy "none", as uid 65534 and as uid 0, and the
// directory is then checked on the host.
#include <grp.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "config/config_names.hpp"
#include "sandbox/namespace_owner.hpp"
#include "sandbox/unique_fd.hpp"
#include "security/attack_run.hpp"
#include "support/command_runner.hpp"
#include "support/temp_dir.hpp"

namespace resin::test {
namespace {

using sandbox::Ownership;
using sandbox::SyscallPolicy;

// Each is a way set_id_file knows (tests/security/attacks/set_id_file.c).
const char* const kMethods[] = {"chmod",     "chmod_setgid", "fchmod",  "fchmodat",
                                "fchmodat2", "open",         "openat",  "creat",
                                "mknod",     "mknodat",      "openat2", "filecap"};

sandbox::Config with_job(const std::string& dir, Ownership ownership, SyscallPolicy policy,
                         std::uint32_t id) {
    sandbox::Config config = default_profile();
    sandbox::BindMount job;
    job.path = "/job";
    job.source = dir;
    job.access = sandbox::Access::rw;
    job.ownership = ownership;
    config.filesystem.mounts.push_back(job);
    config.syscalls.policy = policy;
    config.identity.uid = id;
    config.identity.gid = id;
    return config;
}

// Nothing in `dir`, as the host sees it, has a set-id bit or a security.capability attribute.
void expect_no_privileged_file(const std::string& dir, const std::string& context) {
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
        struct stat info {};
        ASSERT_EQ(::lstat(entry.path().c_str(), &info), 0);
        EXPECT_EQ(info.st_mode & (S_ISUID | S_ISGID), 0u)
            << entry.path() << " has mode " << std::oct << (info.st_mode & 07777) << ": "
            << context;
        char value[64];
        EXPECT_LT(::lgetxattr(entry.path().c_str(), "security.capability", value, sizeof value), 0)
            << entry.path() << " has file capabilities: " << context;
    }
}

class SetIdFile : public ::testing::TestWithParam<const char*> {};

TEST_P(SetIdFile, CannotBeLeftInAWritableBind) {
    const std::string method = GetParam();
    TempDir control(0755);
    const AttackRun host = attack_on_host("set_id_file", {method, control.path()});
    expect_works_on_host(host);
    if (should_stop()) {
        return;
    }
    for (const Ownership ownership : {Ownership::directory, Ownership::sandbox}) {
        for (const SyscallPolicy policy : {SyscallPolicy::default_policy, SyscallPolicy::none}) {
            for (const std::uint32_t id : {65534u, 0u}) {
                // As root: a root-owned directory (what the sandbox creates is host root's), or one
                // any uid may write for ownership "sandbox". Unprivileged: this user's own.
                TempDir job(ownership == Ownership::sandbox && privileged() ? 0777 : 0755);
                const std::string context =
                    "ownership " + std::string(sandbox::enum_to_name(ownership)) + ", policy " +
                    std::string(sandbox::enum_to_name(policy)) + ", uid " + std::to_string(id);
                const AttackRun inside = attack_in_sandbox(
                    with_job(job.path(), ownership, policy, id), "set_id_file", {method, "/job"});
                // EPERM from the set-id filter (filecap: from the kernel, without CAP_SETFCAP);
                // openat2, whose mode the filter cannot read, ENOSYS.
                expect_denied_with(inside, method == "openat2" ? "ENOSYS" : "EPERM");
                EXPECT_EQ(inside.run.exit_code, method == "openat2" ? 11 : 10) << context;
                expect_no_privileged_file(job.path(), context);
            }
        }
    }
}

INSTANTIATE_TEST_SUITE_P(Methods, SetIdFile, ::testing::ValuesIn(kMethods),
                         [](const auto& method) { return std::string(method.param); });

// Each attempt of tests/security/probes/open_mode_register.c, what the kernel does with it on the
// host, and what it must do under the set-id filter. The kernel reads flags as an int and the
// mode as a umode_t (and int 0x80 only the low halves of registers): junk in the high 32 bits
// changes nothing, so the filter must not change the verdict either.
struct OpenAttempt {
    const char* how;
    const char* on_host;
    const char* in_sandbox;
};
const OpenAttempt kOpenAttempts[] = {
    {"existing", "ok", "ok"},
    {"create", "ok mode 4755", "EPERM"},
    {"tmpfile", "ok mode 4755", "EPERM"},
    {"create-junk-flags", "ok mode 4755", "EPERM"},
    {"high-creat-existing", "ok", "ok"},
    {"high-creat-missing", "ENOENT", "ENOENT"},
    {"create-junk-mode", "ok mode 4755", "EPERM"},
    {"create-high-setuid", "ok mode 755", "ok mode 755"},
};

// The probe's whole output: one line per syscall and attempt, with `prefix` ("i386-" or "").
std::string open_attempts_output(const std::string& prefix, bool on_host) {
    std::string out;
    for (const char* name : {"open", "openat"}) {
        for (const auto& attempt : kOpenAttempts) {
            out += prefix + name + " " + attempt.how + " " +
                   (on_host ? attempt.on_host : attempt.in_sandbox) + "\n";
        }
    }
    return out;
}

// open and openat use their mode only when the flags create a file (O_CREAT, O_TMPFILE); for any
// other open the mode register holds whatever the caller left there. With S_ISUID in it, a plain
// open of an existing file in the rw bind works as on the host, and creating a file with it is
// still refused (tests/security/probes/open_mode_register.c).
TEST(SetIdFilter, JudgesTheModeOfAnOpenOnlyWhenTheOpenCreatesAFile) {
    TempDir control(0755);
    const RunResult host = run_on_host({probe_on_host("open_mode_register"), control.path()});
    ASSERT_EQ(host.exit_code, 0) << host.out << host.err;
    // The control: the kernel takes the mode register of a plain open without complaint, makes a
    // set-user-id file of each creating open, and ignores the high 32 bits of flags and mode.
    EXPECT_EQ(host.out, open_attempts_output("", true));
    for (const Ownership ownership : {Ownership::directory, Ownership::sandbox}) {
        for (const SyscallPolicy policy : {SyscallPolicy::default_policy, SyscallPolicy::none}) {
            TempDir job(ownership == Ownership::sandbox && privileged() ? 0777 : 0755);
            const std::string context = "ownership " +
                                        std::string(sandbox::enum_to_name(ownership)) +
                                        ", policy " + std::string(sandbox::enum_to_name(policy));
            const RunResult inside =
                run_sandboxed(with_job(job.path(), ownership, policy, 65534),
                              {probe_in_sandbox("open_mode_register"), "/job"});
            EXPECT_EQ(inside.exit_code, 0) << context << "\n" << inside.err;
            EXPECT_EQ(inside.out, open_attempts_output("", false)) << context;
            expect_no_privileged_file(job.path(), context);
        }
    }
}

// Policy "none" lets the i386 ABI through (the default policy kills it), so the set-id filter must
// judge open (5) and openat (295) of the i386 table too.
TEST(SetIdFilter, JudgesTheModeOfAnI386OpenUnderPolicyNone) {
    TempDir control(0755);
    const RunResult host =
        run_on_host({probe_on_host("open_mode_register"), control.path(), "i386"});
    ASSERT_EQ(host.exit_code, 0) << host.out << host.err;
    if (host.out == "i386 NO_ENTRY\n") {
        GTEST_SKIP() << "int 0x80 faults on this machine: it has no i386 syscall entry";
    }
    EXPECT_EQ(host.out, open_attempts_output("i386-", true));
    for (const Ownership ownership : {Ownership::directory, Ownership::sandbox}) {
        TempDir job(ownership == Ownership::sandbox && privileged() ? 0777 : 0755);
        const std::string context =
            "ownership " + std::string(sandbox::enum_to_name(ownership)) + ", policy none";
        const RunResult inside =
            run_sandboxed(with_job(job.path(), ownership, SyscallPolicy::none, 65534),
                          {probe_in_sandbox("open_mode_register"), "/job", "i386"});
        EXPECT_EQ(inside.exit_code, 0) << context << "\n" << inside.err;
        EXPECT_EQ(inside.out, open_attempts_output("i386-", false)) << context;
        expect_no_privileged_file(job.path(), context);
    }
}

// A listening unix socket at `path` that any uid may connect to.
sandbox::UniqueFd listen_at(const std::string& path) {
    sandbox::UniqueFd listener(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
    EXPECT_EQ(::bind(listener.get(), reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    EXPECT_EQ(::listen(listener.get(), 1), 0);
    EXPECT_EQ(::chmod(path.c_str(), 0777), 0);
    return listener;
}

// The next connection to `listener`, or none if nobody connects within the run timeout (a guard
// against a peer that failed before connecting, not a synchronisation).
sandbox::UniqueFd accept_from(int listener) {
    pollfd ready{listener, POLLIN, 0};
    const int timeout_ms = static_cast<int>(kRunTimeout.count()) * 1000;
    if (::poll(&ready, 1, timeout_ms) != 1) {
        return sandbox::UniqueFd();
    }
    return sandbox::UniqueFd(::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC));
}

// A descriptor and the text sent with it.
std::pair<sandbox::UniqueFd, std::string> receive_descriptor(int connection) {
    char data[64] = {};
    iovec part{data, sizeof data - 1};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
    msghdr message{};
    message.msg_iov = &part;
    message.msg_iovlen = 1;
    message.msg_control = control;
    message.msg_controllen = sizeof control;
    if (::recvmsg(connection, &message, MSG_CMSG_CLOEXEC) <= 0) {
        return {};
    }
    const cmsghdr* header = CMSG_FIRSTHDR(&message);
    if (header == nullptr || header->cmsg_type != SCM_RIGHTS) {
        return {};
    }
    int fd = -1;
    std::memcpy(&fd, CMSG_DATA(header), sizeof fd);
    return {sandbox::UniqueFd(fd), data};
}

void send_descriptor(int connection, int fd) {
    char data[] = "fd";
    iovec part{data, 2};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    msghdr message{};
    message.msg_iov = &part;
    message.msg_iovlen = 1;
    message.msg_control = control;
    message.msg_controllen = sizeof control;
    cmsghdr* header = CMSG_FIRSTHDR(&message);
    header->cmsg_level = SOL_SOCKET;
    header->cmsg_type = SCM_RIGHTS;
    header->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(header), &fd, sizeof fd);
    EXPECT_EQ(::sendmsg(connection, &message, MSG_NOSIGNAL), 2);
}

// Runs `receiver`, which connects to `socket_path`, and hands it `fd` there.
AttackRun hand_descriptor(int fd, const std::string& socket_path,
                          const std::function<AttackRun()>& receiver) {
    sandbox::UniqueFd listener = listen_at(socket_path);
    std::thread giver([&] {
        sandbox::UniqueFd connection = accept_from(listener.get());
        if (connection) {
            send_descriptor(connection.get(), fd);
        }
    });
    AttackRun run = receiver();
    giver.join();
    ::unlink(socket_path.c_str());
    return run;
}

std::function<void()> as_host_uid(uid_t uid) {
    return [uid] {
        if (::setgroups(0, nullptr) != 0 || ::setresgid(uid, uid, uid) != 0 ||
            ::setresuid(uid, uid, uid) != 0) {
            ::_exit(12);
        }
    };
}

// Sandbox A has a root-owned directory with ownership "directory" and passes a descriptor of it
// over a unix socket. Whoever holds the uid A's idmapped mount maps the owner to acts as the owner
// through that descriptor: before the fix that uid was 65534, shared by every default sandbox (B
// here) and host nobody, and B could make a set-user-id root file on the host (B has no rw bind,
// so no set-id filter). Now it is a uid reserved for A: the receivers as 65534 are refused, and
// the control, a host process as A's reserved uid, shows the same steps work for that uid.
TEST(OwnershipPassedDescriptor, GivesNoOtherSandboxTheOwnersRights) {
    if (!privileged()) {
        GTEST_SKIP() << "idmapped mounts need root resin";
    }
    TempDir dir(0755);  // root's
    const std::string from_a = dir.path() + "/a.sock";
    sandbox::UniqueFd a_listener = listen_at(from_a);
    // A under its own resin, as the resin CLI runs it. Not Sandbox::launch on a thread of this
    // test: B's launch (a raw clone3 whose child runs on, allocating) would then race that
    // thread, and B's init was seen stuck on a futex (a lock held by the other thread).
    const nlohmann::json a_config = {
        {"extends", "default"},
        {"filesystem",
         {{"mounts",
           {{{"path", "/job"},
             {"source", dir.path()},
             {"access", "rw"},
             {"ownership", "directory"}},
            {{"path", kAttacksInSandbox}, {"source", RESIN_ATTACKS_DIR}}}}}}};
    TempDir configs;
    write_file(configs.path() + "/a.json", a_config.dump());
    CommandResult a;
    std::thread sandbox_a([&] {
        a = run_resin({"--config", configs.path() + "/a.json", "--",
                       std::string(kAttacksInSandbox) + "/passed_dir_fd", "send", "/job",
                       "/job/a.sock"});
    });
    sandbox::UniqueFd connection = accept_from(a_listener.get());
    auto [descriptor, text] = connection ? receive_descriptor(connection.get())
                                         : std::pair<sandbox::UniqueFd, std::string>{};
    if (!descriptor) {
        connection.reset();
        sandbox_a.join();
        FAIL() << "sandbox A passed no descriptor: " << a.out << a.err;
    }
    const uid_t a_uid = static_cast<uid_t>(std::stoul(text.substr(text.find(' ') + 1)));
    EXPECT_GE(a_uid, sandbox::NamespaceOwner::kFirstUid) << text;
    EXPECT_LT(a_uid, sandbox::NamespaceOwner::kFirstUid + sandbox::NamespaceOwner::kUidCount);
    const std::string evil = dir.path() + "/evil";
    const std::string created = dir.path() + "/created";

    sandbox::Config b = default_profile();
    sandbox::BindMount shared;
    shared.path = "/shared";
    shared.source = dir.path();
    b.filesystem.mounts.push_back(shared);
    for (const std::string method : {"chmod", "create"}) {
        const AttackRun nobody = hand_descriptor(descriptor.get(), dir.path() + "/b.sock", [&] {
            return attack_on_host("passed_dir_fd", {"use", dir.path() + "/b.sock", method},
                                  as_host_uid(65534));
        });
        EXPECT_EQ(nobody.verdict, "DENIED")
            << "host uid 65534, " << method << ": " << describe(nobody);
        const AttackRun sandbox_b = hand_descriptor(descriptor.get(), dir.path() + "/b.sock", [&] {
            return attack_in_sandbox(b, "passed_dir_fd", {"use", "/shared/b.sock", method});
        });
        EXPECT_EQ(sandbox_b.verdict, "DENIED")
            << "sandbox B, " << method << ": " << describe(sandbox_b);
    }
    struct stat info {};
    ASSERT_EQ(::lstat(evil.c_str(), &info), 0);
    EXPECT_EQ(info.st_mode & (S_ISUID | S_ISGID), 0u) << std::oct << info.st_mode;
    EXPECT_NE(::access(created.c_str(), F_OK), 0);

    // The control: A's own host uid, through the same descriptor, is the owner.
    for (const std::string method : {"chmod", "create"}) {
        const AttackRun owner = hand_descriptor(descriptor.get(), dir.path() + "/b.sock", [&] {
            return attack_on_host("passed_dir_fd", {"use", dir.path() + "/b.sock", method},
                                  as_host_uid(a_uid));
        });
        EXPECT_EQ(owner.verdict, "SUCCEEDED")
            << "control, uid " << a_uid << ", " << method << ": " << describe(owner);
    }
    ASSERT_EQ(::lstat(evil.c_str(), &info), 0);
    EXPECT_EQ(info.st_mode & 07777, S_ISUID | 0755u) << "control: a set-user-id file of...";
    EXPECT_EQ(info.st_uid, 0u) << "...host root";
    ASSERT_EQ(::lstat(created.c_str(), &info), 0);
    EXPECT_EQ(info.st_uid, 0u);

    descriptor.reset();
    connection.reset();  // A sees the hang-up and exits
    sandbox_a.join();
    EXPECT_EQ(a.out, "ATTACK passed_dir_fd SUCCEEDED sent\n") << a.err;
    EXPECT_EQ(a.exit_code, 0) << a.err;
    ::chmod(evil.c_str(), 0755);
}

}  // namespace
}  // namespace resin::test
