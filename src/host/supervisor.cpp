#include "host/supervisor.hpp"

#include <csignal>

namespace resin::host {

Supervisor::Supervisor(boost::asio::io_context& io, sandbox::Sandbox& sandbox,
                       const sandbox::SupervisionPart& supervision, ExitHandler on_exit)
    : sandbox_(sandbox),
      exit_watch_(io, sandbox.exit_fd()),
      command_end_watch_(io, sandbox.command_end_fd()),
      oom_watch_(io),
      wall_timer_(io),
      cpu_timer_(io),
      stop_timer_(io),
      on_exit_(std::move(on_exit)) {
    exit_watch_.async_wait(boost::asio::posix::stream_descriptor::wait_read,
                           [this](const boost::system::error_code& error) {
                               if (error != boost::asio::error::operation_aborted) {
                                   on_exit_fd_readable();
                               }
                           });
    // The init's word that the command's tree is gone comes before its own exit and the
    // namespaces' teardown: the report need not wait for them.
    command_end_watch_.async_wait(boost::asio::posix::stream_descriptor::wait_read,
                                  [this](const boost::system::error_code& error) {
                                      if (error != boost::asio::error::operation_aborted) {
                                          on_command_end_readable();
                                      }
                                  });
    if (supervision.wall_time_ms) {
        wall_timer_.expires_after(std::chrono::milliseconds(*supervision.wall_time_ms));
        wall_timer_.async_wait([this](const boost::system::error_code& error) {
            if (!error) {
                terminate(sandbox::EndCause::wall_time_limit);
            }
        });
    }
    if (sandbox.oom_event_fd() >= 0) {
        oom_watch_.assign(sandbox.oom_event_fd());
        watch_oom_events();
    }
    check_cpu_time_after(sandbox_.check_cpu_time());
}

Supervisor::~Supervisor() {
    (void)exit_watch_.release();
    (void)command_end_watch_.release();
    if (oom_watch_.is_open()) {
        (void)oom_watch_.release();
    }
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

void Supervisor::watch_oom_events() {
    oom_watch_.async_wait(boost::asio::posix::stream_descriptor::wait_read,
                          [this](const boost::system::error_code& error) {
                              if (!error && !ended_) {
                                  sandbox_.on_oom_event();
                                  watch_oom_events();
                              }
                          });
}

// The sandbox says when its tree could have spent the rest of its CPU time; nullopt: nothing to
// watch (no limit, or it has ended the tree).
void Supervisor::check_cpu_time_after(std::optional<std::chrono::microseconds> delay) {
    if (!delay) {
        return;
    }
    cpu_timer_.expires_after(*delay);
    cpu_timer_.async_wait([this](const boost::system::error_code& error) {
        if (!error && !ended_) {
            check_cpu_time_after(sandbox_.check_cpu_time());
        }
    });
}

void Supervisor::stop_watching_limits() {
    ended_ = true;
    wall_timer_.cancel();
    cpu_timer_.cancel();
    stop_timer_.cancel();
    if (oom_watch_.is_open()) {
        oom_watch_.cancel();
    }
}

void Supervisor::on_command_end_readable() {
    if (ended_) {
        return;
    }
    if (auto report = sandbox_.report_if_tree_gone()) {
        stop_watching_limits();
        on_exit_(std::move(*report));
    }
}

void Supervisor::on_exit_fd_readable() {
    const bool reported = ended_;
    stop_watching_limits();
    command_end_watch_.cancel();
    // The report first: removing the cgroups (five directories on a v1 host) is not the client's
    // wait.
    auto report = sandbox_.reap_keeping_cgroups();
    if (!reported) {
        on_exit_(std::move(report));
    }
    sandbox_.remove_cgroups();
}

}  // namespace resin::host
