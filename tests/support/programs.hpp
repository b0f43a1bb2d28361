// Real programs with a known appetite, for the limits tests: they allocate and touch a known amount
// of memory, burn a known CPU time, keep cores busy, or fork as far as they may. Python, sh, perl
// and stress-ng from the host's /usr, so they run in runnable_config() as root and unprivileged.
#pragma once

#include <cstdint>
#include <string>

#include "sandbox/exit_report.hpp"
#include "support/sandbox_run.hpp"

namespace resin::test {

inline constexpr std::uint64_t kMiB = 1u << 20;

// Allocates `mib` MiB, writes to every page, prints "touched" and exits 0. A failed allocation is
// Python's MemoryError: exit 1.
Argv touch_memory(std::uint64_t mib);

// `processes` processes that each touch `mib` MiB and hold it until all have; then prints
// "held <total MiB>" and exits 0. A child whose allocation fails prints "refused" instead.
Argv touch_memory_in_processes(unsigned processes, std::uint64_t mib);

// Burns `ms` milliseconds of CPU time (its own user + system time, start-up included), then exits.
Argv burn_cpu(std::uint64_t ms);

// Busy loops forever: `processes` shell processes, or `threads` threads of one perl process.
Argv hog_processes(unsigned processes);
Argv hog_threads(unsigned threads);

// Forks children that stay alive until it has `limit` of them or fork fails; then prints
// "<processes in its tree, itself included> <errno name or 'none'>" and waits to be killed (hold)
// or exits 0, which ends the sandbox and the children with it.
enum class AfterCount { hold, exit };
Argv fork_until_refused(unsigned limit, AfterCount after);

// stress-ng (Debian's, from /usr/bin: tests/install-deps.sh installs it) with `args`, its temporary
// files in the sandbox's /tmp.
Argv stress_ng(const Argv& args);
// runnable_config() and what stress-ng reads besides: the CPUs in /sys/devices/system/cpu.
sandbox::Config stress_ng_config();

// Samples the sandbox's /proc until its child whose pid is appended as the last argument exits
// (exec it from the shell that started the child: `child & exec <this> $!`), then prints the most
// processes it saw at once, not counting the sandbox's init: how far a tree got, seen from inside.
Argv count_processes_until_child_exits();

// `argv` as one sh command line, each word single-quoted.
std::string shell_command(const Argv& argv);

std::uint64_t cpu_ms(const sandbox::Usage& usage);

// Whether this machine's CPUs are emulated (qemu's TCG, as in the cgroup v2 VM, tests/vm). An
// emulated CPU's clock runs on while the host preempts the emulator, so CPU time measured there
// includes the host's load, by hundreds of milliseconds on a busy host: upper bounds on CPU time
// are not meaningful there.
bool cpu_is_emulated();
// CPU time over wall time: the number of cores the tree kept busy on average.
double cores_used(const sandbox::Usage& usage);

}  // namespace resin::test
