#include "sandbox/sandbox_init.hpp"

#include <poll.h>
#include <seccomp.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <optional>

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

void prepare_init_signals() {
    sigset_t all;
    ::sigfillset(&all);
    ::sigprocmask(SIG_BLOCK, &all, nullptr);
    struct sigaction action {};
    action.sa_handler = ignore_signal;
    ::sigfillset(&action.sa_mask);
    for (int sig = 1; sig < NSIG; ++sig) {
        if (forwardable(sig) || sig == SIGCHLD) {
            ::sigaction(sig, &action, nullptr);  // EINVAL for libc-reserved signals: fine
        }
    }
}

void restore_default_signals() {
    struct sigaction action {};
    action.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; ++sig) {
        ::sigaction(sig, &action, nullptr);
    }
    sigset_t none;
    ::sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
}

namespace {

class Supervisor {
  public:
    Supervisor(pid_t command, int status_socket, int listener_socket)
        : command_(command), status_socket_(status_socket), listener_socket_(listener_socket) {
        sigset_t all;
        ::sigfillset(&all);
        signals_ = ::signalfd(-1, &all, SFD_CLOEXEC);
    }

    [[noreturn]] void run() {
        for (;;) {
            pollfd fds[3] = {
                {signals_, POLLIN, 0}, {listener_socket_, POLLIN, 0}, {listener_, POLLIN, 0}};
            if (::poll(fds, 3, -1) < 0) {
                continue;  // EINTR
            }
            if (fds[1].revents != 0) {
                listener_ = receive_descriptor(listener_socket_);
                ::close(listener_socket_);
                listener_socket_ = -1;  // poll ignores negative descriptors
            }
            if (fds[2].revents & POLLIN) {
                kill_seccomp_offender();
            } else if (fds[2].revents != 0) {
                ::close(listener_);  // no process is left under the filter
                listener_ = -1;
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
        int status = 0;
        pid_t pid;
        while ((pid = ::waitpid(-1, &status, WNOHANG | __WALL)) > 0) {
            if (pid == command_) {
                if (offence_) {
                    send_seccomp_kill(status_socket_, offence_->syscall, offence_->arch,
                                      offence_->was_command);
                }
                send_command_status(status_socket_, status);
                ::_exit(0);
            }
        }
    }

    // A syscall the filter denies under "kill": note which, then kill the process that made it.
    void kill_seccomp_offender() {
        if (notification_ == nullptr && seccomp_notify_alloc(&notification_, &response_) != 0) {
            return;
        }
        if (seccomp_notify_receive(listener_, notification_) != 0) {
            return;  // the caller died meanwhile
        }
        // The notification names the calling thread; pin its whole process, then make sure the
        // notification is still pending: only then is the pidfd sure to be the caller's process and
        // not a newer one that reused its pid.
        const auto thread = static_cast<pid_t>(notification_->pid);
        const pid_t process = thread_group_of(thread);
        UniqueFd target(open_pidfd(process));
        if (!target || seccomp_notify_id_valid(listener_, notification_->id) != 0) {
            return;  // the caller died meanwhile
        }
        const bool is_command = process == command_;
        if (!offence_ || (is_command && !offence_->was_command)) {
            offence_ = SeccompKill{notification_->data.nr, notification_->data.arch, is_command};
        }
        signal_pidfd(target.get(), SIGKILL);
        response_->id = notification_->id;
        response_->error = -EPERM;
        seccomp_notify_respond(listener_, response_);  // may fail: the caller is already gone
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
    int signals_ = -1;
    int listener_ = -1;
    seccomp_notif* notification_ = nullptr;
    seccomp_notif_resp* response_ = nullptr;
    std::optional<SeccompKill> offence_;
};

}  // namespace

void supervise_command(pid_t command, int status_socket, int listener_socket) {
    Supervisor(command, status_socket, listener_socket).run();
}

}  // namespace resin::sandbox
