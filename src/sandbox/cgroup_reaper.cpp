#include "sandbox/cgroup_reaper.hpp"

#include <fcntl.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <vector>

#include "sandbox/sandbox_init.hpp"

namespace resin::sandbox {
namespace {

// Each round waits up to 200 ms per busy cgroup (remove_cgroup_directory): 10 s in all at most.
constexpr int kRounds = 50;

// Blocks until every write end of the pipe is closed: the owner has ended.
void wait_for_end_of(int read_end) {
    char byte = 0;
    for (;;) {
        const ssize_t got = ::read(read_end, &byte, 1);
        if (got == 0 || (got < 0 && errno != EINTR)) {
            return;
        }
    }
}

[[noreturn]] void reap_after_owner(int read_end, CgroupVersion version,
                                   const std::vector<std::string>& parents,
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
    wait_for_end_of(0);
    // A cgroup stays busy until its last task has finished exiting, which for a sandbox dying
    // with resin (its init's parent-death signal) may take longer than one removal waits:
    // come back to what is left, bounded.
    for (int round = 0; round < kRounds; ++round) {
        bool left = false;
        for (const auto& parent : parents) {
            for (const auto& directory : sandbox_cgroups_named(parent, prefix)) {
                left = !kill_and_remove_sandbox_cgroup(version, directory) || left;
            }
        }
        if (!left) {
            break;
        }
    }
    ::_exit(0);
}

}  // namespace

void start_cgroup_reaper(const CgroupLayout& layout, const CgroupSupport& support) {
    static bool started = false;
    if (started || !support.any()) {
        return;
    }
    const auto parents = sandbox_cgroup_parents(layout, support);
    if (parents.empty()) {
        return;
    }
    started = true;
    int ends[2];
    if (::pipe2(ends, O_CLOEXEC) != 0) {
        return;
    }
    const std::string prefix = own_sandbox_cgroup_prefix();
    const pid_t pid = ::fork();
    if (pid == 0) {
        ::close(ends[1]);
        reap_after_owner(ends[0], support.version, parents, prefix);
    }
    ::close(ends[0]);
    if (pid < 0) {
        ::close(ends[1]);
        return;
    }
    // The write end stays open, close-on-exec, until this process ends. The sandbox's init closes
    // its copy with every other descriptor (install_descriptors), the netns worker at its start.
}

}  // namespace resin::sandbox
