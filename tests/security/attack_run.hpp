// Running the attack programs (tests/security/attacks): once on the host, the control run that
// shows the attack works without the sandbox (so the test can fail), and once in a sandbox, by
// default under config/default.json as resin loads it.
#pragma once

#include <functional>
#include <string>

#include "support/sandbox_run.hpp"

namespace resin::test {

// Where the attack programs' directory appears inside a sandbox. config/default.json mounts the
// system directories, not the build tree, so the tests bind it read-only on top of the profile.
inline constexpr const char* kAttacksInSandbox = "/attacks";
inline constexpr const char* kProbesInSandbox = "/probes";

// In an attack's arguments, replaced by a scratch directory: a fresh one on the host, /tmp in the
// sandbox.
inline constexpr const char* kScratchDir = "{dir}";

// config/default.json through the real loader, plus the two program directories bound read-only.
sandbox::Config default_profile();

struct AttackRun {
    RunResult run;
    std::string verdict;  // SUCCEEDED, REACHABLE, DENIED, UNSUPPORTED, BROKEN; "" if none printed
    std::string detail;
};

// Runs attack `name` on the host, as this test's user; `in_child` runs just before exec.
AttackRun attack_on_host(const std::string& name, const Argv& args = {},
                         const std::function<void()>& in_child = {});

// Runs attack `name` in a sandbox built from `config`.
AttackRun attack_in_sandbox(const sandbox::Config& config, const std::string& name,
                            const Argv& args = {});

// attack_in_sandbox as if on a host with `host`'s capabilities, e.g. one without Landlock.
AttackRun attack_in_sandbox_on(const sandbox::HostCapabilities& host, const sandbox::Config& config,
                               const std::string& name, const Argv& args = {});

// The path of a probe program (tests/security/probes) on the host and in a sandbox.
std::string probe_on_host(const std::string& name);
std::string probe_in_sandbox(const std::string& name);

// For messages: the verdict line, exit, signal and report.
std::string describe(const AttackRun& attack);

// Whether the control run may show the kernel lacks the syscall (ENOSYS) instead of reaching it.
enum class KernelMayLack { no, yes };

// Expects the control run to show the attack works (SUCCEEDED, or REACHABLE for a harmless probe).
// Skips the test if this user cannot run the attack on the host (it needs root), and notes it if
// the kernel lacks the syscall and `lack` allows that. Check should_stop() afterwards.
void expect_works_on_host(const AttackRun& attack, KernelMayLack lack = KernelMayLack::no);

// Skips the test where int 0x80 faults before any syscall entry (a PVM guest): no i386 syscall
// reaches a filter there, so no test of the filter's i386 side can fail. Check should_stop().
void skip_without_i386_entry();

// True once the test has failed or been skipped: the caller returns.
bool should_stop();

// Expects the sandbox to have killed the command for `syscall` (reason seccomp, named).
void expect_killed_for(const AttackRun& attack, const std::string& syscall);

// Expects the attack to have run and been refused with `error` (an errno name such as "EPERM").
void expect_denied_with(const AttackRun& attack, const std::string& error);

// The whole test for a vector the default profile's filter kills: the control run on the host,
// then the sandboxed run, killed for `syscall`.
void expect_default_profile_kills(const std::string& name, const std::string& syscall,
                                  const Argv& args = {}, KernelMayLack lack = KernelMayLack::no);

}  // namespace resin::test
