// The sandbox's filesystem: only what the config lists is visible, with the access it grants; the
// root, /dev and /proc/sys are resin's and read-only; and no mount lands outside the sandbox.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <iterator>
#include <set>
#include <sstream>

#include "support/sandbox_run.hpp"
#include "support/temp_dir.hpp"

namespace resin::test {
namespace {

using sandbox::Access;
using sandbox::BindMount;
using sandbox::Config;
using sandbox::ErrorKind;

const std::string kSh = "/bin/sh";

Config with_mount(const std::string& source, const std::string& path, Access access) {
    Config config = runnable_config();
    config.filesystem.mounts.push_back(BindMount{path, source, access, false});
    return config;
}

bool exists_on_host(const std::string& path) {
    struct stat info {};
    return ::lstat(path.c_str(), &info) == 0;
}

std::set<std::string> words(const std::string& text) {
    std::istringstream in(text);
    return {std::istream_iterator<std::string>(in), std::istream_iterator<std::string>()};
}

// The options of the mount at `target`, from /proc/self/mountinfo (fields 5 and 6).
Argv mount_options(const std::string& target) {
    return {kSh, "-c",
            "while read -r id parent dev root point options rest; do "
            "[ \"$point\" = " +
                target + " ] && echo $options; done < /proc/self/mountinfo"};
}

TEST(Mounts, FileOutsideTheMountsIsInvisible) {
    TempDir dir;
    write_file(dir / "secret", "host secret\n");
    const Argv read_secret = {"/bin/cat", dir / "secret"};
    const RunResult host = run_on_host(read_secret);
    ASSERT_EQ(host.out, "host secret\n") << host.err;
    const RunResult mounted =
        run_sandboxed(with_mount(dir.path(), dir.path(), Access::ro), read_secret);
    ASSERT_EQ(mounted.out, "host secret\n") << "control: visible once mounted; " << mounted.err;

    const RunResult inside = run_sandboxed(runnable_config(), read_secret);
    EXPECT_NE(inside.exit_code, 0);
    EXPECT_EQ(inside.out, "");
    EXPECT_NE(inside.err.find("No such file or directory"), std::string::npos) << inside.err;
}

TEST(Mounts, ReadOnlyMountIsUnwritable) {
    TempDir dir(0777);
    const Argv write = {kSh, "-c", "echo written > /data/file"};
    const RunResult rw = run_sandboxed(with_mount(dir.path(), "/data", Access::rw), write);
    ASSERT_EQ(rw.exit_code, 0) << "control: writable as rw; " << rw.err;
    ASSERT_EQ(::unlink((dir / "file").c_str()), 0);

    const RunResult ro = run_sandboxed(with_mount(dir.path(), "/data", Access::ro), write);
    EXPECT_NE(ro.exit_code, 0);
    EXPECT_NE(ro.err.find("Read-only file system"), std::string::npos) << ro.err;
    EXPECT_FALSE(exists_on_host(dir / "file"));
}

TEST(Mounts, ReadWriteMountWritesReachTheHost) {
    TempDir dir(0777);
    const RunResult rw = run_sandboxed(with_mount(dir.path(), "/data", Access::rw),
                                       {kSh, "-c", "echo written > /data/file"});
    ASSERT_EQ(rw.exit_code, 0) << rw.err;
    const RunResult host = run_on_host({"/bin/cat", dir / "file"});
    EXPECT_EQ(host.out, "written\n") << host.err;
}

TEST(Mounts, TmpfsIsWritableUpToItsSize) {
    Config config = runnable_config();
    config.filesystem.tmpfs.push_back({"/scratch", 256 << 10, {}});
    const auto write_kib = [](int kib) {
        return Argv{"/bin/dd", "if=/dev/zero", "of=/scratch/file", "bs=1024",
                    "count=" + std::to_string(kib)};
    };
    const RunResult fits = run_sandboxed(config, write_kib(128));
    ASSERT_EQ(fits.exit_code, 0) << "control: writable below its size; " << fits.err;

    const RunResult overflows = run_sandboxed(config, write_kib(512));
    EXPECT_NE(overflows.exit_code, 0);
    EXPECT_NE(overflows.err.find("No space left on device"), std::string::npos) << overflows.err;
}

TEST(Mounts, RootIsReadOnly) {
    const RunResult tmp = run_sandboxed(runnable_config(), {"/bin/mkdir", "/tmp/created"});
    ASSERT_EQ(tmp.exit_code, 0) << "control: the sandbox may create in its tmpfs; " << tmp.err;

    const RunResult root = run_sandboxed(runnable_config(), {"/bin/mkdir", "/created"});
    EXPECT_NE(root.exit_code, 0);
    EXPECT_NE(root.err.find("Read-only file system"), std::string::npos) << root.err;
}

TEST(Mounts, MergedUsrSymlinksAreRecreated) {
    const Argv read_link = {"/bin/readlink", "/bin"};
    const RunResult host = run_on_host(read_link);
    if (host.exit_code != 0) {
        GTEST_SKIP() << "/bin is not a symlink on this host (no merged /usr)";
    }
    const RunResult inside = run_sandboxed(runnable_config(), read_link);
    EXPECT_EQ(inside.exit_code, 0) << inside.err;
    EXPECT_EQ(inside.out, host.out);
}

TEST(Mounts, WorkingDirectoryIsApplied) {
    Config config = runnable_config();
    const RunResult default_cwd = run_sandboxed(config, {"/bin/pwd"});
    ASSERT_EQ(default_cwd.out, "/\n") << default_cwd.err;
    config.filesystem.cwd = "/tmp";
    const RunResult inside = run_sandboxed(config, {"/bin/pwd"});
    EXPECT_EQ(inside.out, "/tmp\n") << inside.err;
}

TEST(Mounts, DevHoldsOnlyTheHarmlessDevices) {
    const Argv list_dev = {"/bin/ls", "-A", "/dev"};
    const RunResult host = run_on_host(list_dev);
    ASSERT_EQ(host.exit_code, 0) << host.err;
    const std::set<std::string> allowed = {"fd",     "full",  "null",   "random",  "shm",
                                           "stderr", "stdin", "stdout", "urandom", "zero"};
    const std::set<std::string> on_host = words(host.out);
    EXPECT_FALSE(std::includes(allowed.begin(), allowed.end(), on_host.begin(), on_host.end()))
        << "control: the host's /dev has more";

    const RunResult inside = run_sandboxed(runnable_config(), list_dev);
    ASSERT_EQ(inside.exit_code, 0) << inside.err;
    EXPECT_EQ(words(inside.out), allowed);
    const RunResult null =
        run_sandboxed(runnable_config(), {kSh, "-c", "echo discarded > /dev/null"});
    EXPECT_EQ(null.exit_code, 0) << null.err;
}

TEST(Mounts, ProcSysIsReadOnly) {
    const RunResult proc = run_sandboxed(runnable_config(), mount_options("/proc"));
    ASSERT_EQ(proc.out.rfind("rw,", 0), 0u) << "control: /proc itself is writable; " << proc.out;

    const RunResult sys = run_sandboxed(runnable_config(), mount_options("/proc/sys"));
    EXPECT_EQ(sys.out.rfind("ro,", 0), 0u) << sys.out << sys.err;
}

TEST(Mounts, MissingSourceIsAnInvalidConfig) {
    TempDir dir;
    ASSERT_TRUE(try_run_sandboxed(with_mount(dir.path(), "/data", Access::ro), {"/bin/true"}))
        << "control: an existing source is accepted";

    Config config = with_mount(dir / "missing", "/data", Access::ro);
    const auto run = try_run_sandboxed(config, {"/bin/true"});
    ASSERT_FALSE(run);
    EXPECT_EQ(run.error().kind, ErrorKind::invalid_config);
    const std::size_t index = config.filesystem.mounts.size() - 1;
    EXPECT_EQ(run.error().pointer, "/filesystem/mounts/" + std::to_string(index) + "/source");
}

TEST(Mounts, OptionalMissingSourceIsSkipped) {
    TempDir dir;
    Config config = with_mount(dir / "missing", "/data", Access::ro);
    config.filesystem.mounts.back().optional = true;
    const RunResult run = run_sandboxed(config, {"/bin/ls", "/data"});
    EXPECT_NE(run.exit_code, 0);
    EXPECT_NE(run.err.find("No such file or directory"), std::string::npos) << run.err;
}

TEST(Mounts, MountingUnderProcOrDevIsRefused) {
    TempDir dir;
    ASSERT_TRUE(try_run_sandboxed(with_mount(dir.path(), "/srv/data", Access::ro), {"/bin/true"}))
        << "control: the same mount elsewhere is accepted";
    for (const std::string path : {"/proc/data", "/dev/data", "/proc", "/dev"}) {
        Config config = with_mount(dir.path(), path, Access::ro);
        const auto run = try_run_sandboxed(config, {"/bin/true"});
        ASSERT_FALSE(run) << path;
        EXPECT_EQ(run.error().kind, ErrorKind::invalid_config);
        const std::size_t index = config.filesystem.mounts.size() - 1;
        EXPECT_EQ(run.error().pointer, "/filesystem/mounts/" + std::to_string(index) + "/path");

        Config tmpfs = runnable_config();
        tmpfs.filesystem.tmpfs = {{path, 1 << 20, {}}};
        const auto tmpfs_run = try_run_sandboxed(tmpfs, {"/bin/true"});
        ASSERT_FALSE(tmpfs_run) << path;
        EXPECT_EQ(tmpfs_run.error().pointer, "/filesystem/tmpfs/0/path");
    }
}

// A bound host directory holds `evil -> <host dir>`, and a second mount targets a path through
// it. Resolved on the host, the mount point would be created in the host directory.
void expect_mount_target_stays_inside(const std::string& link_target) {
    TempDir dir;
    TempDir source;
    ASSERT_EQ(::symlink(link_target.c_str(), (dir / "evil").c_str()), 0);
    Config config = with_mount(dir.path(), "/work", Access::ro);
    config.filesystem.mounts.push_back(
        BindMount{"/work/evil/resin-escape-test", source.path(), Access::ro, false});
    const auto run = try_run_sandboxed(config, {"/bin/true"});
    EXPECT_FALSE(exists_on_host(link_target + "/resin-escape-test"))
        << (run ? "launched" : run.error().message);
}

TEST(Mounts, MountTargetCannotEscapeThroughASymlink) {
    // Control: followed on the host, the link leads into a directory the sandbox's uid may write.
    // Not under /tmp: while init builds the sandbox, its new root is attached over /tmp, which
    // would hide the victim from a mount point resolved on the host and so mask the escape.
    TempDir victim(0777, "/var/tmp");
    TempDir dir;
    ASSERT_EQ(::symlink(victim.path().c_str(), (dir / "evil").c_str()), 0);
    const RunResult host = run_on_host({"/bin/mkdir", dir / "evil/resin-escape-test"});
    ASSERT_EQ(host.exit_code, 0) << host.err;
    ASSERT_TRUE(exists_on_host(victim / "resin-escape-test"));
    ASSERT_EQ(::rmdir((victim / "resin-escape-test").c_str()), 0);

    expect_mount_target_stays_inside(victim.path());
}

// /etc is beyond the reach of the sandbox's host uid anyway; this guards the worst case.
TEST(Mounts, MountTargetCannotEscapeThroughASymlinkToEtc) {
    ASSERT_FALSE(exists_on_host("/etc/resin-escape-test")) << "left over from an earlier run";
    expect_mount_target_stays_inside("/etc");
}

}  // namespace
}  // namespace resin::test
