// Ownership of what a sandbox writes into an rw bind, through the resin executable: with ownership
// "directory" it belongs on the host to the directory's owner and group, whoever the sandbox's
// user is; where that cannot be honoured resin refuses, naming the mount.
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

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

    TempDir configs_;
};

TEST_F(MountOwnership, RootOwnedDirectoryStaysRootsAndIsWritable) {
    if (!privileged()) {
        GTEST_SKIP() << "a directory of another owner needs root to make and to map";
    }
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
