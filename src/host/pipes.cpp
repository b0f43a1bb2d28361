#include "host/pipes.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace resin::host {
namespace {

constexpr int kPipeBytes = 1024 * 1024;

sandbox::Result<sandbox::Pipe> make_pipe() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
        return sandbox::system_error(sandbox::ErrorKind::spawn_failed, "pipe2", errno);
    }
    return sandbox::Pipe{sandbox::UniqueFd(fds[0]), sandbox::UniqueFd(fds[1])};
}

}  // namespace

void ChildStdioPipes::close_child_ends() {
    in.read.reset();
    out.write.reset();
    err.write.reset();
}

sandbox::Result<ChildStdioPipes> make_child_stdio_pipes(uid_t owner, gid_t group) {
    ChildStdioPipes pipes;
    RESIN_TRY(pipes.in, make_pipe());
    RESIN_TRY(pipes.out, make_pipe());
    RESIN_TRY(pipes.err, make_pipe());
    // Owned by the sandbox's user, the command may reopen its stdio by name (/dev/stdout). That
    // exposes the pipes to nobody else: reaching them through /proc/<pid>/fd takes ptrace access to
    // a process of the sandbox, and the sandbox's user namespace, owned by resin's uid, refuses it
    // to every other host process that shares the sandbox's uid. A resin without CAP_CHOWN
    // (capabilities granted one by one) keeps them: only reopening by name is lost.
    if (owner != ::geteuid() || group != ::getegid()) {
        for (int fd : {pipes.in.read.get(), pipes.out.write.get(), pipes.err.write.get()}) {
            if (::fchown(fd, owner, group) != 0 && errno != EPERM) {
                return sandbox::system_error(sandbox::ErrorKind::internal,
                                             "giving the stdio pipes to the sandbox's user", errno);
            }
        }
    }
    // Only resin's ends: the command gets ordinary blocking descriptors.
    for (int fd : {pipes.in.write.get(), pipes.out.read.get(), pipes.err.read.get()}) {
        RESIN_TRYV(set_nonblocking(fd));
    }
    // stdin too: fewer, larger writes and credit grants on the v2 stdin path.
    try_enlarge_pipe(pipes.in.write.get());
    try_enlarge_pipe(pipes.out.read.get());
    try_enlarge_pipe(pipes.err.read.get());
    return pipes;
}

sandbox::Result<void> set_nonblocking(int fd) {
    const int flags = ::fcntl(fd, F_GETFL);
    if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) {
        return sandbox::system_error(sandbox::ErrorKind::internal, "fcntl(O_NONBLOCK)", errno);
    }
    return sandbox::success();
}

void try_enlarge_pipe(int fd) {
    (void)::fcntl(fd, F_SETPIPE_SZ, kPipeBytes);
}

}  // namespace resin::host
