// Installing the compiled filters: the command's last step before exec, or before its start
// where they allow every step left (Plan::seccomp_allows_start_steps).
#pragma once

#include "sandbox/child_step.hpp"
#include "sandbox/seccomp_policy.hpp"

namespace resin::sandbox {

// Child side. Installs every filter (they apply to all later threads and children and cannot be
// removed). `listener` receives the notification fd if a filter has one, else -1.
StepResult install_seccomp_filters(const SeccompFilters& filters, int* listener);

}  // namespace resin::sandbox
