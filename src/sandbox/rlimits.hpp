// Per-process resource limits set with setrlimit(2): open files, file size, and no core dumps.
#pragma once

#include "sandbox/plan.hpp"

namespace resin::sandbox {

// Child side, before exec. Returns the errno of the failing call, or 0; `failed_resource` names it.
int apply_rlimits(const Plan& plan, const char** failed_resource);

}  // namespace resin::sandbox
