// Privileges inside the sandbox: every capability set empty unless the config names some, those
// kept only inside the sandbox's user namespace, securebits locked, no_new_privs set.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sstream>

#include "security/attack_run.hpp"
#include "support/temp_dir.hpp"

namespace resin::test {
namespace {

constexpr std::uint32_t kSandboxUid = 65534;

// The value of `field` ("CapEff:") in show_privileges' output.
std::string field_of(const std::string& report, const std::string& field) {
    std::istringstream lines(report);
    for (std::string line; std::getline(lines, line);) {
        if (line.rfind(field + "\t", 0) == 0) {
            return line.substr(field.size() + 1);
        }
    }
    return "(absent)";
}

RunResult show_privileges(const sandbox::Config& config) {
    return run_sandboxed(config, {probe_in_sandbox("show_privileges")});
}

TEST(Capabilities, AllFiveSetsAreEmpty) {
    const RunResult run = show_privileges(default_profile());
    ASSERT_EQ(run.exit_code, 0) << run.err;
    for (const char* set : {"CapInh:", "CapPrm:", "CapEff:", "CapBnd:", "CapAmb:"}) {
        EXPECT_EQ(field_of(run.out, set), "0000000000000000") << set << "\n" << run.out;
    }
}

TEST(Capabilities, NoNewPrivsIsSet) {
    const RunResult run = show_privileges(default_profile());
    EXPECT_EQ(field_of(run.out, "NoNewPrivs:"), "1") << run.out;
}

// SECBIT_NOROOT, SECBIT_NO_SETUID_FIXUP and SECBIT_NO_CAP_AMBIENT_RAISE, each with its lock, and
// SECBIT_KEEP_CAPS locked off: uid 0 inside gains nothing through execve or setuid.
TEST(Capabilities, SecurebitsAreLocked) {
    const RunResult run = show_privileges(default_profile());
    EXPECT_EQ(field_of(run.out, "Securebits:"), "ef") << run.out;

    expect_works_on_host(attack_on_host("unlock_securebits"));
    if (should_stop()) {
        return;
    }
    expect_denied_with(attack_in_sandbox(default_profile(), "unlock_securebits"), "EPERM");
}

// A named capability is in the command's permitted, effective and ambient sets (and nowhere else)
// and works where the sandbox's user namespace owns the object: CAP_NET_BIND_SERVICE binds port 80
// in the sandbox's own loopback network.
TEST(Capabilities, NamedCapabilityIsKept) {
    sandbox::Config config = default_profile();
    config.network.mode = sandbox::NetworkMode::loopback;
    const Argv bind_80 = {probe_in_sandbox("bind_port"), "80"};
    EXPECT_EQ(run_sandboxed(config, bind_80).out, "EACCES\n") << "control: not without it";

    config.capabilities = {"CAP_NET_BIND_SERVICE"};
    EXPECT_EQ(run_sandboxed(config, bind_80).out, "bound\n");
    const RunResult privileges = show_privileges(config);
    for (const char* set : {"CapPrm:", "CapEff:", "CapAmb:", "CapBnd:"}) {
        EXPECT_EQ(field_of(privileges.out, set), "0000000000000400") << set;  // bit 10
    }
    EXPECT_EQ(field_of(privileges.out, "CapInh:"), "0000000000000400");
}

// CAP_DAC_OVERRIDE overrides permissions only on files whose owner the sandbox's user namespace
// maps: its own uid's mode-000 file opens, the host root's mode-600 file does not.
TEST(Capabilities, NamedCapabilityHoldsOnlyInsideTheUserNamespace) {
    if (!privileged()) {
        GTEST_SKIP() << "giving files to root and to uid 65534 needs root";
    }
    TempDir dir(0755);
    write_file(dir / "sandbox-owned", "mine\n", 0);
    ASSERT_EQ(::chown((dir / "sandbox-owned").c_str(), kSandboxUid, kSandboxUid), 0);
    write_file(dir / "root-owned", "host secret\n", 0600);
    sandbox::Config config = default_profile();
    sandbox::BindMount mount;
    mount.path = "/files";
    mount.source = dir.path();
    config.filesystem.mounts.push_back(mount);
    const Argv cat = {"/bin/cat", "/files/sandbox-owned", "/files/root-owned"};

    const RunResult without = run_sandboxed(config, cat);
    EXPECT_EQ(without.out, "") << "control: neither opens without the capability";

    config.capabilities = {"CAP_DAC_OVERRIDE"};
    const RunResult with = run_sandboxed(config, cat);
    EXPECT_EQ(with.out, "mine\n");
    EXPECT_NE(with.err.find("root-owned: Permission denied"), std::string::npos) << with.err;
}

// CAP_SYS_TIME named (and settimeofday allowed): the clock is not namespaced, so the capability
// would have to be held in the host's user namespace, and is not.
TEST(Capabilities, NamedCapabilityDoesNotReachTheHostsClock) {
    expect_works_on_host(attack_on_host("settimeofday"));
    if (should_stop()) {
        return;
    }
    sandbox::Config config = default_profile();
    config.capabilities = {"CAP_SYS_TIME"};
    config.syscalls.allow = {"settimeofday"};
    expect_denied_with(attack_in_sandbox(config, "settimeofday"), "EPERM");
}

// CAP_SYS_ADMIN named (and mount allowed) owns the sandbox's mount namespace, yet cannot remount a
// read-only bind read-write: Landlock refuses every mount operation to a process it restricts, and
// the mount stays read-only.
TEST(Capabilities, NamedSysAdminCannotRemountAReadOnlyBindReadWrite) {
    TempDir dir(0777);
    sandbox::Config config = default_profile();
    sandbox::BindMount mount;
    mount.path = "/data";
    mount.source = dir.path();
    mount.access = sandbox::Access::ro;
    config.filesystem.mounts.push_back(mount);
    config.capabilities = {"CAP_SYS_ADMIN"};
    config.syscalls.allow = {"mount"};
    const RunResult run = run_sandboxed(config, {probe_in_sandbox("remount_and_write"), "/data"});
    EXPECT_EQ(run.out, "remount EPERM\nwrite EROFS\n") << run.err;
    struct stat info {};
    EXPECT_NE(::stat((dir / "written-by-the-sandbox").c_str(), &info), 0);
}

}  // namespace
}  // namespace resin::test
