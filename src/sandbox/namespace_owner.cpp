#include "sandbox/namespace_owner.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/securebits.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
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

uid_t count_lock_files() {
    DIR* dir = ::opendir(NamespaceOwner::kDirectory);
    if (dir == nullptr) {
        return 0;
    }
    uid_t count = 0;
    while (const dirent* entry = ::readdir(dir)) {
        count += entry->d_name[0] != '.' ? 1 : 0;
    }
    ::closedir(dir);
    return count;
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
    // From a random uid among the first twice as many as there are lock files, wrapping round: with
    // at most half of those held, about two tries, however many sandboxes are alive (from the
    // lowest, every held uid below the first free one cost a try: +3 ms a start at 1,000 alive).
    // The lock files still number about twice the most sandboxes ever alive at once.
    const uid_t span = std::min<uid_t>(kUidCount, 2 * count_lock_files() + 64);
    const uid_t first = std::uniform_int_distribution<uid_t>(0, span - 1)(random_engine());
    for (uid_t attempt = 0; attempt < kUidCount; ++attempt) {
        const uid_t uid = kFirstUid + (first + attempt) % kUidCount;
        const std::string path = std::string(kDirectory) + "/" + std::to_string(uid);
        UniqueFd lock(::open(path.c_str(), O_RDONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600));
        if (!lock) {
            return system_error(ErrorKind::spawn_failed, "opening " + path, errno);
        }
        if (::flock(lock.get(), LOCK_EX | LOCK_NB) == 0) {
            return NamespaceOwner(uid, std::move(lock));
        }
        if (errno != EWOULDBLOCK) {
            return system_error(ErrorKind::spawn_failed, "locking " + path, errno);
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
