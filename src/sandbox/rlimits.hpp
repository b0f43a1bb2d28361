// Per-process resource limits set with setrlimit(2): open files, file size, and no core dumps.
#pragma once

#include "sandbox/child_step.hpp"
#include "sandbox/plan.hpp"

namespace resin::sandbox {

// Child side, before exec.
StepResult apply_rlimits(const RlimitsPart& rlimits);

}  // namespace resin::sandbox
