#include "host/command_mode.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>

#include "host/exit_codes.hpp"
#include "host/exit_report_json.hpp"
#include "host/failure.hpp"
#include "host/sandbox_start.hpp"
#include "host/supervisor.hpp"
#include "host/terminal_state.hpp"
#include "sandbox/netns_pool.hpp"
#include "sandbox/plan.hpp"
#include "sandbox/sandbox.hpp"

namespace resin::host {
namespace {

struct FileCloser {
    void operator()(std::FILE* file) const {
        if (file != stderr) {
            std::fclose(file);
        }
    }
};
using ReportFile = std::unique_ptr<std::FILE, FileCloser>;

int exit_code_for(sandbox::ErrorKind kind) {
    switch (kind) {
        case sandbox::ErrorKind::executable_not_found:
            return kExitNotFound;
        case sandbox::ErrorKind::permission_denied:
            return kExitNotExecutable;
        default:
            return kExitResinFailure;
    }
}

int exit_code_of(const sandbox::ExitReport& report) {
    return report.signal != 0 ? kExitSignalBase + report.signal : report.exit_code;
}

void print_config_errors(const std::vector<sandbox::ConfigError>& errors, const std::string& path) {
    std::string line = sandbox::format(errors.front());
    if (errors.size() > 1) {
        line += " (and " + std::to_string(errors.size() - 1) + " more: see resin --check-config " +
                path + ")";
    }
    print_failure(line);
}

// Opened before the command runs, so an unwritable path fails before anything is started.
std::optional<ReportFile> open_report(const std::optional<std::string>& path) {
    if (!path) {
        return ReportFile();
    }
    if (*path == "-") {
        return ReportFile(stderr);
    }
    ReportFile file(std::fopen(path->c_str(), "we"));
    if (!file) {
        print_failure("cannot write the report to " + *path + ": " + std::strerror(errno));
        return std::nullopt;
    }
    return file;
}

bool write_report(std::FILE* file, const sandbox::ExitReport& report) {
    const std::string text = exit_report_json(report).dump() + "\n";
    return std::fwrite(text.data(), 1, text.size(), file) == text.size() && std::fflush(file) == 0;
}

}  // namespace

int run_command(const CommandOptions& options) {
    boost::asio::io_context io(1);
    // Installed before the launch, so a Ctrl-C can never end resin and leave the sandbox running.
    boost::asio::signal_set forwarded(io, SIGINT, SIGTERM, SIGHUP);
    forwarded.add(SIGQUIT);

    std::optional<ReportFile> report_file;
    bool report_unwritable = false;
    std::optional<TerminalState> terminal;
    const sandbox::Command command{options.command.front(),
                                   {options.command.begin() + 1, options.command.end()}};
    // Once the plan exists, just before the launch.
    auto prepare_launch = [&](const sandbox::Plan&) -> sandbox::Result<sandbox::Stdio> {
        // Opened before the command runs, so an unwritable path fails before it starts.
        report_file = open_report(options.report_path);
        if (!report_file) {
            report_unwritable = true;
            return sandbox::Error{sandbox::ErrorKind::internal, "", "", 0};
        }
        // The command gets resin's stdio: from a terminal, the caller's, which it may change.
        terminal.emplace();
        return sandbox::Stdio{};
    };
    auto started = start_sandbox(ConfigFile{options.config_path}, sandbox::probe_host(), command,
                                 prepare_launch);
    if (auto* failure = std::get_if<StartFailure>(&started)) {
        if (auto* errors = std::get_if<std::vector<sandbox::ConfigError>>(failure)) {
            print_config_errors(*errors, options.config_path);
            return kExitResinFailure;
        }
        const auto& error = std::get<sandbox::Error>(*failure);
        if (report_unwritable) {
            return kExitResinFailure;  // open_report said why
        }
        print_failure(error);
        return exit_code_for(error.kind);
    }
    auto& [plan, launched] = std::get<PlannedSandbox>(started);
    sandbox::Sandbox& sandbox = *launched;

    std::optional<sandbox::ExitReport> report;
    Supervisor supervisor(io, sandbox, plan.supervision(), [&](sandbox::ExitReport ended) {
        report = std::move(ended);
        io.stop();
    });
    std::function<void()> forward_next_signal = [&] {
        forwarded.async_wait([&](const boost::system::error_code& error, int signal) {
            if (!error) {
                supervisor.signal(signal);
                forward_next_signal();
            }
        });
    };
    forward_next_signal();
    io.run();
    terminal->restore();  // before the report, which may go to that terminal

    if (*report_file && !write_report(report_file->get(), *report)) {
        print_failure("cannot write the report to " + *options.report_path + ": " +
                      std::strerror(errno));
        return kExitResinFailure;
    }
    if (plan.network().new_namespace) {
        sandbox::NetnsPool::refill_detached(plan.host());  // for the next sandbox
    }
    return exit_code_of(*report);
}

}  // namespace resin::host
