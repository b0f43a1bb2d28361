// The command line: a command run with the caller's stdio, its exit status passed through, resin's
// own failures as one line and a distinct code, --report, --check-config, --features, --version.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "support/command_runner.hpp"
#include "support/configs.hpp"
#include "support/temp_dir.hpp"

namespace resin::test {
namespace {

class Cli : public testing::Test {
  protected:
    std::string config_file(const ConfigExtras& extras = {}) {
        write_file(dir_ / "config.json", default_profile_json(extras));
        return dir_ / "config.json";
    }
    std::string write(const std::string& name, const std::string& contents) {
        write_file(dir_ / name, contents);
        return dir_ / name;
    }
    TempDir dir_;
};

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream stream(text);
    for (std::string line; std::getline(stream, line);) {
        lines.push_back(line);
    }
    return lines;
}

// resin's own failure: exactly one line, "resin: ...".
void expect_one_failure_line(const CommandResult& result) {
    const auto lines = lines_of(result.err);
    ASSERT_EQ(lines.size(), 1u) << result.err;
    EXPECT_TRUE(lines[0].starts_with("resin: ")) << lines[0];
}

TEST_F(Cli, TheCommandUsesTheCallersStdoutAndStderr) {
    const auto result =
        run_resin({"--config", config_file(), "/bin/sh", "-c", "echo out; echo err >&2"});
    EXPECT_EQ(result.exit_code, 0);
    EXPECT_EQ(result.out, "out\n");
    EXPECT_EQ(result.err, "err\n");
}

TEST_F(Cli, TheCommandsExitCodeBecomesResinsExitCode) {
    EXPECT_EQ(run_resin({"--config", config_file(), "--", "/bin/sh", "-c", "exit 7"}).exit_code, 7);
    EXPECT_EQ(run_resin({"--config", config_file(), "/bin/true"}).exit_code, 0);
}

TEST_F(Cli, ArgumentsAfterTheCommandPassThroughUntouched) {
    const auto result = run_resin({"--config", config_file(), "/bin/sh", "-c", "echo \"$@\"", "sh",
                                   "--config", "--report", "-", "--port"});
    EXPECT_EQ(result.out, "--config --report - --port\n");
}

TEST_F(Cli, ADeathBySignalExits128PlusTheSignal) {
    const auto result = run_resin({"--config", config_file(), "/bin/sh", "-c", "kill -KILL $$"});
    EXPECT_EQ(result.exit_code, 128 + SIGKILL);
}

TEST_F(Cli, SignalsToResinAreForwardedToTheCommand) {
    for (const int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) {
        SCOPED_TRACE(sig);
        bool signalled = false;
        const auto result =
            run_resin({"--config", config_file(), "/bin/sh", "-c",
                       "trap 'echo got it; exit 3' " + std::to_string(sig) +
                           "; echo ready; while :; do sleep 0.05; done"},
                      std::chrono::seconds(30), [&](pid_t resin, const std::string& out) {
                          if (!signalled && out.find("ready\n") != std::string::npos) {
                              signalled = ::kill(resin, sig) == 0;
                          }
                      });
        EXPECT_EQ(result.exit_code, 3) << result.err;
        EXPECT_EQ(result.out, "ready\ngot it\n");
    }
}

TEST_F(Cli, AnInvalidConfigExits125WithOneLineNamingTheFileAndPointer) {
    const auto config = write("bad.json", R"({"limits": {"wall_time_ms": -1}})");
    const auto result = run_resin({"--config", config, "/bin/true"});
    EXPECT_EQ(result.exit_code, 125);
    expect_one_failure_line(result);
    EXPECT_NE(result.err.find(config + ": /limits/wall_time_ms: "), std::string::npos)
        << result.err;
}

TEST_F(Cli, AMissingCommandExits127) {
    const auto result = run_resin({"--config", config_file(), "/no/such/command"});
    EXPECT_EQ(result.exit_code, 127);
    expect_one_failure_line(result);
}

TEST_F(Cli, ANonExecutableCommandExits126) {
    const auto script = write("script", "#!/bin/sh\necho hi\n");
    const auto result = run_resin({"--config", config_file({.mounts = {dir_.path()}}), script});
    EXPECT_EQ(result.exit_code, 126);
    expect_one_failure_line(result);
}

TEST_F(Cli, UsageErrorsExit125WithOneLine) {
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"--config", config_file()},
          std::vector<std::string>{"/bin/true"}, std::vector<std::string>{"--bogus"},
          std::vector<std::string>{"--port", "--features"},
          std::vector<std::string>{"--report", "-", "--features"}}) {
        const auto result = run_resin(args);
        EXPECT_EQ(result.exit_code, 125) << args.front();
        expect_one_failure_line(result);
    }
}

