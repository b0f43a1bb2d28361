// A host directory bound rw outlives the sandbox, and on the host it is not nosuid: a file the
// sandbox leaves there with a set-id bit or file capabilities would let any host user run code as
// its owner. With ownership "directory" that owner is the directory's (host root for a root-owned
// job directory). Every way of making such a file is tried on the host (the control), then in a
// sandbox under the default policy and under policy "none", as uid 65534 and as uid 0, and the
// directory is then checked on the host.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <filesystem>

#include "sandbox/config_names.hpp"
#include "security/attack_run.hpp"
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

}  // namespace
}  // namespace resin::test
