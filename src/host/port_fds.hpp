// Takes over the port an Erlang `:nouse_stdio` port provides: packets in on fd 3, out on fd 4.
#pragma once

#include "config/result.hpp"
#include "sandbox/unique_fd.hpp"

namespace resin::host {

struct PortFds {
    sandbox::UniqueFd in;   // the client's packets
    sandbox::UniqueFd out;  // ours
};

// Moves fds 3 and 4 to fresh close-on-exec, non-blocking descriptors, points fd 0 at /dev/null and
// fd 1 at stderr. Afterwards nothing resin or a library prints can land in the packet stream, and
// the port cannot leak into the sandbox.
sandbox::Result<PortFds> take_over_port_fds();

}  // namespace resin::host
