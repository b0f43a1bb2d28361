// Ownership of what a sandbox writes into an rw bind, through the resin executable: with ownership
// "directory" it belongs on the host to the directory's owner and group, whoever the sandbox's
// user is; where that cannot be honoured resin refuses, naming the mount.
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <vector>

#include "support/command_runner.hpp"
#include "support/sandbox_run.hpp"
#include "support/temp_dir.hpp"

namespace resin::test {
namespace {

using nlohmann::json;

json job_mount(const std::string& source, const std::string& path,
               const std::string& ownership = "directory", const std::string& access = "rw") {
    return {{"path", path}, {"source", source}, {"access", access}, {"ownership", ownership}};
}

class MountOwnership : public testing::Test {
  protected:
    // `resin --config FILE -- sh -c SCRIPT` under `profile` with `mounts` added.
    CommandResult run(const json& mounts, const std::string& script,
                      const std::string& profile = "default", const json& extra = json::object()) {
        json config = {{"extends", profile}, {"filesystem", {{"mounts", mounts}}}};
        config.merge_patch(extra);
        write_file(configs_ / "config.json", config.dump());
        return run_resin({"--config", configs_ / "config.json", "--", "/bin/sh", "-c", script});
    }

    static struct stat stat_of(const std::string& path) {
        struct stat info {};
        EXPECT_EQ(::lstat(path.c_str(), &info), 0) << path;
        return info;
    }

    static void expect_owned_by(const std::string& path, uid_t uid, gid_t gid) {
        const struct stat info = stat_of(path);
        EXPECT_EQ(info.st_uid, uid) << path;
        EXPECT_EQ(info.st_gid, gid) << path;
    }

    // Whether resin refuses ownership "directory" here because the temp directories' filesystem
    // cannot be idmapped (tmpfs before Linux 6.3): then that refusal, naming the mount, is all a
    // test of ownership "directory" can check.
    bool idmap_refused_here() {
        TempDir probe(0755);
        const CommandResult result = run(json::array({job_mount(probe.path(), "/job")}), "true");
        if (result.exit_code == 0) {
            return false;
        }
        EXPECT_NE(result.err.find("/ownership: ownership \"directory\": the filesystem of"),
                  std::string::npos)
            << result.err;
        EXPECT_NE(result.err.find("cannot be idmapped"), std::string::npos) << result.err;
        return true;
    }

