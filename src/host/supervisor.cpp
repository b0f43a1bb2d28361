#include "host/supervisor.hpp"

#include <csignal>

namespace resin::host {

Supervisor::Supervisor(boost::asio::io_context& io, sandbox::Sandbox& sandbox,
                       const sandbox::Limits& limits, ExitHandler on_exit)
    : sandbox_(sandbox),
      exit_watch_(io, sandbox.exit_fd()),
      wall_timer_(io),
      stop_timer_(io),
      on_exit_(std::move(on_exit)) {
    exit_watch_.async_wait(boost::asio::posix::stream_descriptor::wait_read,
                           [this](const boost::system::error_code& error) {
                               if (error != boost::asio::error::operation_aborted) {
                                   on_exit_fd_readable();
                               }
                           });
    if (limits.wall_time_ms) {
        wall_timer_.expires_after(std::chrono::milliseconds(*limits.wall_time_ms));
        wall_timer_.async_wait([this](const boost::system::error_code& error) {
            if (!error) {
                terminate(sandbox::EndCause::wall_time_limit);
            }
        });
    }
}

Supervisor::~Supervisor() {
    (void)exit_watch_.release();
}

void Supervisor::signal(int sig) {
    if (!ended_) {
        sandbox_.signal(sig);
    }
}

void Supervisor::stop(std::chrono::milliseconds grace) {
    if (ended_) {
        return;
    }
    sandbox_.signal(SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() + grace;
    if (stop_pending_ && stop_timer_.expiry() <= deadline) {
        return;
    }
    stop_pending_ = true;
    stop_timer_.expires_at(deadline);
    stop_timer_.async_wait([this](const boost::system::error_code& error) {
        if (!error) {
            terminate(sandbox::EndCause::killed);
        }
    });
}

void Supervisor::terminate(sandbox::EndCause cause) {
    if (!ended_) {
        sandbox_.terminate(cause);
    }
}

void Supervisor::on_exit_fd_readable() {
    ended_ = true;
    wall_timer_.cancel();
    stop_timer_.cancel();
    on_exit_(sandbox_.reap());
}

}  // namespace resin::host
