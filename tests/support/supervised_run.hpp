// Runs a sandbox to its end the way resin's host supervisor does (src/host/supervisor.cpp), so the
// limits resin enforces from its event loop hold at library level too: one poll() loop over the
// sandbox's exit fd, its OOM eventfd (on_oom_event(), cgroup v1), a timer for check_cpu_time()
// re-armed with the delay it returns, and a timer for limits.wall_time_ms that ends the sandbox
// with terminate(wall_time_limit). stdout and stderr are read meanwhile.
#pragma once

#include <string>

#include "support/sandbox_run.hpp"

namespace resin::test {

// Supervises until the sandbox has ended and reaps it. `limits` is the config's (for the wall
// timer). Past `deadline` the sandbox is killed and the test fails.
RunResult supervise(Launched& launched, const sandbox::Limits& limits,
                    Clock::time_point deadline = Clock::now() + kRunTimeout);

// launch + supervise. Errors are the planner's or the launcher's.
sandbox::Result<RunResult> try_run_supervised(const sandbox::Config& config, const Argv& argv);

// try_run_supervised for a command that must start: an error fails the test.
RunResult run_supervised(const sandbox::Config& config, const Argv& argv);

// Reads `fd` up to and including the first newline (or end-of-file); "" at the deadline.
std::string read_line(int fd, Clock::time_point deadline);

}  // namespace resin::test
