// Runs resin as a shell would, capturing its stdout and stderr.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace resin::test {

struct CommandResult {
    int exit_code = -1;  // 128 + signal if resin was killed; -1 if it had to be killed on timeout
    std::string out;
    std::string err;
};

// `resin ARGS...` with stdin from /dev/null; killed if it runs longer than `timeout`.
CommandResult run_resin(const std::vector<std::string>& args,
                        std::chrono::milliseconds timeout = std::chrono::milliseconds(30000));

}  // namespace resin::test
