// What each step of the sandbox's init and of its command returns, between clone and exec: errno,
// what failed and the config field at fault. Built from static text and strings the plan holds, so
// a failing step allocates nothing; the launcher reports it (launch_channel.hpp) and exits.
#pragma once

#include <array>
#include <initializer_list>

#include "config/result.hpp"

namespace resin::sandbox {

struct StepResult {
    int err = 0;  // the errno of the failing call; 0: the step succeeded
    ErrorKind kind = ErrorKind::spawn_failed;
    const char* pointer = "";  // the JSON pointer of the config field at fault, or ""
    // What failed, in pieces joined when reported, e.g. {"creating ", "/usr", " in the sandbox"}.
    std::array<const char*, 5> what{};

    bool ok() const { return err == 0; }
};

inline StepResult step_done() {
    return {};
}

inline StepResult step_failed(int err, const char* pointer, std::initializer_list<const char*> what,
                              ErrorKind kind = ErrorKind::spawn_failed) {
    StepResult result;
    result.err = err;
    result.kind = kind;
    result.pointer = pointer;
    std::size_t i = 0;
    for (const char* piece : what) {
        if (i < result.what.size()) {
            result.what[i++] = piece;
        }
    }
    return result;
}

}  // namespace resin::sandbox
