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

Result<void> ensure_directory() {
    ::mkdir("/run/resin", 0755);
    if (::mkdir(NamespaceOwner::kDirectory, 0700) != 0 && errno != EEXIST) {
        return system_error(ErrorKind::spawn_failed,
                            std::string("creating ") + NamespaceOwner::kDirectory, errno);
    }
    if (!directory_is_safe(NamespaceOwner::kDirectory)) {
        return Error{ErrorKind::spawn_failed,
                     std::string(NamespaceOwner::kDirectory) +
                         " is not a root-owned 0700 directory: refusing to allocate sandbox uids "
                         "from it",
                     "", 0};
    }
    return success();
}

std::string lock_path(uid_t offset) {
    return std::string(NamespaceOwner::kDirectory) + "/" +
           std::to_string(NamespaceOwner::kFirstUid + offset);
}

bool lock_file_exists(uid_t offset) {
    struct stat info {};
    return ::lstat(lock_path(offset).c_str(), &info) == 0;
}

// The lock files are made in order, from the first uid up, only ever the first missing one: their
// number is the first offset without one. Found in O(log n) stats (and no directory read, whose
// cost grows with every file a resin of the past left).
uid_t lock_file_count() {
    uid_t missing = 1;
    while (missing < NamespaceOwner::kUidCount && lock_file_exists(missing - 1)) {
        missing = std::min<uid_t>(NamespaceOwner::kUidCount, missing * 2);
    }
    uid_t present = missing / 2;  // every offset below exists, as far as the doubling saw
    if (!lock_file_exists(missing - 1)) {
        while (present + 1 < missing) {
            const uid_t middle = present + (missing - present) / 2;
            (lock_file_exists(middle - 1) ? present : missing) = middle;
        }
        return present;
    }
    return missing;
}

// The uid's lock, if this process got it; nullopt if another holds it.
Result<std::optional<UniqueFd>> try_lock(uid_t offset, int create) {
    const std::string path = lock_path(offset);
    UniqueFd lock(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | create, 0600));
    if (!lock) {
        if (errno == ENOENT && create == 0) {
            return std::optional<UniqueFd>();
        }
        return system_error(ErrorKind::spawn_failed, "opening " + path, errno);
    }
    if (::flock(lock.get(), LOCK_EX | LOCK_NB) == 0) {
        return std::optional<UniqueFd>(std::move(lock));
    }
    if (errno != EWOULDBLOCK) {
        return system_error(ErrorKind::spawn_failed, "locking " + path, errno);
    }
    return std::optional<UniqueFd>();
}

std::minstd_rand& random_engine() {
    static std::minstd_rand engine(std::random_device{}());
    return engine;
}

}  // namespace

Result<NamespaceOwner> NamespaceOwner::claim(const HostCapabilities& host) {
    if (!host.privileged) {
        return NamespaceOwner(host.euid, UniqueFd());
    }
    RESIN_TRYV(ensure_directory());
    // A few tries among the existing lock files, from a random one; when they are all held, the
    // next file is made. So the files number about what the most sandboxes alive at once needed
    // (with a few tries failing only when most are held: below about two thirds, rarely), a claim
    // costs a few locks however many are alive (from the lowest, every held uid below the first
    // free one cost a try: +3 ms a start at 1,000 alive), and nothing grows with the sandboxes
    // started over time (a random uid among twice the files, as before, made a new file every
    // other claim).
    constexpr uid_t kTries = 8;
    const uid_t count = lock_file_count();
    if (count > 0) {
        const uid_t first = std::uniform_int_distribution<uid_t>(0, count - 1)(random_engine());
        for (uid_t attempt = 0; attempt < std::min(kTries, count); ++attempt) {
            const uid_t offset = (first + attempt) % count;
            RESIN_TRY(auto lock, try_lock(offset, 0));
            if (lock) {
                return NamespaceOwner(kFirstUid + offset, std::move(*lock));
            }
        }
    }
    for (uid_t offset = count; offset < kUidCount; ++offset) {
        RESIN_TRY(auto lock, try_lock(offset, O_CREAT));
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