TEST_F(Cli, PortModeWithoutAPortOnFds3And4Exits125WithOneLine) {
    const auto result = run_resin({"--port"});  // the runner maps fds 0-2 only
    EXPECT_EQ(result.exit_code, 125);
    expect_one_failure_line(result);
    EXPECT_NE(result.err.find("fds 3 and 4"), std::string::npos) << result.err;
}

TEST_F(Cli, TheWallTimeLimitEndsTheCommand) {
    const auto report = dir_ / "report.json";
    const auto result = run_resin(
        {"--config", config_file({.wall_time_ms = 200}), "--report", report, "sleep", "1000"});
    EXPECT_EQ(result.exit_code, 128 + SIGKILL);
    const auto json = nlohmann::json::parse(std::ifstream(report));
    EXPECT_EQ(json["reason"], "wall_time_limit");
}

TEST_F(Cli, ReportWritesHowTheCommandEndedAsJson) {
    const auto report = dir_ / "report.json";
    const auto result =
        run_resin({"--config", config_file(), "--report", report, "/bin/sh", "-c", "exit 3"});
    EXPECT_EQ(result.exit_code, 3);
    const auto json = nlohmann::json::parse(std::ifstream(report));
    EXPECT_EQ(json["exit_code"], 3);
    EXPECT_TRUE(json["signal"].is_null());
    EXPECT_EQ(json["core_dumped"], false);
    EXPECT_EQ(json["reason"], "exited");
    EXPECT_TRUE(json["detail"].is_string());
    for (const char* key :
         {"wall_ms", "cpu_user_ms", "cpu_system_ms", "peak_memory_bytes", "peak_processes"}) {
        EXPECT_TRUE(json["usage"][key].is_number()) << key;
    }
    EXPECT_GT(json["usage"]["wall_ms"].get<double>(), 0.0);
}

TEST_F(Cli, ReportDashWritesTheJsonToStderr) {
    const auto result =
        run_resin({"--config", config_file(), "--report", "-", "/bin/sh", "-c", "kill -KILL $$"});
    EXPECT_EQ(result.exit_code, 128 + SIGKILL);
    const auto json = nlohmann::json::parse(result.err);
    EXPECT_TRUE(json["exit_code"].is_null());
    EXPECT_EQ(json["signal"], SIGKILL);
    EXPECT_EQ(json["reason"], "signaled");
}

TEST_F(Cli, AnUnwritableReportPathFailsBeforeTheCommandRuns) {
    const auto marker = dir_ / "ran";
    const auto result =
        run_resin({"--config", config_file({.mounts = {dir_.path()}}), "--report",
                   "/no/such/dir/report.json", "/bin/sh", "-c", "echo > " + marker});
    EXPECT_EQ(result.exit_code, 125);
    expect_one_failure_line(result);
    EXPECT_FALSE(std::filesystem::exists(marker));
}

TEST_F(Cli, CheckConfigPrintsTheEffectiveConfigWithItsExtendsResolved) {
    const auto result = run_resin({"--check-config", config_file({.wall_time_ms = 1500})});
    EXPECT_EQ(result.exit_code, 0) << result.err;
    const auto json = nlohmann::json::parse(result.out);
    EXPECT_EQ(json["limits"]["wall_time_ms"], 1500);     // from the file
    EXPECT_EQ(json["filesystem"]["cwd"], "/tmp");        // from config/default.json
    EXPECT_EQ(json["identity"]["hostname"], "sandbox");  // a built-in default
    EXPECT_FALSE(json.contains("extends"));
}

