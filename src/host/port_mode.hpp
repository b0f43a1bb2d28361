// `resin --port`: serve one client on the port (fds 3 and 4) until its process has been reported or
// the client goes away.
#pragma once

namespace resin::host {

int run_port_mode();

}  // namespace resin::host
