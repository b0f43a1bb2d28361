// resin: runs one command in a sandbox, for an Elixir port (--port) or from a shell.
#include <CLI/CLI.hpp>
#include <exception>
#include <optional>
#include <string>
#include <vector>

#include "host/command_mode.hpp"
#include "host/exit_codes.hpp"
#include "host/failure.hpp"
#include "host/info_commands.hpp"
#include "host/port_mode.hpp"

namespace {

using namespace resin::host;

constexpr const char* kFooter = R"(Modes:
  resin --port                                    serve an Erlang port on fds 3 and 4
  resin --config FILE [--report PATH] [--] COMMAND [ARGS...]
                                                  run COMMAND in the sandbox FILE describes
  resin --check-config FILE                       print the effective config, or its errors
  resin --features                                print what this host can enforce

Exit status of a command run: the command's exit code, or 128 + the signal that ended it.
resin's own failures: 125 (resin, its arguments or the config), 126 (COMMAND cannot be
executed), 127 (COMMAND not found); --check-config exits 1 for an invalid config.)";

struct Arguments {
    bool port = false;
    bool features = false;
    std::optional<std::string> check_config;
    std::optional<std::string> config;
    std::optional<std::string> report;
    std::vector<std::string> command;
};

// Everything after COMMAND passes through untouched (prefix_command); a leading "--" only marks
// where COMMAND starts.
std::vector<std::string> command_of(std::vector<std::string> remaining) {
    if (!remaining.empty() && remaining.front() == "--") {
        remaining.erase(remaining.begin());
    }
    return remaining;
}

// nullopt when the arguments make sense, else what is wrong with them.
std::optional<std::string> usage_error(const Arguments& args, bool unknown_option) {
    const int modes = int{args.port} + int{args.features} + int{args.check_config.has_value()} +
                      int{args.config.has_value()};
    if (unknown_option) {
        return "unknown option " + args.command.front() +
               " (use -- before a COMMAND that starts "
               "with -)";
    }
    if (modes != 1) {
        return "choose one of --port, --config, --check-config and --features";
    }
    if (args.config && args.command.empty()) {
        return "--config needs a COMMAND to run";
    }
    if (!args.config && !args.command.empty()) {
        return "a COMMAND needs --config FILE";
    }
    if (args.report && !args.config) {
        return "--report applies to a COMMAND run with --config";
    }
    return std::nullopt;
}

int dispatch(const Arguments& args) {
    if (args.port) {
        return run_port_mode();
    }
    if (args.features) {
        return print_features();
    }
    if (args.check_config) {
        return check_config(*args.check_config);
    }
    return run_command({*args.config, args.report, args.command});
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"Runs one command in a sandbox: for an Elixir port, or from a shell.", "resin"};
    app.footer(kFooter);
    app.set_version_flag("--version", RESIN_VERSION);
    app.prefix_command();
    Arguments args;
    app.add_flag("--port", args.port, "Speak the port protocol on fds 3 and 4");
    app.add_option("--config", args.config, "Run COMMAND in the sandbox this profile describes")
        ->type_name("FILE");
    app.add_option("--report", args.report,
                   "After the run, write how it ended as JSON to PATH (- for stderr)")
        ->type_name("PATH");
    app.add_option("--check-config", args.check_config,
                   "Print the effective config of FILE, or its errors")
        ->type_name("FILE");
    app.add_flag("--features", args.features, "Print what this host can enforce");
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        print_failure(std::string(e.what()) + " (see resin --help)");
        return kExitResinFailure;
    }
    const std::vector<std::string> remaining = app.remaining();
    args.command = command_of(remaining);
    const bool unknown_option =
        !remaining.empty() && remaining.front() != "--" && remaining.front().starts_with("-");
    if (auto error = usage_error(args, unknown_option)) {
        print_failure(*error + " (see resin --help)");
        return kExitResinFailure;
    }
    try {
        return dispatch(args);
    } catch (const std::exception& e) {
        print_failure(std::string("internal error: ") + e.what());
        return kExitResinFailure;
    }
}