TEST_F(Cli, CheckConfigPrintsEachErrorWithItsPointerAndExits1) {
    const auto config = write("bad.json", R"({"limits": {"wall_time_ms": "soon"}, "bogus": 1})");
    const auto result = run_resin({"--check-config", config});
    EXPECT_EQ(result.exit_code, 1);
    const auto lines = lines_of(result.err);
    ASSERT_EQ(lines.size(), 2u) << result.err;
    for (const auto& line : lines) {
        EXPECT_TRUE(line.starts_with(config + ": /")) << line;
    }
    EXPECT_TRUE(result.out.empty());
}

TEST_F(Cli, CheckConfigChecksWhatThisHostWouldRefuseToo) {
    // Valid JSON, valid config, but no such mount source here: the launch would refuse it, so the
    // check does too, naming the field.
    const auto config = config_file({.mounts = {"/no/such/resin-source"}});
    const auto result = run_resin({"--check-config", config});
    EXPECT_EQ(result.exit_code, 1);
    EXPECT_TRUE(result.out.empty());
    const auto lines = lines_of(result.err);
    ASSERT_EQ(lines.size(), 1u) << result.err;
    EXPECT_TRUE(lines[0].starts_with(config + ": /filesystem/mounts/")) << lines[0];
    EXPECT_NE(lines[0].find("/no/such/resin-source"), std::string::npos) << lines[0];
}

TEST_F(Cli, CheckConfigSaysWhatEnforcesEachRestrictionItSets) {
    const auto result = run_resin({"--check-config", config_file({.wall_time_ms = 1500})});
    EXPECT_EQ(result.exit_code, 0) << result.err;
    const auto lines = lines_of(result.err);
    EXPECT_NE(std::find(lines.begin(), lines.end(), "limits.wall_time_ms: enforced by host_timer"),
              lines.end())
        << result.err;
    EXPECT_NE(result.err.find("limits.memory_bytes: enforced by "), std::string::npos)
        << "the default profile's own limit is listed too: " << result.err;
    EXPECT_EQ(result.err.find("limits.cpu_cores"), std::string::npos)
        << "a limit the config does not set is not listed";
}

TEST_F(Cli, ARefusedConfigNamesTheFieldInResinsFailureLine) {
    const auto result =
        run_resin({"--config", config_file({.mounts = {"/no/such/resin-source"}}), "/bin/true"});
    EXPECT_EQ(result.exit_code, 125);
    expect_one_failure_line(result);
    EXPECT_TRUE(result.err.starts_with("resin: /filesystem/mounts/")) << result.err;
}

TEST_F(Cli, FeaturesPrintsOneKeyTabMechanismLinePerFeature) {
    const auto result = run_resin({"--features"});
    EXPECT_EQ(result.exit_code, 0);
    const auto lines = lines_of(result.out);
    ASSERT_FALSE(lines.empty());
    for (const auto& line : lines) {
        EXPECT_EQ(std::count(line.begin(), line.end(), '\t'), 1) << line;
    }
    EXPECT_NE(result.out.find("\nresin.version\t"), std::string::npos);
}

TEST_F(Cli, VersionPrintsTheProjectVersion) {
    const auto result = run_resin({"--version"});
    EXPECT_EQ(result.exit_code, 0);
    EXPECT_EQ(result.out, "0.1.0\n");
}

TEST_F(Cli, HelpDescribesTheModesAndExitCodes) {
    const auto result = run_resin({"--help"});
    EXPECT_EQ(result.exit_code, 0);
    for (const char* text :
         {"--port", "--config", "--check-config", "--features", "125", "126", "127"}) {
        EXPECT_NE(result.out.find(text), std::string::npos) << text;
    }
}

}  // namespace
}  // namespace resin::test
