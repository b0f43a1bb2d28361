// The sandbox's network: a namespace of its own with no usable interface (`none`), only loopback up
// (`loopback`), or the host's (`host`).
#pragma once

#include "config/result.hpp"
#include "sandbox/child_step.hpp"
#include "sandbox/plan.hpp"
#include "sandbox/unique_fd.hpp"

namespace resin::sandbox {

// Parent side, around the clone: where the sandbox's network namespace comes from. A fresh one from
// the pool is entered by resin just for the clone (the child inherits it; resin's own is restored
// when this is destroyed) and configured here, since the sandbox has no rights over it. Otherwise
// the clone creates one and the child configures it.
class NetworkSetup {
  public:
    static Result<NetworkSetup> prepare(const NetworkPart& network, const HostCapabilities& host);

    NetworkSetup(NetworkSetup&&) = default;
    NetworkSetup& operator=(NetworkSetup&&) = default;
    ~NetworkSetup();

    bool clone_creates_namespace() const { return clone_creates_; }
    // Call right after the clone: the sandbox has the namespace, resin goes back to its own.
    void restore_resins_namespace();

  private:
    NetworkSetup() = default;

    UniqueFd resins_own_;
    bool clone_creates_ = false;
};

// Child side, in the namespace the clone created: brings `lo` up for `loopback`.
StepResult configure_network(const NetworkPart& network);

}  // namespace resin::sandbox
