// Runs resin as a shell would, capturing its stdout and stderr.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace resin::test {

struct CommandResult {
    int exit_code = -1;  // 128 + signal if resin was killed; -1 if it had to be killed on timeout
    std::string out;
    std::string err;
};

// Called with resin's pid and its stdout so far, each time more arrives.
using StdoutWatcher = std::function<void(pid_t resin, const std::string& out)>;

// `resin ARGS...` with stdin from /dev/null; killed if it runs longer than `timeout`.
CommandResult run_resin(const std::vector<std::string>& args,
                        std::chrono::milliseconds timeout = std::chrono::milliseconds(30000),
                        const StdoutWatcher& watch_stdout = {});

}  // namespace resin::test
