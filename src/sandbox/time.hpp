#pragma once

#include <sys/time.h>
#include <time.h>

#include <cstdint>

namespace resin::sandbox {

inline std::uint64_t monotonic_us() {
    timespec now{};
    ::clock_gettime(CLOCK_MONOTONIC, &now);
    return static_cast<std::uint64_t>(now.tv_sec) * 1000000u +
           static_cast<std::uint64_t>(now.tv_nsec) / 1000u;
}

inline std::uint64_t microseconds_of(const timeval& time) {
    return static_cast<std::uint64_t>(time.tv_sec) * 1000000u +
           static_cast<std::uint64_t>(time.tv_usec);
}

}  // namespace resin::sandbox
