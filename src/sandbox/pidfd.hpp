// pidfd_open(2) and pidfd_send_signal(2). glibc 2.36's <sys/pidfd.h> declares them without
// extern "C" (fixed in 2.37), so C++ on Debian 12 cannot link against it: call the syscalls.
#pragma once

#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace resin::sandbox {

inline int open_pidfd(pid_t pid) {
    return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
}

inline int signal_pidfd(int pidfd, int sig) {
    return static_cast<int>(::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0));
}

}  // namespace resin::sandbox
