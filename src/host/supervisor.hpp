// Watches one running sandbox: its exit (the pidfd, never SIGCHLD), the limits resin enforces from
// its event loop (wall time, CPU time polled from the cgroup, a cgroup v1 OOM event), and a
// client's stop (SIGTERM, then the whole tree killed after a grace period). Shared by port and CLI
// mode.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <optional>

#include "sandbox/sandbox.hpp"

namespace resin::host {

class Supervisor {
  public:
    using ExitHandler = std::function<void(sandbox::ExitReport)>;

    // Starts watching at once, and the wall-time limit's clock if `supervision` has one. `on_exit`
    // runs once, with the report, when the tree is gone (which may be before the sandbox's init is
    // reaped: see Sandbox::report_if_tree_gone).
    Supervisor(boost::asio::io_context& io, sandbox::Sandbox& sandbox,
               const sandbox::SupervisionPart& supervision, ExitHandler on_exit);
    Supervisor(const Supervisor&) = delete;
    Supervisor& operator=(const Supervisor&) = delete;
    ~Supervisor();

    void signal(int sig);
    // SIGTERM now; the whole tree killed if it has not ended after `grace`. A second stop can only
    // shorten the grace period.
    void stop(std::chrono::milliseconds grace);
    void terminate(sandbox::EndCause cause);
    bool ended() const { return ended_; }

  private:
    void on_exit_fd_readable();
    void on_command_end_readable();
    // The sandbox has ended: no limit or stop applies any more.
    void stop_watching_limits();
    void watch_oom_events();
    void check_cpu_time_after(std::optional<std::chrono::microseconds> delay);

    sandbox::Sandbox& sandbox_;
    // Borrows the sandbox's pidfd: released, not closed, on destruction.
    boost::asio::posix::stream_descriptor exit_watch_;
    boost::asio::posix::stream_descriptor command_end_watch_;
    // Borrows the sandbox's OOM eventfd, when it has one.
    boost::asio::posix::stream_descriptor oom_watch_;
    boost::asio::steady_timer wall_timer_;
    boost::asio::steady_timer cpu_timer_;
    boost::asio::steady_timer stop_timer_;
    bool stop_pending_ = false;
    bool ended_ = false;
    ExitHandler on_exit_;
};

}  // namespace resin::host
