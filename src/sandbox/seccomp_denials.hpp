// Every syscall the filter sent to the sandbox's init (a denial under action "kill", a syscall of
// another ABI under any action), as init observed it: kept in memory init shares with resin, so
// that resin can name them however the sandbox ends, even when it kills init itself (a limit).
// Bounded whatever the command does: the command's own syscall, then up to kNamed distinct
// syscalls with counts, then one count for the rest.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "config/result.hpp"

namespace resin::sandbox {

struct DeniedSyscall {
    std::uint32_t arch = 0;  // AUDIT_ARCH_*
    std::int32_t number = 0;
    std::uint64_t count = 0;
};

struct DenialLog {
    static constexpr std::size_t kNamed = 8;
    // The first denied syscall of the command itself, for which init killed it.
    bool command_killed = false;
    DeniedSyscall command_syscall;
    // Every other denial (processes the command started, further threads of the command), by
    // syscall in the order first seen.
    DeniedSyscall others[kNamed];
    std::uint32_t named = 0;
    std::uint64_t unnamed = 0;  // denials of syscalls beyond the kNamed
    // Set when init could not receive or handle a notification (errno): it ended the sandbox then.
    std::int32_t failure_errno = 0;

    // Init's side.
    void record(std::uint32_t arch, int number, bool by_command);
    bool empty() const { return !command_killed && named == 0 && unnamed == 0; }
};

// The report's detail for `log`: the command's syscall first (bare when `reason_is_seccomp`, as the
// reason already says the command was killed), then the others, e.g.
//   "acct; processes of the command were killed for keyctl (999 times), add_key".
// docs/protocol.md describes the format. Empty if nothing was denied.
std::string describe_denials(const DenialLog& log, bool reason_is_seccomp);

// A DenialLog in an anonymous shared mapping: created by resin before it clones the sandbox's
// init, which inherits it; init keeps it from the command (MADV_DONTFORK).
class SharedDenialLog {
  public:
    static Result<SharedDenialLog> create();
    SharedDenialLog() = default;
    SharedDenialLog(SharedDenialLog&& other) noexcept;
    SharedDenialLog& operator=(SharedDenialLog&& other) noexcept;
    ~SharedDenialLog();

    DenialLog* get() const { return log_; }
    explicit operator bool() const { return log_ != nullptr; }

  private:
    DenialLog* log_ = nullptr;
};

}  // namespace resin::sandbox
