// resin's exit codes. A sandboxed command's own status passes through unchanged (its exit code, or
// 128 + the signal that ended it), so resin's failures use the codes the shell and env(1) reserve.
#pragma once

namespace resin::host {

inline constexpr int kExitOk = 0;
inline constexpr int kExitConfigInvalid = 1;    // --check-config found errors
inline constexpr int kExitResinFailure = 125;   // resin itself, its arguments or the config failed
inline constexpr int kExitNotExecutable = 126;  // the command exists but cannot be executed
inline constexpr int kExitNotFound = 127;       // the command does not exist in the sandbox
inline constexpr int kExitSignalBase = 128;     // + the signal that ended the command (or resin)

}  // namespace resin::host
