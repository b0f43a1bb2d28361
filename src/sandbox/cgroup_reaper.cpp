#include "sandbox/cgroup_reaper.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "sandbox/pidfd.hpp"
#include "sandbox/sandbox_init.hpp"

namespace resin::sandbox {
namespace {

// Each round waits up to 200 ms per busy cgroup (remove_cgroup_directory): 10 s in all at most.
constexpr int kRounds = 50;

// What the owner's side knows of its reaper: the parents it watches (by index, one byte each).
struct Reaper {
    std::mutex mutex;
    bool started = false;
    int write_end = -1;  // open until this process ends
    std::vector<CgroupDirectory> parents;
    std::vector<bool> told;
};

Reaper& reaper() {
    static Reaper instance;
    return instance;
}

// Marks the parents whose indexes have arrived on `socket`, reading until nothing is left; false
// at its end (every copy of the owner's end closed) or on an error.
bool read_watches(int socket, std::vector<bool>& watched) {
    std::uint8_t indexes[64];
    for (;;) {
        const ssize_t got = ::recv(socket, indexes, sizeof indexes, MSG_DONTWAIT);
        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got < 0 && errno == EAGAIN) {
            return true;
        }
        if (got <= 0) {
            return false;
        }
        for (ssize_t i = 0; i < got; ++i) {
            if (indexes[i] < watched.size()) {
                watched[indexes[i]] = true;
            }
        }
    }
}

// Blocks until this process is no longer the child of `owner`: the kernel reparents it when the
// owner has ended. For when a pidfd cannot tell (a kernel without pidfd_open, a poll that cannot
// wait): a check every 50 ms, rather than taking the socket's end for the owner's.
void wait_until_reparented_from(pid_t owner) {
    while (::getppid() == owner) {
        ::usleep(50'000);
    }
}

// Blocks until the owner has ended, marking the parents whose index arrives meanwhile on `socket`.
// The owner's end is its pidfd (`owner_fd`) becoming readable: the socket's end only says that no
// copy of the write end is left, which a descriptor closed by mistake or passed on also does while
// the owner lives, and then it just means no more watches.
void wait_for_end_of(pid_t owner, int owner_fd, int socket, std::vector<bool>& watched) {
    for (;;) {
        if (owner_fd < 0 && socket < 0) {
            wait_until_reparented_from(owner);  // poll would wait on nothing, for ever
            break;
        }
        pollfd fds[2] = {{socket, POLLIN, 0}, {owner_fd, POLLIN, 0}};
        const int ready = ::poll(fds, 2, -1);
        if (ready < 0 && (errno == EINTR || errno == EAGAIN || errno == ENOMEM)) {
            continue;  // both descriptors are still valid: wait again
        }
        if (ready < 0) {
            wait_until_reparented_from(owner);
            break;
        }
        if (fds[0].revents != 0 && !read_watches(socket, watched)) {
            ::close(socket);
            socket = -1;  // poll ignores negative descriptors
        }
        if (fds[1].revents != 0) {
            break;
        }
    }
    if (socket >= 0) {
        read_watches(socket, watched);  // what the owner sent before it ended
    }
}

[[noreturn]] void reap_after_owner(pid_t owner, int read_end,
                                   const std::vector<CgroupDirectory>& parents,
                                   const std::string& prefix) {
    // Holds nothing of resin's (the port, a sandbox's pipes, the signal pipe) and gets no
    // terminal signal meant for resin's process group.
    if (::dup2(read_end, 0) != 0) {
        ::_exit(1);
    }
    ::close_range(1, ~0U, 0);
    (void)restore_default_signals();  // should the kernel refuse, the cleanup matters more
    ::setsid();
    ::prctl(PR_SET_NAME, "resin-reaper");
    std::vector<bool> watched(parents.size(), false);
    // The pidfd names the owner only if it is still this process's parent once it is open: a pid
    // freed by the owner's death may have been reused since.
    const int owner_fd = open_pidfd(owner);
    if (::getppid() == owner) {
        wait_for_end_of(owner, owner_fd, 0, watched);
    } else {
        read_watches(0, watched);  // the owner has ended already
    }
    // A cgroup stays busy until its last task has finished exiting, which for a sandbox dying
    // with resin (its init's parent-death signal) may take longer than one removal waits:
    // come back to what is left, bounded.
    for (int round = 0; round < kRounds; ++round) {
        bool left = false;
        for (std::size_t i = 0; i < parents.size(); ++i) {
            if (!watched[i]) {
                continue;
            }
            for (auto& path : sandbox_cgroups_named(parents[i].path, prefix)) {
                left =
                    !kill_and_remove_sandbox_cgroup({parents[i].version, std::move(path)}) || left;
            }
        }
        if (!left) {
            break;
        }
    }
    ::_exit(0);
}

}  // namespace

void start_cgroup_reaper(const CgroupLayout& layout, const CgroupSupport& support,
                         bool port_allowlist) {
    Reaper& state = reaper();
    const std::lock_guard lock(state.mutex);
    if (state.started) {
        return;
    }
    auto parents = sandbox_cgroup_parents(layout, support, port_allowlist);
    if (parents.empty()) {
        return;
    }
    state.started = true;
    // A socket pair rather than a pipe: telling a reaper that was killed is an EPIPE, not a
    // SIGPIPE (MSG_NOSIGNAL).
    int ends[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ends) != 0) {
        return;
    }
    const std::string prefix = own_sandbox_cgroup_prefix();
    const pid_t owner = ::getpid();
    const pid_t pid = ::fork();
    if (pid == 0) {
        ::close(ends[1]);
        reap_after_owner(owner, ends[0], parents, prefix);
    }
    ::close(ends[0]);
    if (pid < 0) {
        ::close(ends[1]);
        return;
    }
    // The write end stays open, close-on-exec, until this process ends. The sandbox's init closes
    // its copy with every other descriptor (install_descriptors), the netns worker at its start.
    state.write_end = ends[1];
    state.told.assign(parents.size(), false);
    state.parents = std::move(parents);
}

void cgroup_reaper_watch(const std::string& parent) {
    Reaper& state = reaper();
    const std::lock_guard lock(state.mutex);
    for (std::size_t i = 0; i < state.parents.size() && state.write_end >= 0; ++i) {
        if (state.parents[i].path != parent || state.told[i]) {
            continue;
        }
        const auto index = static_cast<std::uint8_t>(i);
        ssize_t written;
        do {
            written = ::send(state.write_end, &index, 1, MSG_NOSIGNAL | MSG_DONTWAIT);
        } while (written < 0 && errno == EINTR);
        state.told[i] = written == 1;
    }
}

}  // namespace resin::sandbox
