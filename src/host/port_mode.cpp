#include "host/port_mode.hpp"

#include <malloc.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <csignal>
#include <functional>

#include "host/exit_codes.hpp"
#include "host/failure.hpp"
#include "host/port_fds.hpp"
#include "host/port_session.hpp"
#include "sandbox/host_probe.hpp"

namespace resin::host {
namespace {

void ignore_forever(boost::asio::signal_set& signals) {
    signals.async_wait([&signals](const boost::system::error_code& error, int) {
        if (!error) {
            ignore_forever(signals);
        }
    });
}

}  // namespace

int run_port_mode() {
    // First, before anything opens a descriptor that could take the number 3 or 4.
    auto port = take_over_port_fds();
    if (!port) {
        print_failure(port.error().message);
        return kExitResinFailure;
    }
    // DataIn frames are up to 1 MiB, allocated and freed once each (the frame, then its payload):
    // kept on the heap, not mmap'd and unmapped every time, they cost no page faults. The heap
    // keeps at most a few of them (the stdin queue is bounded by the credit, docs/host.md).
    ::mallopt(M_MMAP_THRESHOLD, 4 * 1024 * 1024);
    ::mallopt(M_TRIM_THRESHOLD, 8 * 1024 * 1024);
    boost::asio::io_context io(1);
    // SIGINT: a Ctrl-C in iex reaches the port's process group and must not end sandboxes. SIGPIPE:
    // a closed port is an EPIPE to handle, not a death. Caught and dropped rather than set to
    // SIG_IGN, because an ignored disposition survives execve and would reach the command.
    boost::asio::signal_set ignored(io, SIGINT, SIGPIPE);
    ignore_forever(ignored);
    boost::asio::signal_set ending(io, SIGTERM, SIGHUP);
    PortSession session(io, std::move(port).value(), sandbox::probe_host());
    ending.async_wait([&session](const boost::system::error_code& error, int signal) {
        if (!error) {
            session.shut_down(signal);
        }
    });
    session.start();
    io.run();
    return session.exit_code();
}

}  // namespace resin::host
