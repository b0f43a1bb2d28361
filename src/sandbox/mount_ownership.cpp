#include "sandbox/mount_ownership.hpp"

#include <algorithm>
#include <string>

namespace resin::sandbox {

Result<void> plan_ownership(MountStep& step, const BindMount& mount, const struct stat& source,
                            const IdMapping& uid, const IdMapping& gid, bool privileged) {
    if (mount.ownership != Ownership::directory) {
        return success();
    }
    const std::string pointer = step.pointer + "/ownership";
    if (mount.access != Access::rw) {
        return Error{ErrorKind::invalid_config,
                     "ownership \"directory\" is for a mount with access \"rw\"", pointer, 0};
    }
    if (step.source == "/") {
        // The sandbox would act as host root for every root-owned file on the host.
        return Error{ErrorKind::invalid_config,
                     "ownership \"directory\" cannot be given to the host's root directory",
                     pointer, 0};
    }
    if (S_ISDIR(source.st_mode) && (source.st_mode & S_IWOTH) != 0) {
        // /tmp and the like: the sandbox would act as the directory's owner for every file that
        // owner keeps there, beside other users' files.
        return Error{ErrorKind::invalid_config,
                     step.source +
                         " is writable by every user: ownership \"directory\" would give the "
                         "sandbox its owner's rights over that owner's files in it; use "
                         "\"sandbox\"",
                     pointer, 0};
    }
    const bool group_follows_directory = S_ISDIR(source.st_mode) && (source.st_mode & S_ISGID) != 0;
    const bool uid_matches = source.st_uid == uid.outside;
    const bool gid_matches =
        source.st_gid == gid.outside || !S_ISDIR(source.st_mode) || group_follows_directory;
    if (uid_matches && source.st_gid == gid.outside) {
        return success();  // already the directory's owner: no idmapped mount needed
    }
    if (!privileged) {
        if (uid_matches && gid_matches) {
            return success();
        }
        return Error{ErrorKind::unsupported_config,
                     step.source + " belongs to uid " + std::to_string(source.st_uid) + " gid " +
                         std::to_string(source.st_gid) + ", and unprivileged resin runs the " +
                         "sandbox as uid " + std::to_string(uid.outside) + " gid " +
                         std::to_string(gid.outside) +
                         " on the host: only root resin can map ownership (idmapped mounts)",
                     pointer, 0};
    }
    step.owner_map = OwnerMap{
        {source.st_uid, uid.outside}, {source.st_gid, gid.outside}, source.st_dev, source.st_ino};
    return success();
}

Result<void> refuse_owner_escalation(const Plan& plan) {
    const bool mapped = std::any_of(plan.mounts.begin(), plan.mounts.end(),
                                    [](const MountStep& step) { return step.owner_map; });
    if (!mapped) {
        return success();
    }
    for (const char* name : {"CAP_SETFCAP", "CAP_FSETID"}) {
        const auto& kept = plan.config.capabilities;
        if (std::find(kept.begin(), kept.end(), name) != kept.end()) {
            return Error{ErrorKind::invalid_config,
                         std::string(name) +
                             " cannot be kept with a mount of ownership \"directory\": the "
                             "sandbox could leave a privileged file owned by the directory's "
                             "owner on the host",
                         "/capabilities", 0};
        }
    }
    return success();
}

}  // namespace resin::sandbox
