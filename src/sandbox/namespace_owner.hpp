// The host uid that owns a sandbox's user namespace. The kernel charges every per-user count of a
// process in a user namespace (inotify instances and watches, fanotify, RLIMIT_NPROC,
// RLIMIT_SIGPENDING, RLIMIT_MSGQUEUE, RLIMIT_MEMLOCK, namespaces) to its uid in that namespace and
// to the namespace's owner at every level above, up to the host. Created by root, a sandbox would
// spend host root's quotas; created by an unused uid of its own, it spends only that uid's.
//
// Root resin takes a uid from a reserved range, unique among live sandboxes of every resin on the
// host: each uid has a lock file under kDirectory, held with flock(2) for the sandbox's life, and
// released by the kernel when resin exits or is killed, so nothing goes stale. A lock file may be
// removed only under its lock (or with no resin running): the claims make a missing one again, and
// would give its uid to a second sandbox while the first still held the removed file. Unprivileged
// resin can create a namespace only as itself: the sandbox spends resin's own uid's quotas.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "config/reserved_ids.hpp"
#include "config/result.hpp"
#include "sandbox/host_probe.hpp"
#include "sandbox/unique_fd.hpp"

namespace resin::sandbox {

class NamespaceOwner {
  public:
    static constexpr uid_t kFirstUid = kReservedIdFirst;
    static constexpr uid_t kUidCount = kReservedIdCount;
    static constexpr const char* kDirectory = "/run/resin/owners";

    // Root: a reserved uid no other live sandbox owns. Otherwise resin's own euid.
    static Result<NamespaceOwner> claim(const HostCapabilities& host);
    // The same from the lock files in `directory` (a root-owned 0700 one), instead of kDirectory.
    static Result<NamespaceOwner> claim(const HostCapabilities& host, const std::string& directory);

    uid_t uid() const { return uid_; }
    // Whether creating the namespace as uid() takes a change of this thread's euid.
    bool is_reserved() const { return lock_.get() >= 0; }

  private:
    NamespaceOwner(uid_t uid, UniqueFd lock) : uid_(uid), lock_(std::move(lock)) {}

    uid_t uid_;
    UniqueFd lock_;
};

// For the clone that creates the user namespace: this thread alone (a raw setresuid, not libc's,
// which changes every thread) takes `uid` as its effective uid, and root back on destruction. The
// real and saved uids stay 0, so the capabilities come back with it.
class EffectiveUidForClone {
  public:
    explicit EffectiveUidForClone(const NamespaceOwner& owner);
    ~EffectiveUidForClone();
    EffectiveUidForClone(const EffectiveUidForClone&) = delete;
    EffectiveUidForClone& operator=(const EffectiveUidForClone&) = delete;

    bool ok() const { return err_ == 0; }
    int error() const { return err_; }

  private:
    void restore_securebits();

    bool switched_ = false;
    int err_ = 0;
    int dumpable_ = -1;
    int securebits_ = -1;  // to put back; -1: unchanged
    uid_t previous_euid_ = 0;
};

}  // namespace resin::sandbox
