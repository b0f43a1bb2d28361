#include "sandbox/idmapped_mounts.hpp"

#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <string>
#include <utility>

#include "sandbox/mount_ownership.hpp"

namespace resin::sandbox {
namespace {

Result<void> write_map(pid_t pid, const char* name, const IdMapping& mapping) {
    const std::string path = "/proc/" + std::to_string(pid) + "/" + name;
    const std::string line =
        std::to_string(mapping.inside) + " " + std::to_string(mapping.outside) + " 1\n";
    UniqueFd file(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
    if (!file ||
        ::write(file.get(), line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
        return system_error(ErrorKind::spawn_failed, "writing the idmap " + path, errno);
    }
    return success();
}

// A user namespace that maps exactly the owner map, and nothing else, held by a descriptor. The
// kernel takes a mount's idmapping from a user namespace: a child is created in a new one, waits
// on a pipe while resin writes its maps and opens it, and exits. No exit signal: whoever else
// reaps resin's children never sees it.
Result<UniqueFd> idmap_namespace(const OwnerMap& map) {
    int hold[2];
    if (::pipe2(hold, O_CLOEXEC) != 0) {
        return system_error(ErrorKind::internal, "pipe2", errno);
    }
    UniqueFd wait_end(hold[0]);
    UniqueFd release(hold[1]);
    clone_args args{};
    args.flags = CLONE_NEWUSER;
    args.exit_signal = 0;
    const long pid = ::syscall(SYS_clone3, &args, sizeof args);
    if (pid == 0) {
        ::close(release.get());
        char byte = 0;
        (void)!::read(wait_end.get(), &byte, 1);  // end-of-file: resin is done (or gone)
        ::_exit(0);
    }
    if (pid < 0) {
        return system_error(ErrorKind::spawn_failed, "creating a user namespace for an idmap",
                            errno);
    }
    const auto child = static_cast<pid_t>(pid);
    Result<void> mapped = write_map(child, "uid_map", map.uid);
    if (mapped) {
        mapped = write_map(child, "gid_map", map.gid);
    }
    UniqueFd user_namespace;
    if (mapped) {
        const std::string path = "/proc/" + std::to_string(child) + "/ns/user";
        user_namespace.reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
        if (!user_namespace) {
            mapped = system_error(ErrorKind::spawn_failed, "opening " + path, errno);
        }
    }
    release.reset();
    while (::waitpid(child, nullptr, __WALL) < 0 && errno == EINTR) {
    }
    if (!mapped) {
        return mapped.error();
    }
    return user_namespace;
}

Result<UniqueFd> idmapped_tree(const MountStep& step, int user_namespace) {
    // Opened as planned, without following a symbolic link, and checked to be the very directory
    // planned (not whatever a rename put at its path since) before it is cloned from that
    // descriptor, not from its path.
    RESIN_TRY(UniqueFd source, open_owned_source(step.source, step.pointer));
    struct stat now {};
    if (::fstat(source.get(), &now) != 0 || now.st_dev != step.owner_map->device ||
        now.st_ino != step.owner_map->inode || now.st_uid != step.owner_map->uid.inside ||
        now.st_gid != step.owner_map->gid.inside) {
        return Error{ErrorKind::spawn_failed,
                     step.source +
                         " changed (another directory, or another owner) between "
                         "planning and binding it: not idmapping it",
                     step.pointer + "/source", 0};
    }
    // Not AT_RECURSIVE: a filesystem mounted below the source is not the directory's owner's to
    // hand over, and is not carried into the sandbox (docs/config.md).
    UniqueFd tree(
        ::open_tree(source.get(), "", AT_EMPTY_PATH | OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC));
    if (!tree) {
        return Error{ErrorKind::spawn_failed,
                     "binding " + step.source + " at " + step.target + ": " + std::strerror(errno),
                     step.pointer, errno};
    }
    mount_attr attr{};
    attr.attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_IDMAP;
    attr.userns_fd = static_cast<std::uint64_t>(user_namespace);
    if (::mount_setattr(tree.get(), "", AT_EMPTY_PATH, &attr, sizeof attr) != 0) {
        const int err = errno;
        if (err == EINVAL) {
            // FS_ALLOW_IDMAP missing.
            return Error{ErrorKind::unsupported_config,
                         "ownership \"directory\": the filesystem of " + step.source +
                             " cannot be idmapped on this kernel",
                         step.pointer + "/ownership", err};
        }
        return Error{
            ErrorKind::spawn_failed,
            "idmapping " + step.source + " (ownership \"directory\"): " + std::strerror(err),
            step.pointer + "/ownership", err};
    }
    return tree;
}

}  // namespace

Result<IdmappedMounts> IdmappedMounts::prepare(const MountsPart& planned) {
    IdmappedMounts mounts;
    // One namespace per distinct owner map: two binds of one owner share it.
    std::map<std::pair<std::pair<uid_t, uid_t>, std::pair<gid_t, gid_t>>, UniqueFd> namespaces;
    for (const MountStep& step : planned.steps) {
        mounts.trees_.emplace_back();
        if (!step.owner_map) {
            continue;
        }
        const OwnerMap& map = *step.owner_map;
        const auto key = std::make_pair(std::make_pair(map.uid.inside, map.uid.outside),
                                        std::make_pair(map.gid.inside, map.gid.outside));
        auto found = namespaces.find(key);
        if (found == namespaces.end()) {
            RESIN_TRY(UniqueFd made, idmap_namespace(map));
            found = namespaces.emplace(key, std::move(made)).first;
        }
        RESIN_TRY(mounts.trees_.back(), idmapped_tree(step, found->second.get()));
    }
    return mounts;
}

std::vector<int> IdmappedMounts::descriptors() const {
    std::vector<int> fds;
    fds.reserve(trees_.size());
    for (const UniqueFd& tree : trees_) {
        fds.push_back(tree.get());
    }
    return fds;
}

}  // namespace resin::sandbox
