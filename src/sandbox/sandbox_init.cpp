#include "sandbox/sandbox_init.hpp"

#include <linux/seccomp.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>

#include "sandbox/kernel_signals.hpp"
#include "sandbox/launch_channel.hpp"
#include "sandbox/pidfd.hpp"
#include "sandbox/unique_fd.hpp"

namespace resin::sandbox {
namespace {

void ignore_signal(int) {}

bool forwardable(int sig) {
    return sig != SIGKILL && sig != SIGSTOP && sig != SIGCHLD;
}

}  // namespace

bool prepare_init_signals() {
    return kernel_signals::block(kernel_signals::kEverySignal) &&
           kernel_signals::set_every_disposition(ignore_signal);
}

bool reset_signal_dispositions() {
    return kernel_signals::set_every_disposition(SIG_DFL);
}

bool restore_default_signals() {
    return reset_signal_dispositions() && kernel_signals::set_mask(0);
}

bool discard_pending_signals() {
    return kernel_signals::discard_pending();
}

bool discard_pending_then_unblock_signals() {
    return discard_pending_signals() && kernel_signals::set_mask(0);
}

namespace {

// The kernel's CPU-time clock of process `pid` that RLIMIT_CPU is checked against (CPUCLOCK_PROF:
// user plus system time, as sampled), readable until the process is reaped.
std::uint64_t process_cpu_ns(pid_t pid) {
    const auto clock = static_cast<clockid_t>((~static_cast<unsigned>(pid) << 3) | 0u);
    timespec time{};
    if (::clock_gettime(clock, &time) != 0) {
        return 0;
    }
    return static_cast<std::uint64_t>(time.tv_sec) * 1000000000u +
           static_cast<std::uint64_t>(time.tv_nsec);
}

class Supervisor {
  public:
    Supervisor(pid_t command, int status_socket, int listener_socket, int listener,
               DenialLog* denials)
        : command_(command),
          status_socket_(status_socket),
          listener_socket_(listener_socket),
          denials_(denials),
          listener_(listener) {
        // Non-blocking: handle_signals() reads until nothing is left, and a read that waited for
        // the next signal would stop init from answering the listener meanwhile (the command can
        // send init signals whenever it likes).
        signals_ =
            kernel_signals::open_signalfd(kernel_signals::kEverySignal, SFD_CLOEXEC | SFD_NONBLOCK);
    }

    [[noreturn]] void run() {
        reap();  // the command may have ended before the start, its SIGCHLD discarded
        for (;;) {
            pollfd fds[3] = {
                {signals_, POLLIN, 0}, {listener_socket_, POLLIN, 0}, {listener_, POLLIN, 0}};
            if (::poll(fds, 3, -1) < 0) {
                continue;  // EINTR
            }
            if (fds[1].revents != 0) {
                // The listener of filters installed after the start; end-of-file otherwise.
                if (const int later = receive_descriptor(listener_socket_); later >= 0) {
                    listener_ = later;
                }
                ::close(listener_socket_);
                listener_socket_ = -1;  // poll ignores negative descriptors
            }
            if (fds[2].revents & POLLIN) {
                kill_seccomp_offender();
            } else if (fds[2].revents != 0) {
                stop_listening();  // no process is left under the filter
            }
            if (fds[0].revents & POLLIN) {
                handle_signals();
            }
        }
    }

