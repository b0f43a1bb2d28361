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

// Moves this (forked) process into a new network namespace and pins it in the pool.
bool make_one(int serial) {
    const std::string path = std::string(NetnsPool::kDirectory) + "/" + kEntryPrefix +
                             std::to_string(::getpid()) + "-" + std::to_string(serial);
    const int fd = ::open(path.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0400);
    if (fd < 0) {
        return false;
    }
    ::close(fd);
    if (::unshare(CLONE_NEWNET) != 0 ||
        ::mount("/proc/self/ns/net", path.c_str(), nullptr, MS_BIND, nullptr) != 0) {
        ::unlink(path.c_str());
        return false;
    }
    return true;
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
            return netns;
        }
    }
    return UniqueFd();
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
    ::close_range(0, ~0U, 0);   // never hold the port or a sandbox's pipes open
    restore_default_signals();  // resin's handlers would write to descriptors just closed
    ::setsid();
    if (!ensure_directory()) {
        ::_exit(1);
    }
    sweep_unpinned();
    const auto ready = static_cast<int>(entries().size());
    for (int serial = ready; serial < kTargetSize; ++serial) {
        if (!make_one(serial)) {
            ::_exit(1);
        }
    }
    ::_exit(0);
}

}  // namespace resin::sandbox
