// Pipes between resin and the sandboxed command, with resin's ends non-blocking.
#pragma once

#include <sys/types.h>

#include "config/result.hpp"
#include "sandbox/sandbox.hpp"
#include "sandbox/unique_fd.hpp"

namespace resin::host {

// The command's stdin, stdout and stderr pipes. resin keeps `in.write`, `out.read` and `err.read`
// (non-blocking); the other ends go to Sandbox::launch and are closed once it returns.
struct ChildStdioPipes {
    sandbox::Pipe in;
    sandbox::Pipe out;
    sandbox::Pipe err;

    sandbox::Stdio child_ends() const {
        return {in.read.get(), out.write.get(), err.write.get(), true};
    }
    void close_child_ends();
};

// The pipes belong to the sandbox's user (`owner`/`group` on the host), so that the command can
// reopen its own stdio as /dev/stdout or /dev/fd/1: a pipe's inode is mode 0600.
sandbox::Result<ChildStdioPipes> make_child_stdio_pipes(uid_t owner, gid_t group);

sandbox::Result<void> set_nonblocking(int fd);

// Asks for a 1 MiB pipe buffer, so each wakeup moves more bytes. Not every fd is a pipe, and an
// unprivileged user may be capped lower: failure changes only speed.
void try_enlarge_pipe(int fd);

}  // namespace resin::host
