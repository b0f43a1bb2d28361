// The channels between resin and a sandbox it is launching:
//  - the setup-failure pipe: close-on-exec, so end-of-file means the command was exec'd; a record
//    means a step failed (which, why, where), or, once, that the sandbox is prepared and waits for
//    its command;
//  - the status socket: the sandbox's init sends the command's pidfd once it has forked it, and the
//    command's wait status when it ends.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>

#include "config/result.hpp"
#include "sandbox/child_step.hpp"
#include "sandbox/unique_fd.hpp"

namespace resin::sandbox {

// Child side. Formats one failure record and writes it with a single write(2). Async-signal-safe
// enough for a forked copy of single-threaded resin.
void report_setup_failure(int fd, ErrorKind kind, int err, const char* pointer, const char* format,
                          ...) __attribute__((format(printf, 5, 6)));

// Child side: report_setup_failure for a failed step, its pieces joined without allocating.
void report_step_failure(int fd, const StepResult& step);

// Child side (init): the sandbox is prepared and waits for its command.
void report_prepared(int fd);

// Parent side. Waits (bounded) for the init's report that the sandbox is prepared, or a failure.
Result<void> await_prepared(int fd, std::chrono::milliseconds timeout);
// Parent side. Waits (bounded) for end-of-file (the command was exec'd) or a failure record.
Result<void> await_setup(int fd, std::chrono::milliseconds timeout);

// The CPU time the sandbox's init spent on its own until it forked the command: the preparation,
// which the command's usage does not count.
struct InitCpu {
    std::uint64_t user_us = 0;
    std::uint64_t system_us = 0;
};

// Child side (init): the command's pidfd and, as credentials the kernel translates into resin's pid
// namespace, its pid; then later its wait status.
bool send_command_pidfd(int socket, int pidfd, pid_t pid, const InitCpu& init_cpu);
// `cpu_ns`: the command's own CPU time as the kernel's RLIMIT_CPU check samples it (its process
// CPU clock, read before it was reaped).
// `tree_gone`: no process of the sandbox is left but the init, which exits next.
bool send_command_status(int socket, int wait_status, std::uint64_t cpu_ns, bool tree_gone);

// Child side: one descriptor over a unix socket (the command hands init its seccomp listener).
bool send_descriptor(int socket, int fd);
// The command's process -> init, once it has taken every step it takes before the start: the
// sandbox is then prepared. `listener` (the filters' listener when they are installed already, or
// -1) travels with it.
bool send_armed(int socket, int listener);
// Init side: waits for send_armed. False if the command's process ended first (its setup failure
// record, if any, says why). `listener` becomes the descriptor sent, or -1.
bool receive_armed(int socket, int& listener);
// -1 on end-of-file or error.
int receive_descriptor(int socket);

// Parent side. The socket must have SO_PASSCRED set.
struct CommandHandle {
    UniqueFd pidfd;
    pid_t pid = -1;  // in resin's pid namespace
    InitCpu init_cpu;
};
Result<CommandHandle> receive_command_pidfd(int socket, std::chrono::milliseconds timeout);
// What init reported when the command ended (non-blocking: nothing if init was killed first).
struct CommandEnd {
    std::optional<int> wait_status;
    std::uint64_t cpu_ns = 0;
    bool tree_gone = false;
};
CommandEnd receive_command_end(int socket);

}  // namespace resin::sandbox
