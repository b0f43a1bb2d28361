#include "sandbox/namespace_owner.hpp"

#include <fcntl.h>
#include <linux/securebits.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <optional>
#include <random>
#include <string>

namespace resin::sandbox {
namespace {

// Only a directory nobody but root could have filled is trusted with the locks.
bool directory_is_safe(const char* path) {
    struct stat info {};
    return ::lstat(path, &info) == 0 && S_ISDIR(info.st_mode) && info.st_uid == 0 &&
           (info.st_mode & 07777) == 0700;
}

Result<void> ensure_directory(const std::string& directory) {
    ::mkdir("/run/resin", 0755);
    if (::mkdir(directory.c_str(), 0700) != 0 && errno != EEXIST) {
        return system_error(ErrorKind::spawn_failed, "creating " + directory, errno);
    }
    if (!directory_is_safe(directory.c_str())) {
        return Error{ErrorKind::spawn_failed,
                     directory +
                         " is not a root-owned 0700 directory: refusing to allocate sandbox uids "
                         "from it",
                     "", 0};
    }
    return success();
}

std::string lock_path(const std::string& directory, uid_t offset) {
    return directory + "/" + std::to_string(NamespaceOwner::kFirstUid + offset);
}

bool lock_file_exists(const std::string& directory, uid_t offset) {
    struct stat info {};
    return ::lstat(lock_path(directory, offset).c_str(), &info) == 0;
}

// The lock files are made in order, from the first uid up, only ever the first missing one: their
// number is the first offset without one. Found in O(log n) stats (and no directory read, whose
// cost grows with every file a resin of the past left). A file removed since (by an admin, or a
// cleanup) is a gap: the claims that come across it make it again (claim), and until then the
// count may stop at it or run past it.
uid_t lock_file_count(const std::string& directory) {
    uid_t missing = 1;
    while (missing < NamespaceOwner::kUidCount && lock_file_exists(directory, missing - 1)) {
        missing = std::min<uid_t>(NamespaceOwner::kUidCount, missing * 2);
    }
    uid_t present = missing / 2;  // every offset below exists, as far as the doubling saw
    if (!lock_file_exists(directory, missing - 1)) {
        while (present + 1 < missing) {
            const uid_t middle = present + (missing - present) / 2;
            (lock_file_exists(directory, middle - 1) ? present : missing) = middle;
        }
        return present;
    }
    return missing;
}

bool same_file(const struct stat& a, const struct stat& b) {
    return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

// The uid's lock, made if it is missing, if this process got it; nullopt if another holds it, or
// if the file was removed (and perhaps made again) between the open and the lock: a lock on a file
// no longer at the uid's path protects nothing.
Result<std::optional<UniqueFd>> try_lock(const std::string& directory, uid_t offset) {
    const std::string path = lock_path(directory, offset);
    UniqueFd lock(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_CREAT, 0600));
    if (!lock) {
        return system_error(ErrorKind::spawn_failed, "opening " + path, errno);
    }
    if (::flock(lock.get(), LOCK_EX | LOCK_NB) != 0) {
        if (errno != EWOULDBLOCK) {
            return system_error(ErrorKind::spawn_failed, "locking " + path, errno);
        }
        return std::optional<UniqueFd>();
    }
    struct stat locked {};
    struct stat named {};
    if (::fstat(lock.get(), &locked) != 0) {
        return system_error(ErrorKind::spawn_failed, "checking " + path, errno);
    }
    if (::lstat(path.c_str(), &named) != 0 || !same_file(locked, named)) {
        return std::optional<UniqueFd>();
    }
    return std::optional<UniqueFd>(std::move(lock));
}

std::minstd_rand& random_engine() {
    static std::minstd_rand engine(std::random_device{}());
    return engine;
}

}  // namespace

Result<NamespaceOwner> NamespaceOwner::claim(const HostCapabilities& host) {
    return claim(host, kDirectory);
}

Result<NamespaceOwner> NamespaceOwner::claim(const HostCapabilities& host,
                                             const std::string& directory) {
    if (!host.privileged) {
        return NamespaceOwner(host.euid, UniqueFd());
    }
    RESIN_TRYV(ensure_directory(directory));
    // A few tries among the existing lock files, from a random one; when they are all held, the
    // next file is made. So the files number about what the most sandboxes alive at once needed
    // (with a few tries failing only when most are held: below about two thirds, rarely), a claim
    // costs a few locks however many are alive (from the lowest, every held uid below the first
    // free one cost a try: +3 ms a start at 1,000 alive), and nothing grows with the sandboxes
    // started over time (a random uid among twice the files, as before, made a new file every
    // other claim). A try that finds its file missing (a gap: removed since it was made) makes it
    // again and takes it, as does the first claim past the files that meets a gap the count stopped
    // at: gaps are filled, not skipped for ever while new files are made past them. flock makes a
    // uid one live sandbox's whichever way its file came to be.
    constexpr uid_t kTries = 8;
    const uid_t count = lock_file_count(directory);
    if (count > 0) {
        const uid_t first = std::uniform_int_distribution<uid_t>(0, count - 1)(random_engine());
        for (uid_t attempt = 0; attempt < std::min(kTries, count); ++attempt) {
            const uid_t offset = (first + attempt) % count;
            RESIN_TRY(auto lock, try_lock(directory, offset));
            if (lock) {
                return NamespaceOwner(kFirstUid + offset, std::move(*lock));
            }
        }
    }
    for (uid_t offset = count; offset < kUidCount; ++offset) {
        RESIN_TRY(auto lock, try_lock(directory, offset));
        if (lock) {
            return NamespaceOwner(kFirstUid + offset, std::move(*lock));
        }
    }
    return Error{ErrorKind::spawn_failed,
                 "every sandbox uid is taken (" + std::to_string(kUidCount) + " live sandboxes)",
                 "", 0};
}

EffectiveUidForClone::EffectiveUidForClone(const NamespaceOwner& owner) {
    if (!owner.is_reserved()) {
        return;
    }
    dumpable_ = ::prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
    previous_euid_ = ::geteuid();
    // Keep this thread's capabilities across the euid change: without CAP_SYS_ADMIN the clone would
    // be an unprivileged user namespace, which hosts may forbid
    // (kernel.unprivileged_userns_clone=0, Ubuntu's AppArmor restriction). The owner is the euid
    // either way. The child does not inherit the bit: a new user namespace starts with the default
    // securebits.
    securebits_ = ::prctl(PR_GET_SECUREBITS, 0, 0, 0, 0);
    if (securebits_ >= 0 &&
        ::prctl(PR_SET_SECUREBITS, static_cast<unsigned long>(securebits_) | SECBIT_NO_SETUID_FIXUP,
                0, 0, 0) != 0) {
        securebits_ = -1;  // without CAP_SETPCAP: switch anyway, the capabilities go meanwhile
    }
    if (::syscall(SYS_setresuid, -1, owner.uid(), -1) != 0) {
        err_ = errno;
        restore_securebits();
        return;
    }
    switched_ = true;
}

EffectiveUidForClone::~EffectiveUidForClone() {
    if (switched_) {
        // Back to the euid resin had (root, or a uid with capabilities), which the real or saved
        // uid still holds.
        (void)::syscall(SYS_setresuid, -1, previous_euid_, -1);
        restore_securebits();
        // Each euid change reset it to fs.suid_dumpable.
        if (dumpable_ >= 0) {
            ::prctl(PR_SET_DUMPABLE, dumpable_, 0, 0, 0);
        }
    }
}

void EffectiveUidForClone::restore_securebits() {
    if (securebits_ >= 0) {
        ::prctl(PR_SET_SECUREBITS, static_cast<unsigned long>(securebits_), 0, 0, 0);
    }
}

}  // namespace resin::sandbox