  private:
    void handle_signals() {
        signalfd_siginfo info{};
        while (::read(signals_, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
            const int sig = static_cast<int>(info.ssi_signo);
            if (sig == SIGCHLD) {
                reap();
            } else if (forwardable(sig)) {
                ::kill(command_, sig);
            }
        }
    }

    void reap() {
        // Each ended child is looked at before it is reaped: the command's CPU time can only be
        // read while it is a zombie.
        for (;;) {
            siginfo_t ended{};
            if (::waitid(P_ALL, 0, &ended, WEXITED | WNOHANG | WNOWAIT | __WALL) != 0 ||
                ended.si_pid == 0) {
                return;
            }
            const pid_t pid = ended.si_pid;
            const std::uint64_t command_cpu_ns = pid == command_ ? process_cpu_ns(pid) : 0;
            int status = 0;
            if (::waitpid(pid, &status, __WALL) != pid) {
                return;
            }
            if (pid == command_) {
                drain_listener();
                send_command_status(status_socket_, status, command_cpu_ns, only_init_is_left());
                kill_everything_then_exit();
            }
        }
    }

    // Whether the command's whole tree is gone. Every other process of the pid namespace descends
    // from init: with no child of init left, running or ended (those are reaped here), none is.
    static bool only_init_is_left() {
        for (;;) {
            siginfo_t ended{};
            if (::waitid(P_ALL, 0, &ended, WEXITED | WNOHANG | __WALL) != 0) {
                return errno == ECHILD;
            }
            if (ended.si_pid == 0) {
                return false;  // one is still running
            }
        }
    }

    // Every process of the sandbox first, while init still holds the listener: once it is closed
    // the kernel answers pending denials with ENOSYS and their callers would run on, unnamed,
    // until the pid namespace is torn down.
    [[noreturn]] static void kill_everything_then_exit() {
        ::kill(-1, SIGKILL);
        ::_exit(0);
    }

    // The command has ended, and the sandbox with it once init exits: first the denials already
    // waiting, which would otherwise vanish unnamed with their callers. Bounded, as processes
    // still running may keep making more.
    void drain_listener() {
        constexpr int kMostDrained = 10000;
        for (int drained = 0; listener_ >= 0 && drained < kMostDrained; ++drained) {
            pollfd pending{listener_, POLLIN, 0};
            if (::poll(&pending, 1, 0) <= 0 || (pending.revents & POLLIN) == 0) {
                return;
            }
            kill_seccomp_offender();
        }
    }

    void stop_listening() {
        ::close(listener_);
        listener_ = -1;
    }

    // A syscall the filter sends here (a denial under "kill", another ABI under any action): note
    // which, then kill the process that made it. Every notification, the thousandth like the first.
    void kill_seccomp_offender() {
        // The kernel refuses to receive into a struct that is not zeroed (EINVAL), and the
        // notification would then stay pending, its caller blocked for ever: a fresh one each time.
        seccomp_notif notification{};
        if (::ioctl(listener_, SECCOMP_IOCTL_NOTIF_RECV, &notification) != 0) {
            if (errno == ENOENT || errno == EINTR) {
                return;  // its caller died (or was interrupted) meanwhile: nothing pending
            }
            end_sandbox(errno);  // init cannot learn who made a denied syscall
            return;
        }
        // The notification names the calling thread; pin its whole process, then make sure the
        // notification is still pending: only then is the pidfd sure to be the caller's process and
        // not a newer one that reused its pid.
        const auto thread = static_cast<pid_t>(notification.pid);
        const pid_t process = thread_group_of(thread);
        UniqueFd target(open_pidfd(process));
        const int open_error = errno;
        std::uint64_t id = notification.id;
        if (::ioctl(listener_, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) != 0) {
            return;  // the caller died meanwhile
        }
        if (!target) {
            end_sandbox(open_error);  // a caller init cannot kill must not stay blocked or go on
            return;
        }
        denials_->record(notification.data.arch, notification.data.nr, process == command_);
        signal_pidfd(target.get(), SIGKILL);
        seccomp_notif_resp response{};
        response.id = notification.id;
        response.error = -EPERM;
        ::ioctl(listener_, SECCOMP_IOCTL_NOTIF_SEND, &response);  // fails: the caller is gone
    }

    // Fails closed when a denial cannot be handled: rather than poll a listener that keeps failing
    // or leave a caller blocked, init kills the command, and with its end the whole sandbox.
    void end_sandbox(int error) {
        denials_->failure_errno = error;
        ::kill(-1, SIGKILL);  // the command and all else, before the listener answers ENOSYS
        stop_listening();
    }

    static pid_t thread_group_of(pid_t tid) {
        char path[64];
        std::snprintf(path, sizeof path, "/proc/%d/status", tid);
        FILE* status = std::fopen(path, "re");
        pid_t tgid = tid;
        if (status != nullptr) {
            char line[128];
            while (std::fgets(line, sizeof line, status) != nullptr) {
                if (std::sscanf(line, "Tgid: %d", &tgid) == 1) {
                    break;
                }
            }
            std::fclose(status);
        }
        return tgid;
    }

    pid_t command_;
    int status_socket_;
    int listener_socket_;
    DenialLog* denials_;
    int signals_ = -1;
    int listener_ = -1;
};

}  // namespace

void supervise_command(pid_t command, int status_socket, int listener_socket, int listener,
                       DenialLog* denials) {
    Supervisor(command, status_socket, listener_socket, listener, denials).run();
}

}  // namespace resin::sandbox
