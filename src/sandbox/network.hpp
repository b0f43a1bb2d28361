// The sandbox's network: a namespace of its own with no usable interface (`none`), only loopback up
// (`loopback`), or the host's (`host`).
#pragma once

#include "sandbox/plan.hpp"

namespace resin::sandbox {

// Child side, inside its new network namespace: brings `lo` up for `loopback`. Returns errno or 0.
int configure_network(const Plan& plan);

}  // namespace resin::sandbox
