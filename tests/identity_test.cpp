// Who the command is and what it may do: the configured uid, gid and hostname, never host root, no
// supplementary groups (as root), only the configured environment, its rlimits, no capabilities,
// no_new_privs.
#include <grp.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <sstream>

#include "support/sandbox_run.hpp"
#include "support/temp_dir.hpp"

namespace resin::test {
namespace {

using sandbox::Config;

const std::string kSh = "/bin/sh";
constexpr gid_t kOverflowId = 65534;  // what an id unmapped in a user namespace shows as

// The numbers after `field:` in the output of `grep ^field: /proc/self/status`.
std::vector<unsigned long> status_numbers(const std::string& out, int base = 10) {
    std::istringstream in(out.substr(out.find(':') + 1));
    std::vector<unsigned long> numbers;
    for (std::string word; in >> word;) {
        numbers.push_back(std::stoul(word, nullptr, base));
    }
    return numbers;
}

Argv status_field(const std::string& field) {
    return {"/bin/grep", "^" + field + ":", "/proc/self/status"};
}

// "<soft> <hard>" from the line of /proc/self/limits named `name`, e.g. "Max open files".
std::string limit(const std::string& limits, const std::string& name) {
    std::istringstream in(limits.substr(limits.find(name) + name.size()));
    std::string soft, hard;
    in >> soft >> hard;
    return soft + " " + hard;
}

// Sets an environment variable of this test process for its lifetime, then restores it.
class EnvScope {
  public:
    EnvScope(std::string name, const std::string& value) : name_(std::move(name)) {
        if (const char* saved = std::getenv(name_.c_str())) {
            saved_ = saved;
        }
        ::setenv(name_.c_str(), value.c_str(), 1);
    }
    ~EnvScope() {
        if (saved_) {
            ::setenv(name_.c_str(), saved_->c_str(), 1);
        } else {
            ::unsetenv(name_.c_str());
        }
    }
    EnvScope(const EnvScope&) = delete;
    EnvScope& operator=(const EnvScope&) = delete;

  private:
    std::string name_;
    std::optional<std::string> saved_;
};

// Gives this (root) test process supplementary groups for its lifetime.
class GroupsScope {
  public:
    explicit GroupsScope(const std::vector<gid_t>& groups) : saved_(NGROUPS_MAX) {
        saved_.resize(static_cast<std::size_t>(::getgroups(NGROUPS_MAX, saved_.data())));
        EXPECT_EQ(::setgroups(groups.size(), groups.data()), 0) << std::strerror(errno);
    }
    ~GroupsScope() { ::setgroups(saved_.size(), saved_.data()); }
    GroupsScope(const GroupsScope&) = delete;
    GroupsScope& operator=(const GroupsScope&) = delete;

