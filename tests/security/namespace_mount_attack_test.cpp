// The default profile against namespace creation and the mount family, old and new API: each
// attack first works on the host, then is killed in the sandbox, named.
#include <gtest/gtest.h>

#include "security/attack_run.hpp"

namespace resin::test {
namespace {

TEST(DefaultProfile, NamespaceCreationByUnshareIsKilled) {
    expect_default_profile_kills("unshare_user_namespace", "unshare");
}

TEST(DefaultProfile, NamespaceCreationByCloneIsKilled) {
    expect_default_profile_kills("clone_namespaces", "clone");
}

// clone3's flags are behind a pointer the filter cannot read, so it answers ENOSYS (and glibc
// falls back to clone, whose flags it can read) instead of killing every program that starts a
// thread.
TEST(DefaultProfile, Clone3AnswersEnosysSoLibcFallsBackToClone) {
    expect_works_on_host(attack_on_host("clone3_namespaces"));
    if (should_stop()) {
        return;
    }
    expect_denied_with(attack_in_sandbox(default_profile(), "clone3_namespaces"), "ENOSYS");
}

TEST(DefaultProfile, JoiningANamespaceIsKilled) {
    expect_default_profile_kills("setns", "setns");
}

TEST(DefaultProfile, MountIsKilled) {
    expect_default_profile_kills("mount", "mount", {kScratchDir});
}

TEST(DefaultProfile, UnmountIsKilled) {
    expect_default_profile_kills("umount2", "umount2", {kScratchDir});
}

TEST(DefaultProfile, NewMountApiFsopenIsKilled) {
    expect_default_profile_kills("fsopen", "fsopen");
}

TEST(DefaultProfile, NewMountApiFsconfigIsKilled) {
    expect_default_profile_kills("fsconfig", "fsconfig");
}

TEST(DefaultProfile, NewMountApiFsmountIsKilled) {
    expect_default_profile_kills("fsmount", "fsmount");
}

TEST(DefaultProfile, NewMountApiFspickIsKilled) {
    expect_default_profile_kills("fspick", "fspick");
}

TEST(DefaultProfile, NewMountApiMoveMountIsKilled) {
    expect_default_profile_kills("move_mount", "move_mount", {kScratchDir});
}

TEST(DefaultProfile, NewMountApiOpenTreeIsKilled) {
    expect_default_profile_kills("open_tree", "open_tree");
}

TEST(DefaultProfile, NewMountApiMountSetattrIsKilled) {
    expect_default_profile_kills("mount_setattr", "mount_setattr");
}

// A harmless probe on the host: the real pivot_root would swap the host's root.
TEST(DefaultProfile, PivotRootIsKilled) {
    expect_default_profile_kills("pivot_root", "pivot_root");
}

TEST(DefaultProfile, ChrootIsKilled) {
    expect_default_profile_kills("chroot", "chroot", {kScratchDir});
}

TEST(DefaultProfile, DoubleChrootBreakoutIsKilled) {
    expect_default_profile_kills("double_chroot", "chroot", {kScratchDir});
}

}  // namespace
}  // namespace resin::test