    TempDir configs_;
};

// A test of what an idmapped mount does, where this host's temp filesystem refuses one.
#define SKIP_WHERE_IDMAP_IS_REFUSED()                                                         \
    if (idmap_refused_here()) {                                                               \
        GTEST_SKIP() << "the temp directories' filesystem cannot be idmapped on this kernel " \
                        "(refused, naming the mount)";                                        \
    }

TEST_F(MountOwnership, RootOwnedDirectoryStaysRootsAndIsWritable) {
    if (!privileged()) {
        GTEST_SKIP() << "a directory of another owner needs root to make and to map";
    }
    SKIP_WHERE_IDMAP_IS_REFUSED();
    TempDir job(0755);  // root's
    const CommandResult control =
        run(json::array({job_mount(job.path(), "/job", "sandbox")}), "echo x > /job/out");
    ASSERT_NE(control.exit_code, 0) << "control: the sandbox's uid cannot write root's directory";
    EXPECT_NE(control.err.find("Permission denied"), std::string::npos) << control.err;

    const CommandResult first = run(json::array({job_mount(job.path(), "/job")}),
                                    "echo x > /job/out && mkdir /job/sub && printf y > /job/sub/f"
                                    " && stat -c '%u %g' /job/out");
    ASSERT_EQ(first.exit_code, 0) << first.err;
    EXPECT_EQ(first.out, "65534 65534\n") << "inside, the sandbox's user owns it";
    EXPECT_EQ(read_file(job / "out"), "x\n");
    EXPECT_EQ(read_file(job / "sub/f"), "y");
    expect_owned_by(job / "out", 0, 0);
    expect_owned_by(job / "sub", 0, 0);
    expect_owned_by(job / "sub/f", 0, 0);

    // Every time: a second sandbox on the same directory finds and extends the same files.
    const CommandResult again =
        run(json::array({job_mount(job.path(), "/job")}), "echo z >> /job/out && rm /job/sub/f");
    ASSERT_EQ(again.exit_code, 0) << again.err;
    EXPECT_EQ(read_file(job / "out"), "x\nz\n");
    expect_owned_by(job / "out", 0, 0);
    EXPECT_NE(::access((job / "sub/f").c_str(), F_OK), 0);
}

TEST_F(MountOwnership, UserOwnedDirectoryStaysTheUsers) {
    SKIP_WHERE_IDMAP_IS_REFUSED();
    TempDir job(0755);
    // As root a directory of uid 1000; unprivileged this user's own (no idmap needed).
    const uid_t owner = privileged() ? 1000 : ::geteuid();
    const gid_t group = privileged() ? 1001 : ::getegid();
    ASSERT_EQ(::chown(job.path().c_str(), owner, group), 0);
    const CommandResult result =
        run(json::array({job_mount(job.path(), "/job")}), "printf 'bytes\\n' > /job/out");
    ASSERT_EQ(result.exit_code, 0) << result.err;
    EXPECT_EQ(read_file(job / "out"), "bytes\n");
    expect_owned_by(job / "out", owner, group);
}

TEST_F(MountOwnership, TwoDirectoriesOfDifferentOwnersInOneSandbox) {
    if (!privileged()) {
        GTEST_SKIP() << "a directory of another owner needs root to make and to map";
    }
    SKIP_WHERE_IDMAP_IS_REFUSED();
    TempDir roots(0755);
    TempDir users(0755);
    ASSERT_EQ(::chown(users.path().c_str(), 1000, 1001), 0);
    const CommandResult result =
        run(json::array({job_mount(roots.path(), "/a"), job_mount(users.path(), "/b")}),
            "echo a > /a/out && echo b > /b/out");
    ASSERT_EQ(result.exit_code, 0) << result.err;
    EXPECT_EQ(read_file(roots / "out"), "a\n");
    EXPECT_EQ(read_file(users / "out"), "b\n");
    expect_owned_by(roots / "out", 0, 0);
    expect_owned_by(users / "out", 1000, 1001);
}

TEST_F(MountOwnership, TrustedProfileAsUidZeroWritesTheJobDirectoryOnly) {
    if (!privileged()) {
        GTEST_SKIP() << "a directory of another owner needs root to make and to map";
    }
    SKIP_WHERE_IDMAP_IS_REFUSED();
    TempDir job(0755);
    TempDir elsewhere(0755);  // root's, reached through trusted's "/" bind, ownership "sandbox"
    const CommandResult result = run(json::array({job_mount(job.path(), job.path())}),
                                     "id -u; echo t > " + (job / "out") + "; echo refused > " +
                                         (elsewhere / "out") + " || echo refused",
                                     "trusted", {{"identity", {{"uid", 0}, {"gid", 0}}}});
    ASSERT_EQ(result.exit_code, 0) << result.err;
    EXPECT_EQ(result.out, "0\nrefused\n") << result.err;
    EXPECT_EQ(read_file(job / "out"), "t\n");
    expect_owned_by(job / "out", 0, 0);
    EXPECT_NE(::access((elsewhere / "out").c_str(), F_OK), 0);
}

TEST_F(MountOwnership, OtherOwnersFilesAppearUnmappedAndStayTheirs) {
    if (!privileged()) {
        GTEST_SKIP() << "a directory of another owner needs root to make and to map";
    }
    SKIP_WHERE_IDMAP_IS_REFUSED();
    TempDir job(0755);
    write_file(job / "theirs", "theirs\n", 0644);
    ASSERT_EQ(::chown((job / "theirs").c_str(), 1234, 1234), 0);
    const CommandResult result = run(json::array({job_mount(job.path(), "/job")}),
                                     "stat -c '%u %g' /job/theirs; echo no >> /job/theirs || "
                                     "echo refused; chown 65534 /job/theirs || echo refused");
    ASSERT_EQ(result.exit_code, 0) << result.err;
    EXPECT_EQ(result.out, "65534 65534\nrefused\nrefused\n") << result.err;
    EXPECT_EQ(read_file(job / "theirs"), "theirs\n");
    expect_owned_by(job / "theirs", 1234, 1234);
}

TEST_F(MountOwnership, RefusedWhereItCannotBeHonoured) {
    TempDir shared(0777);
    TempDir job(0755);
    write_file(job / "linked", "");
    ASSERT_EQ(::link((job / "linked").c_str(), (job / "other-name").c_str()), 0);
    struct Case {
        json mounts;
        json extra;
        std::string message;
    };
    std::vector<Case> cases = {
        {json::array({job_mount(job.path(), "/job", "directory", "ro")}), json::object(),
         "is for a mount with access \"rw\""},
        {json::array({job_mount(shared.path(), "/job")}), json::object(),
         "is writable by every user"},
        {json::array({job_mount(job / "linked", "/linked")}), json::object(),
         "has other hard links"},
    };
    if (privileged()) {
        cases.push_back({json::array({job_mount(job.path(), "/job")}),
                         {{"capabilities", {"CAP_SETFCAP"}}},
                         "CAP_SETFCAP cannot be kept"});
        cases.push_back({json::array({job_mount(job.path(), "/job")}),
                         {{"capabilities", {"CAP_FSETID"}}},
                         "CAP_FSETID cannot be kept"});
    } else {
        cases.push_back({json::array({job_mount("/etc", "/job")}), json::object(),
                         "only root resin can map ownership"});
    }
    for (const Case& refused : cases) {
        const CommandResult result = run(refused.mounts, "echo ran", "default", refused.extra);
        EXPECT_NE(result.exit_code, 0) << refused.mounts;
        EXPECT_EQ(result.out, "") << refused.mounts;
        EXPECT_NE(result.err.find(refused.message), std::string::npos) << result.err;
        const bool names_the_mount = result.err.find("/filesystem/mounts/") != std::string::npos ||
                                     result.err.find("/capabilities") != std::string::npos;
        EXPECT_TRUE(names_the_mount) << result.err;
    }
}

// A symbolic link anywhere in the source path would let whoever can write its directory hand the
// sandbox another directory as its owner: /tmp/job42 -> /etc gives it /etc as root. The control
// shows where each link leads on the host, and what binding that target itself gives the sandbox;
// through the link resin refuses, naming the source, and writes nothing.
TEST_F(MountOwnership, SymbolicLinkInTheSourcePathIsRefused) {
    if (!privileged()) {
        GTEST_SKIP() << "a directory of another owner needs root to make and to map";
    }
    SKIP_WHERE_IDMAP_IS_REFUSED();
    TempDir victim(0755);  // root's, standing for /etc
    TempDir jobs(0755);
    ASSERT_EQ(::mkdir((jobs / "real").c_str(), 0755), 0);
    ASSERT_EQ(::symlink(victim.path().c_str(), (jobs / "job42").c_str()), 0);     // last
    ASSERT_EQ(::symlink(victim.path().c_str(), (jobs / "real/cfg").c_str()), 0);  // last, deeper
    ASSERT_EQ(::symlink((jobs / "real").c_str(), (jobs / "middle").c_str()), 0);  // a middle one
    ASSERT_EQ(::symlink((jobs / "job42").c_str(), (jobs / "chain").c_str()), 0);  // a chain
    const std::vector<std::string> through_links = {jobs / "job42", jobs / "real/cfg",
                                                    jobs / "middle/cfg", jobs / "chain"};
    for (const std::string& source : through_links) {
        ASSERT_TRUE(std::filesystem::equivalent(source, victim.path())) << "control: " << source;
    }
    const CommandResult control =
        run(json::array({job_mount(victim.path(), "/job")}), "echo pwned > /job/cron");
    ASSERT_EQ(control.exit_code, 0) << "control: the target itself is handed over" << control.err;
    expect_owned_by(victim / "cron", 0, 0);
    ASSERT_EQ(::unlink((victim / "cron").c_str()), 0);

    for (const std::string& source : through_links) {
        const CommandResult result =
            run(json::array({job_mount(source, "/job")}), "echo pwned > /job/cron; echo ran");
        EXPECT_NE(result.exit_code, 0) << source;
        EXPECT_EQ(result.out, "") << source;
        EXPECT_NE(result.err.find("/source: ownership \"directory\": " + source +
                                  " has a symbolic link in its path"),
                  std::string::npos)
            << result.err;
        EXPECT_NE(::access((victim / "cron").c_str(), F_OK), 0) << source;
    }
}

// The host's root is refused by what it is, not by how it is spelt: here through a bind mount of
// it, the same directory (the control) at another path.
TEST_F(MountOwnership, HostRootIsRefusedWhateverItsPath) {
    if (!privileged()) {
        GTEST_SKIP() << "bind-mounting / takes root";
    }
    TempDir other(0755);
    ASSERT_EQ(::mount("/", other.path().c_str(), nullptr, MS_BIND, nullptr), 0);
    EXPECT_TRUE(std::filesystem::equivalent(other.path(), "/")) << "control";
    const CommandResult via_bind = run(json::array({job_mount(other.path(), "/job")}), "echo ran");
    const CommandResult by_name = run(json::array({job_mount("/", "/job")}), "echo ran");
    ::umount2(other.path().c_str(), MNT_DETACH);
    for (const CommandResult& result : {via_bind, by_name}) {
        EXPECT_NE(result.exit_code, 0);
        EXPECT_EQ(result.out, "");
        EXPECT_NE(result.err.find("cannot be given to the host's root directory"),
                  std::string::npos)
            << result.err;
    }
}

// A filesystem mounted below the source is not the directory's owner's to hand over: it is not
// carried into the sandbox (the control: ownership "sandbox" carries it), and nothing the sandbox
// writes reaches it.
TEST_F(MountOwnership, FilesystemsMountedBelowTheSourceAreNotCarried) {
    if (!privileged()) {
        GTEST_SKIP() << "mounting takes root";
    }
    SKIP_WHERE_IDMAP_IS_REFUSED();
    TempDir job(0755);
    ASSERT_EQ(::mkdir((job / "sub").c_str(), 0755), 0);
    ASSERT_EQ(::mount("none", (job / "sub").c_str(), "tmpfs", 0, "mode=0755"), 0);
    write_file(job / "sub/marker", "below\n");
    const CommandResult control =
        run(json::array({job_mount(job.path(), "/job", "sandbox", "ro")}), "cat /job/sub/marker");
    const CommandResult result = run(json::array({job_mount(job.path(), "/job")}),
                                     "ls -A /job/sub; echo x > /job/sub/new && echo written");
    const bool written_to_tmpfs = ::access((job / "sub/new").c_str(), F_OK) == 0;
    const std::string marker = read_file(job / "sub/marker");
    ::umount2((job / "sub").c_str(), MNT_DETACH);
    EXPECT_EQ(control.out, "below\n") << "control: " << control.err;
    ASSERT_EQ(result.exit_code, 0) << result.err;
    EXPECT_EQ(result.out, "written\n") << "the directory below, not the tmpfs";
    EXPECT_FALSE(written_to_tmpfs);
    EXPECT_EQ(marker, "below\n");
    EXPECT_EQ(read_file(job / "sub/new"), "x\n");
    expect_owned_by(job / "sub/new", 0, 0);
}

// ramfs has no idmapped mounts (no FS_ALLOW_IDMAP): refused, naming the mount, before anything
// runs.
TEST_F(MountOwnership, FilesystemWithoutIdmapIsRefused) {
    if (!privileged()) {
        GTEST_SKIP() << "a directory of another owner needs root to make and to map";
    }
    TempDir job(0755);
    ASSERT_EQ(::mount("none", job.path().c_str(), "ramfs", 0, "mode=0755"), 0);
    const CommandResult result =
        run(json::array({job_mount(job.path(), "/job")}), "echo ran > /job/out; echo ran");
    ::umount2(job.path().c_str(), MNT_DETACH);
    EXPECT_NE(result.exit_code, 0);
    EXPECT_EQ(result.out, "");
    EXPECT_NE(
        result.err.find("/ownership: ownership \"directory\": the filesystem of " + job.path()),
        std::string::npos)
        << result.err;
}

TEST_F(MountOwnership, CheckConfigShowsIt) {
    TempDir job(0755);
    json config = {{"extends", "default"},
                   {"filesystem", {{"mounts", json::array({job_mount(job.path(), "/job")})}}}};
    write_file(configs_ / "config.json", config.dump());
    const CommandResult result = run_resin({"--check-config", configs_ / "config.json"});
    ASSERT_EQ(result.exit_code, 0) << result.err;
    EXPECT_NE(result.out.find("\"ownership\": \"directory\""), std::string::npos) << result.out;

    config["filesystem"]["mounts"][0]["ownership"] = "host";
    write_file(configs_ / "config.json", config.dump());
    const CommandResult unknown = run_resin({"--check-config", configs_ / "config.json"});
    EXPECT_NE(unknown.exit_code, 0);
    EXPECT_NE(unknown.err.find("/ownership"), std::string::npos) << unknown.err;
}

}  // namespace
}  // namespace resin::test
