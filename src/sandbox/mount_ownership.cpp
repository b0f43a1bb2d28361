#include "sandbox/mount_ownership.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

namespace resin::sandbox {

Result<UniqueFd> open_owned_source(const std::string& source, const std::string& pointer) {
    open_how how{};
    how.flags = O_PATH | O_CLOEXEC;
    how.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    UniqueFd fd(
        static_cast<int>(::syscall(SYS_openat2, AT_FDCWD, source.c_str(), &how, sizeof how)));
    if (fd) {
        return fd;
    }
    const int err = errno;
    if (err == ELOOP) {
        return Error{ErrorKind::invalid_config,
                     "ownership \"directory\": " + source +
                         " has a symbolic link in its path; resin does not follow one into a "
                         "directory it hands over as its owner: give the path without links",
                     pointer + "/source", err};
    }
    if (err == ENOSYS) {
        return Error{ErrorKind::unsupported_config,
                     "ownership \"directory\" needs openat2(2) (Linux 5.6) to open " + source +
                         " without following symbolic links",
                     pointer + "/ownership", err};
    }
    return Error{ErrorKind::invalid_config, "mount source " + source + ": " + std::strerror(err),
                 pointer + "/source", err};
}

Result<void> plan_ownership(MountStep& step, const BindMount& mount, const IdMapping& uid,
                            const IdMapping& gid, bool privileged) {
    const std::string pointer = step.pointer + "/ownership";
    if (mount.access != Access::rw) {
        return Error{ErrorKind::invalid_config,
                     "ownership \"directory\" is for a mount with access \"rw\"", pointer, 0};
    }
    RESIN_TRY(UniqueFd opened, open_owned_source(step.source, step.pointer));
    struct stat source {};
    struct stat host_root {};
    if (::fstat(opened.get(), &source) != 0 || ::stat("/", &host_root) != 0) {
        return system_error(ErrorKind::invalid_config, "mount source " + step.source, errno);
    }
    step.source_is_directory = S_ISDIR(source.st_mode);
    if (source.st_dev == host_root.st_dev && source.st_ino == host_root.st_ino) {
        // The sandbox would act as host root for every root-owned file on the host. By identity:
        // another path (a bind mount of /) is the same directory.
        return Error{ErrorKind::invalid_config,
                     "ownership \"directory\" cannot be given to the host's root directory (" +
                         step.source + ")",
                     pointer, 0};
    }
    if (!S_ISDIR(source.st_mode) && source.st_nlink > 1) {
        // Another name of the file may be anywhere on the host (a hard link to /etc/shadow).
        return Error{ErrorKind::invalid_config,
                     step.source + " has other hard links: ownership \"directory\" would hand " +
                         "over the file wherever else it is linked",
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
    if (!privileged) {
        const bool group_follows_directory =
            S_ISDIR(source.st_mode) && (source.st_mode & S_ISGID) != 0;
        const bool gid_matches =
            source.st_gid == gid.outside || !S_ISDIR(source.st_mode) || group_follows_directory;
        if (source.st_uid == uid.outside && gid_matches) {
            return success();  // already the directory's owner: no idmapped mount needed
        }
        return Error{ErrorKind::unsupported_config,
                     step.source + " belongs to uid " + std::to_string(source.st_uid) + " gid " +
                         std::to_string(source.st_gid) + ", and unprivileged resin runs the " +
                         "sandbox as uid " + std::to_string(uid.outside) + " gid " +
                         std::to_string(gid.outside) +
                         " on the host: only root resin can map ownership (idmapped mounts)",
                     pointer, 0};
    }
    // Root resin always idmaps: the sandbox's host ids are then reserved for it at launch
    // (with_reserved_ids), and a reserved uid owns no directory.
    step.owner_map = OwnerMap{
        {source.st_uid, uid.outside}, {source.st_gid, gid.outside}, source.st_dev, source.st_ino};
    return success();
}

Result<void> refuse_owner_escalation(const MountsPart& mounts,
                                     const std::vector<std::string>& capabilities) {
    if (!has_idmapped_mount(mounts)) {
        return success();
    }
    for (const char* name : {"CAP_SETFCAP", "CAP_FSETID"}) {
        const auto& kept = capabilities;
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

bool has_idmapped_mount(const MountsPart& mounts) {
    return std::any_of(mounts.steps.begin(), mounts.steps.end(),
                       [](const MountStep& step) { return step.owner_map.has_value(); });
}

Plan with_reserved_ids(const Plan& plan, uid_t reserved) {
    Plan reserved_plan = plan;
    reserved_plan.identity_.uid.outside = reserved;
    reserved_plan.identity_.gid.outside = reserved;
    for (MountStep& step : reserved_plan.mounts_.steps) {
        if (step.owner_map) {
            step.owner_map->uid.outside = reserved;
            step.owner_map->gid.outside = reserved;
        }
    }
    return reserved_plan;
}

}  // namespace resin::sandbox
