// How a sandbox ended, as a value: status, the reason, and what the whole process tree used.
#pragma once

#include <cstdint>
#include <string>

namespace resin::sandbox {

enum class ExitReason {
    exited,           // the command exited on its own
    signaled,         // a signal nobody here asked for ended it
    killed,           // ended by a kill or stop the client asked for
    wall_time_limit,  // limits.wall_time_ms elapsed
    cpu_time_limit,   // limits.cpu_time_ms spent
    memory_limit,     // the memory limit's OOM killer ended it
    seccomp,          // a denied syscall under syscalls.action "kill"
};

const char* to_string(ExitReason reason);

struct Usage {
    std::uint64_t wall_us = 0;
    std::uint64_t cpu_user_us = 0;
    std::uint64_t cpu_system_us = 0;
    std::uint64_t peak_memory_bytes = 0;  // 0: unknown
    std::uint32_t peak_processes = 0;     // 0: unknown
};

struct ExitReport {
    ExitReason reason = ExitReason::exited;
    int exit_code = 0;  // valid when signal == 0
    int signal = 0;     // the signal that ended the command, or 0
    bool core_dumped = false;
    Usage usage;
    std::string detail;  // refines the reason: which syscall, which limit
};

// Why resin ended a sandbox itself.
enum class EndCause { killed, wall_time_limit, cpu_time_limit, memory_limit };

}  // namespace resin::sandbox
