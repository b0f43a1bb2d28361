// Looking at processes from outside, through /proc.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace resin::test {

// True once `pid` is gone (or a zombie: dead, its resources freed); polls /proc until `timeout`.
bool wait_until_gone(pid_t pid, std::chrono::milliseconds timeout);

// The host pid of the live process whose command line contains `marker` as a whole argument, once
// there is one (a process may still be between fork and exec); polls /proc until `timeout`.
std::optional<pid_t> find_process_with_argument(const std::string& marker,
                                                std::chrono::milliseconds timeout);

// The peak resident set size (VmHWM) of `pid`.
std::optional<std::uint64_t> peak_rss_bytes(pid_t pid);

}  // namespace resin::test
