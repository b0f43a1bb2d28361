#include "host/terminal_state.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <unistd.h>

namespace resin::host {

TerminalState::TerminalState() {
    for (int fd = 0; fd < 3; ++fd) {
        Saved saved{fd, {}, 0, 0, 0};
        if (::tcgetattr(fd, &saved.modes) != 0 || (saved.status_flags = ::fcntl(fd, F_GETFL)) < 0 ||
            ::ioctl(fd, TIOCGETD, &saved.line_discipline) != 0 ||
            ::ioctl(fd, TIOCGEXCL, &saved.exclusive) != 0) {
            continue;  // not a terminal (or not one resin can put back: then it changes nothing)
        }
        saved_.push_back(saved);
    }
}

TerminalState::~TerminalState() {
    restore();
}

void TerminalState::restore() {
    if (saved_.empty()) {
        return;
    }
    // From a background job, changing the terminal would stop resin with SIGTTOU; blocked, the
    // change is made.
    sigset_t ttou;
    sigset_t previous;
    ::sigemptyset(&ttou);
    ::sigaddset(&ttou, SIGTTOU);
    ::pthread_sigmask(SIG_BLOCK, &ttou, &previous);
    for (const Saved& saved : saved_) {
        int discipline = saved.line_discipline;
        if (::ioctl(saved.fd, TIOCGETD, &discipline) == 0 && discipline != saved.line_discipline) {
            ::ioctl(saved.fd, TIOCSETD, &saved.line_discipline);
        }
        ::tcsetattr(saved.fd, TCSANOW, &saved.modes);
        ::fcntl(saved.fd, F_SETFL, saved.status_flags);
        ::ioctl(saved.fd, saved.exclusive != 0 ? TIOCEXCL : TIOCNXCL);
        ::tcflow(saved.fd, TCOON);  // output the command stopped (TCOOFF) flows again
    }
    ::pthread_sigmask(SIG_SETMASK, &previous, nullptr);
    saved_.clear();
}

}  // namespace resin::host