  private:
    std::vector<gid_t> saved_;
};

TEST(Identity, UidGidAndHostnameAreTheConfiguredOnes) {
    const Argv who = {kSh, "-c", "id -u; id -g; cat /proc/sys/kernel/hostname"};
    const std::string expected = "1234\n2345\nresin-test-host\n";
    const RunResult host = run_on_host(who);
    ASSERT_EQ(host.exit_code, 0) << host.err;
    ASSERT_NE(host.out, expected) << "control: the host's identity differs";

    Config config = runnable_config();
    config.identity = {1234, 2345, "resin-test-host"};
    const RunResult inside = run_sandboxed(config, who);
    EXPECT_EQ(inside.out, expected) << inside.err;
}

TEST(Identity, SupplementaryGroupsAreDroppedAsRoot) {
    if (!privileged()) {
        // Unprivileged, the kernel forbids setgroups(2) in the user namespace: the sandbox keeps
        // exactly the caller's groups, each shown as the overflow gid unless it is the caller's
        // own gid (which is mapped to the configured one).
        std::vector<gid_t> groups(NGROUPS_MAX);
        groups.resize(static_cast<std::size_t>(::getgroups(NGROUPS_MAX, groups.data())));
        std::vector<unsigned long> expected;
        for (gid_t group : groups) {
            expected.push_back(group == ::getegid() ? runnable_config().identity.gid : kOverflowId);
        }
        const RunResult inside = run_sandboxed(runnable_config(), status_field("Groups"));
        ASSERT_EQ(inside.exit_code, 0) << inside.err;
        EXPECT_EQ(status_numbers(inside.out), expected) << inside.out;
        return;
    }
    GroupsScope groups({4242, 4343});
    const RunResult host = run_on_host(status_field("Groups"));
    ASSERT_EQ(status_numbers(host.out), (std::vector<unsigned long>{4242, 4343})) << host.out;

    const RunResult inside = run_sandboxed(runnable_config(), status_field("Groups"));
    ASSERT_EQ(inside.exit_code, 0) << inside.err;
    EXPECT_EQ(status_numbers(inside.out), std::vector<unsigned long>{}) << inside.out;
}

TEST(Identity, UidZeroInsideIsNeverHostRoot) {
    TempDir dir(0777);
    const RunResult host = run_on_host({"/bin/touch", dir / "by-host"});
    ASSERT_EQ(host.exit_code, 0) << host.err;
    struct stat info {};
    ASSERT_EQ(::stat((dir / "by-host").c_str(), &info), 0);
    ASSERT_EQ(info.st_uid, ::geteuid()) << "control: a file is owned by its creator's host uid";

    Config config = runnable_config();
    config.identity.uid = 0;
    config.identity.gid = 0;
    config.filesystem.mounts.push_back({"/data", dir.path(), sandbox::Access::rw, false});
    const RunResult inside = run_sandboxed(config, {kSh, "-c", "id -u && touch /data/by-sandbox"});
    ASSERT_EQ(inside.exit_code, 0) << inside.err;
    EXPECT_EQ(inside.out, "0\n");
    ASSERT_EQ(::stat((dir / "by-sandbox").c_str(), &info), 0);
    // Unprivileged, the only id the sandbox can be is the caller's own.
    EXPECT_EQ(info.st_uid, privileged() ? 65534u : ::geteuid());
    EXPECT_EQ(info.st_gid, privileged() ? 65534u : ::getegid());
    EXPECT_NE(info.st_uid, 0u);
}

TEST(Identity, EnvironmentIsCleared) {
    const std::string marker = "RESIN_TEST_MARKER=" + unique_token();
    EnvScope scope("RESIN_TEST_MARKER", marker.substr(marker.find('=') + 1));
    const RunResult host = run_on_host({"/usr/bin/env"});
    ASSERT_NE(host.out.find(marker + "\n"), std::string::npos) << "control: a child inherits it";

    const RunResult inside = run_sandboxed(runnable_config(), {"/usr/bin/env"});
    ASSERT_EQ(inside.exit_code, 0) << inside.err;
    EXPECT_EQ(inside.out.find("RESIN_TEST_MARKER"), std::string::npos) << inside.out;
}

TEST(Identity, KeptVariablePassesThroughAndSetOneIsAdded) {
    const std::string token = unique_token();
    EnvScope scope("RESIN_TEST_KEPT", token);
    Config config = runnable_config();
    config.env.keep = {"RESIN_TEST_KEPT"};
    config.env.set["RESIN_TEST_SET"] = "set-" + token;
    const RunResult inside = run_sandboxed(config, {"/usr/bin/env"});
    ASSERT_EQ(inside.exit_code, 0) << inside.err;
    EXPECT_EQ(inside.out, "RESIN_TEST_KEPT=" + token + "\nPATH=" + sandbox::kDefaultPath +
                              "\nRESIN_TEST_SET=set-" + token + "\n");
}

TEST(Identity, PathDefaultsWhenAClearedEnvironmentNamesNone) {
    const std::string own_path = "/resin-test-path:/usr/bin:/bin";
    EnvScope path("PATH", own_path);
    Config config = runnable_config();
    config.env.set.erase("PATH");
    config.env.keep = {"PATH"};
    const RunResult kept = run_sandboxed(config, {"/usr/bin/env"});
    ASSERT_EQ(kept.out, "PATH=" + own_path + "\n")
        << "control: a kept PATH is resin's; " << kept.err;

    config.env.keep.clear();
    const RunResult inside = run_sandboxed(config, {"/usr/bin/env"});
    EXPECT_EQ(inside.out, std::string("PATH=") + sandbox::kDefaultPath + "\n") << inside.err;
}

TEST(Identity, RlimitsAreTheConfiguredOnesAndCoreIsZero) {
    rlimit core{};
    ::getrlimit(RLIMIT_CORE, &core);
    const rlimit raised{core.rlim_max, core.rlim_max};
    ASSERT_EQ(::setrlimit(RLIMIT_CORE, &raised), 0);
    const RunResult host = run_on_host({"/bin/cat", "/proc/self/limits"});
    ::setrlimit(RLIMIT_CORE, &core);
    ASSERT_EQ(limit(host.out, "Max core file size").rfind("0 ", 0), std::string::npos)
        << "control: cores allowed; " << host.out;
    ASSERT_NE(limit(host.out, "Max open files"), "64 64");
    ASSERT_NE(limit(host.out, "Max file size"), "4096 4096");

    Config config = runnable_config();
    config.limits.open_files = 64;
    config.limits.file_size_bytes = 4096;
    const RunResult inside = run_sandboxed(config, {"/bin/cat", "/proc/self/limits"});
    ASSERT_EQ(inside.exit_code, 0) << inside.err;
    EXPECT_EQ(limit(inside.out, "Max open files"), "64 64");
    EXPECT_EQ(limit(inside.out, "Max file size"), "4096 4096");
    EXPECT_EQ(limit(inside.out, "Max core file size"),
              sandbox::probe_host().core_dumps_piped ? "1 1" : "0 0");
}

TEST(Identity, PipedCoreDumpsAreSkippedWithRlimitCoreOne) {
    // A core_pattern "|program" runs that program as host root whatever RLIMIT_CORE is, except 1.
    sandbox::HostCapabilities host = sandbox::probe_host();
    host.core_dumps_piped = false;
    auto plain = launch(runnable_config(), {"/bin/cat", "/proc/self/limits"}, host);
    ASSERT_TRUE(plain) << plain.error().message;
    const RunResult unpiped = finish(plain.value());
    ASSERT_EQ(limit(unpiped.out, "Max core file size"), "0 0") << "control: " << unpiped.err;

    host.core_dumps_piped = true;
    auto piped = launch(runnable_config(), {"/bin/cat", "/proc/self/limits"}, host);
    ASSERT_TRUE(piped) << piped.error().message;
    const RunResult inside = finish(piped.value());
    EXPECT_EQ(limit(inside.out, "Max core file size"), "1 1") << inside.err;
}

TEST(Identity, WritingPastTheFileSizeLimitFails) {
    const Argv write_8k = {kSh, "-c",
                           "head -c 8192 /dev/zero > /tmp/file; echo $?; wc -c < /tmp/file"};
    Config config = runnable_config();
    const RunResult unlimited = run_sandboxed(config, write_8k);
    ASSERT_EQ(unlimited.out, "0\n8192\n") << "control: without the limit; " << unlimited.err;

    config.limits.file_size_bytes = 4096;
    const RunResult limited = run_sandboxed(config, write_8k);
    EXPECT_EQ(limited.out, std::to_string(128 + SIGXFSZ) + "\n4096\n") << limited.err;
}

void expect_no_capabilities(const Config& config) {
    const RunResult inside = run_sandboxed(config, {"/bin/grep", "^Cap", "/proc/self/status"});
    ASSERT_EQ(inside.exit_code, 0) << inside.err;
    std::istringstream lines(inside.out);
    int sets = 0;
    for (std::string line; std::getline(lines, line); ++sets) {
        EXPECT_EQ(status_numbers(line, 16), std::vector<unsigned long>{0}) << line;
    }
    EXPECT_EQ(sets, 5) << "CapInh, CapPrm, CapEff, CapBnd, CapAmb";
}

TEST(Identity, CommandHasNoCapabilities) {
    const RunResult host = run_on_host(status_field("CapBnd"));
    ASSERT_NE(status_numbers(host.out, 16), std::vector<unsigned long>{0})
        << "control: " << host.out;
    expect_no_capabilities(runnable_config());
}

TEST(Identity, CommandHasNoCapabilitiesAsUidZero) {
    Config config = runnable_config();
    config.identity.uid = 0;
    config.identity.gid = 0;
    expect_no_capabilities(config);
}

TEST(Identity, NoNewPrivsIsSet) {
    const RunResult host = run_on_host(status_field("NoNewPrivs"));
    ASSERT_EQ(status_numbers(host.out), std::vector<unsigned long>{0}) << "control: " << host.out;
    const RunResult inside = run_sandboxed(runnable_config(), status_field("NoNewPrivs"));
    EXPECT_EQ(status_numbers(inside.out), std::vector<unsigned long>{1}) << inside.out;
}

}  // namespace
}  // namespace resin::test
