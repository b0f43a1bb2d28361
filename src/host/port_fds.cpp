#include "host/port_fds.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "host/pipes.hpp"

namespace resin::host {
namespace {

constexpr int kPortInFd = 3;
constexpr int kPortOutFd = 4;
constexpr int kFirstPrivateFd = 5;

sandbox::Error failure(const char* what, int err) {
    return sandbox::system_error(sandbox::ErrorKind::internal, what, err);
}

sandbox::Result<sandbox::UniqueFd> move_to_private_fd(int fd) {
    if (::fcntl(fd, F_GETFD) < 0) {
        return sandbox::Error{sandbox::ErrorKind::internal,
                              "--port needs the port on fds 3 and 4 (an Erlang port opened with "
                              ":nouse_stdio), but fd " +
                                  std::to_string(fd) + " is not open",
                              "", EBADF};
    }
    sandbox::UniqueFd moved(::fcntl(fd, F_DUPFD_CLOEXEC, kFirstPrivateFd));
    if (!moved) {
        return failure("fcntl(F_DUPFD_CLOEXEC)", errno);
    }
    ::close(fd);
    RESIN_TRYV(set_nonblocking(moved.get()));
    return moved;
}

// fd 0 reads nothing; fd 1 goes where fd 2 goes (or nowhere if fd 2 is closed too).
sandbox::Result<void> redirect_stdio() {
    sandbox::UniqueFd null(::open("/dev/null", O_RDWR | O_CLOEXEC));
    if (!null) {
        return failure("open /dev/null", errno);
    }
    if (::dup2(null.get(), STDIN_FILENO) < 0) {
        return failure("dup2 /dev/null to fd 0", errno);
    }
    const int stdout_target = ::fcntl(STDERR_FILENO, F_GETFD) >= 0 ? STDERR_FILENO : null.get();
    if (::dup2(stdout_target, STDOUT_FILENO) < 0) {
        return failure("dup2 to fd 1", errno);
    }
    if (stdout_target == null.get() && ::dup2(null.get(), STDERR_FILENO) < 0) {
        return failure("dup2 /dev/null to fd 2", errno);
    }
    return sandbox::success();
}

}  // namespace

sandbox::Result<PortFds> take_over_port_fds() {
    PortFds port;
    RESIN_TRY(port.in, move_to_private_fd(kPortInFd));
    RESIN_TRY(port.out, move_to_private_fd(kPortOutFd));
    RESIN_TRYV(redirect_stdio());
    try_enlarge_pipe(port.out.get());
    return port;
}

}  // namespace resin::host
