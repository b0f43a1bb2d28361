// `resin --config FILE [--report PATH] -- COMMAND [ARGS...]`: runs one command in a sandbox with
// the caller's own stdin, stdout and stderr, and exits as it did.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace resin::host {

struct CommandOptions {
    std::string config_path;
    std::optional<std::string> report_path;  // "-" for stderr
    std::vector<std::string> command;        // never empty
};

// The command's exit code, 128 + the signal that ended it, or one of resin's own (exit_codes.hpp).
int run_command(const CommandOptions& options);

}  // namespace resin::host
