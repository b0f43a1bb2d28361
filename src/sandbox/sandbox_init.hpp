// PID 1 of the sandbox: resin's own small init, not the user's command. It reaps every orphan,
// forwards the signals it receives to the command, kills what breaks the syscall filter, reports
// the command's wait status to resin, and exits when the command does, whereupon the kernel kills
// everything left in the pid namespace.
#pragma once

#include <sys/types.h>

#include "sandbox/seccomp_denials.hpp"

namespace resin::sandbox {

// Each of these covers every signal 1..64, glibc's own 32 and 33 included (kernel_signals.hpp),
// and is async-signal-safe. False if the kernel refused a step.

// Call before forking the command: blocks every signal in init and installs a handler for each one
// (pid_namespaces(7): an init is sent only the signals it has a handler for; the kernel queues
// blocked ones regardless, but does not document it). The handlers never run: init reads every
// signal from a signalfd.
[[nodiscard]] bool prepare_init_signals();

// The command's side of prepare_init_signals, and any other process resin forks that must not run
// resin's handlers: default dispositions and an empty mask.
[[nodiscard]] bool restore_default_signals();
// restore_default_signals() in two steps, for the command forked before its start: default
// dispositions at once, every signal still blocked; then, at the start, those that arrived
// meanwhile (meant for no command) discarded and the mask emptied.
[[nodiscard]] bool reset_signal_dispositions();
[[nodiscard]] bool discard_pending_then_unblock_signals();
// Drops every pending signal of the calling thread (they must all be blocked).
[[nodiscard]] bool discard_pending_signals();

// `listener` is the command's seccomp listener, if its filter has one and was installed before the
// start; else `listener_socket` may bring it later: a denied syscall under action "kill", or one of
// another ABI under any action, is then reported to init, which records it in `denials` (shared
// with resin) and kills the caller.
[[noreturn]] void supervise_command(pid_t command, int status_socket, int listener_socket,
                                    int listener, DenialLog* denials);

}  // namespace resin::sandbox
