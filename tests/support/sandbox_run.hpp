// Runs real programs for the isolation tests: in a sandbox built from a Config (through make_plan
// and Sandbox::launch, as the host does), or on the host with plain fork/exec, the control run that
// shows an access works without the restriction.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "sandbox/host_probe.hpp"
#include "sandbox/sandbox.hpp"

namespace resin::test {

using Argv = std::vector<std::string>;
using Clock = std::chrono::steady_clock;
inline constexpr std::chrono::seconds kRunTimeout{20};

// How a program ended and what it wrote.
struct RunResult {
    int exit_code = -1;  // -1 unless it exited
    int signal = 0;      // the signal that ended it, or 0
    std::string out;
    std::string err;
    sandbox::ExitReport report;  // sandboxed runs only
};

// A config ordinary programs run under: /usr, /bin, /lib, /etc/ld.so.cache... read-only, a tmpfs
// /tmp, PATH set, and no syscall policy, so that what a test sees is the mechanism it tests and not
// a seccomp refusal (the suite passes under the default policy too).
sandbox::Config runnable_config();

// Whether this process could drop supplementary groups and map ids freely (root).
bool privileged();

// A sandbox still running, with its stdout and stderr as pipes.
struct Launched {
    std::unique_ptr<sandbox::Sandbox> sandbox;
    sandbox::UniqueFd out;
    sandbox::UniqueFd err;
};

sandbox::Result<Launched> launch(const sandbox::Config& config, const Argv& argv);

// launch() as if on a host with `host`'s capabilities, e.g. one without Landlock.
sandbox::Result<Launched> launch(const sandbox::Config& config, const Argv& argv,
                                 const sandbox::HostCapabilities& host);

// launch() with `in` as the command's stdin instead of /dev/null.
sandbox::Result<Launched> launch_with_stdin(const sandbox::Config& config, const Argv& argv,
                                            int in);

// Reads stdout and stderr to end-of-file, waits for the sandbox to end and reaps it. Past the
// deadline the sandbox is killed and the test fails.
RunResult finish(Launched& launched, Clock::time_point deadline = Clock::now() + kRunTimeout);

// launch + finish. Errors are the planner's or the launcher's.
sandbox::Result<RunResult> try_run_sandboxed(const sandbox::Config& config, const Argv& argv);

// try_run_sandboxed for a command that must start: an error fails the test (and the RunResult is
// empty).
RunResult run_sandboxed(const sandbox::Config& config, const Argv& argv);

// Starts `argv` (argv[0] a path) on the host with fork/exec, without waiting for it. `in_child`
// runs between fork and exec.
pid_t spawn_on_host(const Argv& argv, const std::function<void()>& in_child = {});

// The control: the same argv run with fork/exec on the host, its output captured.
RunResult run_on_host(const Argv& argv, const std::function<void()>& in_child = {});

}  // namespace resin::test
