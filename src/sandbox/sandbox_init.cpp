#include "sandbox/sandbox_init.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "sandbox/launch_channel.hpp"

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

void supervise_command(pid_t command, int status_socket) {
    sigset_t all;
    ::sigfillset(&all);
    for (;;) {
        siginfo_t info{};
        const int sig = ::sigwaitinfo(&all, &info);
        if (sig < 0) {
            continue;  // EINTR
        }
        if (sig != SIGCHLD) {
            if (forwardable(sig)) {
                ::kill(command, sig);
            }
            continue;
        }
        int status = 0;
        pid_t pid;
        while ((pid = ::waitpid(-1, &status, WNOHANG | __WALL)) > 0) {
            if (pid == command) {
                send_command_status(status_socket, status);
                ::_exit(0);
            }
        }
    }
}

}  // namespace resin::sandbox
