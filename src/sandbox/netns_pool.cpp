#include "sandbox/netns_pool.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "sandbox/sandbox_init.hpp"

namespace resin::sandbox {
namespace {

constexpr const char* kEntryPrefix = "ns-";

// The pool is only trusted if nobody but root could have put anything in it.
bool directory_is_safe(const char* path) {
    struct stat info {};
    return ::lstat(path, &info) == 0 && S_ISDIR(info.st_mode) && info.st_uid == 0 &&
           (info.st_mode & 07777) == 0700;
}

bool ensure_directory() {
    ::mkdir("/run/resin", 0755);
    if (::mkdir(NetnsPool::kDirectory, 0700) != 0 && errno != EEXIST) {
        return false;
    }
    return directory_is_safe(NetnsPool::kDirectory);
}

std::vector<std::string> entries() {
    std::vector<std::string> paths;
    DIR* dir = ::opendir(NetnsPool::kDirectory);
    if (dir == nullptr) {
        return paths;
    }
    const std::size_t prefix_length = std::strlen(kEntryPrefix);
    while (const dirent* entry = ::readdir(dir)) {
        if (std::strncmp(entry->d_name, kEntryPrefix, prefix_length) == 0) {
            paths.push_back(std::string(NetnsPool::kDirectory) + "/" + entry->d_name);
        }
    }
    ::closedir(dir);
    return paths;
}

// An entry's network namespace, if a namespace is pinned there (not yet, or no longer: a plain
// file).
UniqueFd open_pinned(const std::string& path) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd && ::ioctl(fd.get(), NS_GET_NSTYPE) != CLONE_NEWNET) {
        fd.reset();
    }
    return fd;
}

pid_t maker_of(const std::string& path) {
    const auto start = path.rfind('/') + 1 + std::strlen(kEntryPrefix);
    return static_cast<pid_t>(std::strtol(path.c_str() + start, nullptr, 10));
}

// Files whose maker died before pinning a namespace on them.
void sweep_unpinned() {
    for (const auto& path : entries()) {
        const pid_t maker = maker_of(path);
        if (!open_pinned(path) && maker > 0 && ::kill(maker, 0) != 0 && errno == ESRCH) {
            ::unlink(path.c_str());
        }
    }
}

// A network namespace owned by a user namespace of its own, not by the host's: the kernel
// broadcasts the host's device events (NETLINK_KOBJECT_UEVENT) to every network namespace owned by
// the initial user namespace, and to no other. A child process makes both; this (forked) worker,
// still root in the host's namespaces, pins the network namespace in the pool.
bool make_one(int serial) {
    const std::string path = std::string(NetnsPool::kDirectory) + "/" + kEntryPrefix +
                             std::to_string(::getpid()) + "-" + std::to_string(serial);
    const int fd = ::open(path.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0400);
    if (fd < 0) {
        return false;
    }
    ::close(fd);
    int ready[2];
    int done[2];
    if (::pipe2(ready, O_CLOEXEC) != 0 || ::pipe2(done, O_CLOEXEC) != 0) {
        ::unlink(path.c_str());
        return false;
    }
    const pid_t holder = ::fork();
    if (holder == 0) {
        ::close(ready[0]);
        ::close(done[1]);
        const char made = ::unshare(CLONE_NEWUSER | CLONE_NEWNET) == 0 ? 'y' : 'n';
        (void)!::write(ready[1], &made, 1);
        char byte = 0;
        (void)!::read(done[0], &byte, 1);  // end-of-file: pinned (or given up)
        ::_exit(0);
    }
    ::close(ready[1]);
    ::close(done[0]);
    char made = 'n';
    const bool unshared = holder > 0 && ::read(ready[0], &made, 1) == 1 && made == 'y';
    const std::string holder_netns = "/proc/" + std::to_string(holder) + "/ns/net";
    const bool pinned =
        unshared && ::mount(holder_netns.c_str(), path.c_str(), nullptr, MS_BIND, nullptr) == 0;
    ::close(ready[0]);
    ::close(done[1]);
    if (holder > 0) {
        ::waitpid(holder, nullptr, 0);
    }
    if (!pinned) {
        ::unlink(path.c_str());
    }
    return pinned;
}

// Whether a pooled namespace's owner is a user namespace other than resin's: an older resin pooled
// namespaces of the host's user namespace, which receive the host's device events.
bool has_own_user_namespace(int netns) {
    UniqueFd owner(::ioctl(netns, NS_GET_USERNS));
    struct stat owner_info {};
    struct stat resins_info {};
    return owner && ::fstat(owner.get(), &owner_info) == 0 &&
           ::stat("/proc/self/ns/user", &resins_info) == 0 &&
           (owner_info.st_ino != resins_info.st_ino || owner_info.st_dev != resins_info.st_dev);
}

}  // namespace

UniqueFd NetnsPool::claim(const HostCapabilities& host) {
    if (!host.privileged || !directory_is_safe(kDirectory)) {
        return UniqueFd();
    }
    for (const auto& path : entries()) {
        UniqueFd netns = open_pinned(path);
        // Unpinning is the claim: of several resins holding the same entry open, exactly one
        // unmounts it; the others drop their descriptor unused.
        if (netns && ::umount2(path.c_str(), MNT_DETACH) == 0) {
            ::unlink(path.c_str());
            if (has_own_user_namespace(netns.get())) {
                return netns;
            }
        }
    }
    return UniqueFd();
}

bool NetnsPool::fill(const HostCapabilities& host) {
    if (!host.privileged || !host.user_namespaces || !ensure_directory()) {
        return false;
    }
    sweep_unpinned();
    static int serial = 0;  // entry names are unique per process
    for (auto ready = entries().size(); ready < static_cast<std::size_t>(kTargetSize); ++ready) {
        if (!make_one(serial++)) {
            return false;
        }
    }
    return true;
}

void NetnsPool::refill_detached(const HostCapabilities& host) {
    if (!host.privileged || !host.user_namespaces) {
        return;
    }
    // Not waited for: resin's exit must not wait for the (~0.4 ms) namespace creation. resin runs
    // one sandbox and exits when its client lets go, so this worker is its last child: a zombie at
    // most until then, when init adopts and reaps it.
    if (::fork() != 0) {
        return;
    }
    ::close_range(0, ~0U, 0);  // never hold the port or a sandbox's pipes open
    // resin's handlers would write to descriptors just closed
    if (!restore_default_signals()) {
        ::_exit(1);
    }
    ::setsid();
    ::_exit(fill(host) ? 0 : 1);
}

}  // namespace resin::sandbox
