#include "security/attack_run.hpp"

#include <gtest/gtest.h>

#include <sstream>
#include <variant>

#include "config/profile_loader.hpp"
#include "support/temp_dir.hpp"

namespace resin::test {
namespace {

sandbox::BindMount read_only(const std::string& path, const std::string& source) {
    sandbox::BindMount mount;
    mount.path = path;
    mount.source = source;
    mount.access = sandbox::Access::ro;
    return mount;
}

Argv with_scratch_dir(const Argv& args, const std::string& dir) {
    Argv result = args;
    for (auto& arg : result) {
        if (arg == kScratchDir) {
            arg = dir;
        }
    }
    return result;
}

AttackRun parse(const std::string& name, RunResult run) {
    AttackRun attack{std::move(run), "", ""};
    const std::string prefix = "ATTACK " + name + " ";
    std::istringstream lines(attack.run.out);
    for (std::string line; std::getline(lines, line);) {
        if (line.rfind(prefix, 0) == 0) {
            const std::string rest = line.substr(prefix.size());
            const auto space = rest.find(' ');
            attack.verdict = rest.substr(0, space);
            attack.detail = space == std::string::npos ? "" : rest.substr(space + 1);
        }
    }
    return attack;
}

}  // namespace

sandbox::Config default_profile() {
    const std::string config_dir = std::string(RESIN_SOURCE_DIR) + "/config";
    const auto search_path = sandbox::make_search_path("", std::nullopt, config_dir);
    auto loaded = sandbox::load_config_file(config_dir + "/default.json", search_path);
    if (const auto* errors = std::get_if<std::vector<sandbox::ConfigError>>(&loaded)) {
        ADD_FAILURE() << "config/default.json: " << errors->front().message;
        return {};
    }
    sandbox::Config config = std::get<sandbox::LoadedConfig>(loaded).config;
    config.filesystem.mounts.push_back(read_only(kAttacksInSandbox, RESIN_ATTACKS_DIR));
    config.filesystem.mounts.push_back(read_only(kProbesInSandbox, RESIN_PROBES_DIR));
    return config;
}

AttackRun attack_on_host(const std::string& name, const Argv& args,
                         const std::function<void()>& in_child) {
    TempDir scratch(0700);
    Argv argv{std::string(RESIN_ATTACKS_DIR) + "/" + name};
    for (const auto& arg : with_scratch_dir(args, scratch.path())) {
        argv.push_back(arg);
    }
    return parse(name, run_on_host(argv, in_child));
}

namespace {

Argv sandboxed_argv(const std::string& name, const Argv& args) {
    Argv argv{std::string(kAttacksInSandbox) + "/" + name};
    for (const auto& arg : with_scratch_dir(args, "/tmp")) {
        argv.push_back(arg);
    }
    return argv;
}

}  // namespace

AttackRun attack_in_sandbox(const sandbox::Config& config, const std::string& name,
                            const Argv& args) {
    return parse(name, run_sandboxed(config, sandboxed_argv(name, args)));
}

AttackRun attack_in_sandbox_on(const sandbox::HostCapabilities& host, const sandbox::Config& config,
                               const std::string& name, const Argv& args) {
    auto launched = launch(config, sandboxed_argv(name, args), host);
    if (!launched) {
        ADD_FAILURE() << "launching " << name << ": " << launched.error().message;
        return {};
    }
    return parse(name, finish(launched.value()));
}

std::string probe_on_host(const std::string& name) {
    return std::string(RESIN_PROBES_DIR) + "/" + name;
}

std::string probe_in_sandbox(const std::string& name) {
    return std::string(kProbesInSandbox) + "/" + name;
}

std::string describe(const AttackRun& attack) {
    std::ostringstream text;
    text << "verdict '" << attack.verdict << " " << attack.detail << "', exit "
         << attack.run.exit_code << ", signal " << attack.run.signal << ", reason "
         << sandbox::to_string(attack.run.report.reason) << " '" << attack.run.report.detail << "'";
    if (!attack.run.err.empty()) {
        text << ", stderr: " << attack.run.err;
    }
    return text.str();
}

void expect_works_on_host(const AttackRun& attack, KernelMayLack lack) {
    if (attack.verdict == "SUCCEEDED" || attack.verdict == "REACHABLE") {
        return;
    }
    if (attack.verdict == "NO_ENTRY") {
        GTEST_SKIP() << "this machine cannot make the attack's syscall at all: " << attack.detail;
    }
    if (attack.verdict == "UNSUPPORTED" && lack == KernelMayLack::yes) {
        std::cout << "[   NOTE   ] this kernel lacks the syscall (" << attack.detail
                  << "): the sandbox must refuse it all the same\n";
        return;
    }
    if (!privileged() && (attack.verdict == "DENIED" || attack.verdict == "BROKEN")) {
        GTEST_SKIP() << "the control run needs privileges this user lacks: " << describe(attack);
    }
    ADD_FAILURE() << "the attack does not work even without the sandbox, so this test proves "
                     "nothing: "
                  << describe(attack);
}

void skip_without_i386_entry() {
    const AttackRun control = attack_on_host("i386_syscall");
    if (control.verdict == "NO_ENTRY") {
        GTEST_SKIP() << control.detail;
    }
}

bool should_stop() {
    return ::testing::Test::HasFailure() || ::testing::Test::IsSkipped();
}

void expect_killed_for(const AttackRun& attack, const std::string& syscall) {
    EXPECT_EQ(attack.run.report.reason, sandbox::ExitReason::seccomp) << describe(attack);
    EXPECT_EQ(attack.run.report.detail, syscall) << describe(attack);
    EXPECT_EQ(attack.verdict, "") << "the attack ran past the denied syscall: " << describe(attack);
}

void expect_denied_with(const AttackRun& attack, const std::string& error) {
    EXPECT_EQ(attack.verdict, error == "ENOSYS" ? "UNSUPPORTED" : "DENIED") << describe(attack);
    EXPECT_EQ(attack.detail, error) << describe(attack);
}

void expect_default_profile_kills(const std::string& name, const std::string& syscall,
                                  const Argv& args, KernelMayLack lack) {
    expect_works_on_host(attack_on_host(name, args), lack);
    if (should_stop()) {
        return;
    }
    expect_killed_for(attack_in_sandbox(default_profile(), name, args), syscall);
}

}  // namespace resin::test
