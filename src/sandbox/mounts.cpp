#include "sandbox/mounts.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <vector>

#include "sandbox/unique_fd.hpp"

namespace resin::sandbox {
namespace {

// Where the new root is assembled before pivot_root; any existing directory will do, because every
// bind source has been captured as a detached mount before anything is mounted over it.
constexpr const char* kStagingDirectories[] = {"/tmp", "/mnt", "/run"};
constexpr const char* kDeviceNodes[] = {"null", "zero", "full", "random", "urandom"};
constexpr std::uint64_t kRootTmpfsBytes = 1 << 20;
constexpr std::uint64_t kDevTmpfsBytes = 64 << 10;
constexpr std::uint64_t kDevShmBytes = 64 << 20;
constexpr std::uint64_t kDevInodes = 64;  // a handful of nodes and links; read-only once made

std::string relative(const std::string& absolute) {
    const auto start = absolute.find_first_not_of('/');
    return start == std::string::npos ? std::string(".") : absolute.substr(start);
}

// Resolves `path` with the new root as "/" for every symlink on the way, so a link in the sandbox
// (/bin -> usr/bin, or an absolute one) can never lead a mount onto a host path.
int open_in_root(int root, const std::string& path, std::uint64_t flags) {
    open_how how{};
    how.flags = flags | O_CLOEXEC;
    how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
    return static_cast<int>(::syscall(SYS_openat2, root, path.c_str(), &how, sizeof how));
}

// mkdir -p inside the new root. Returns an O_PATH descriptor of the directory, or -1 with errno.
UniqueFd make_directories(int root, const std::string& path) {
    std::string prefix;
    UniqueFd parent(::fcntl(root, F_DUPFD_CLOEXEC, 0));
    std::size_t start = 0;
    while (start < path.size()) {
        std::size_t end = path.find('/', start);
        if (end == std::string::npos) {
            end = path.size();
        }
        const std::string component = path.substr(start, end - start);
        prefix += (prefix.empty() ? "" : "/") + component;
        start = end + 1;
        if (component.empty() || component == ".") {
            continue;
        }
        UniqueFd next(open_in_root(root, prefix, O_PATH | O_DIRECTORY));
        if (!next && errno == ENOENT) {
            if (::mkdirat(parent.get(), component.c_str(), 0755) != 0 && errno != EEXIST) {
                return UniqueFd();
            }
            next.reset(open_in_root(root, prefix, O_PATH | O_DIRECTORY));
        }
        if (!next) {
            return UniqueFd();
        }
        parent = std::move(next);
    }
    return parent;
}

std::string parent_of(const std::string& path) {
    const auto slash = path.rfind('/');
    return slash == std::string::npos ? std::string(".") : path.substr(0, slash);
}

std::string base_of(const std::string& path) {
    const auto slash = path.rfind('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

// The directory or file a mount goes onto, created if missing. O_PATH, or -1 with errno.
UniqueFd make_mount_point(int root, const std::string& target, bool directory) {
    const std::string path = relative(target);
    if (directory) {
        return make_directories(root, path);
    }
    UniqueFd existing(open_in_root(root, path, O_PATH));
    if (existing || errno != ENOENT) {
        return existing;
    }
    UniqueFd parent = make_directories(root, parent_of(path));
    if (!parent) {
        return UniqueFd();
    }
    UniqueFd created(::openat(parent.get(), base_of(path).c_str(),
                              O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0444));
    if (!created && errno != EEXIST) {
        return UniqueFd();
    }
    return UniqueFd(open_in_root(root, path, O_PATH));
}

bool attach(int mount, int target) {
    return ::move_mount(mount, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) ==
           0;
}

bool set_attributes(int mount, std::uint64_t attributes, bool recursive) {
    mount_attr attr{};
    attr.attr_set = attributes;
    return ::mount_setattr(mount, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &attr,
                           sizeof attr) == 0;
}

// A detached copy of the host tree at `source`, submounts included (the kernel forbids copying a
// mount without the ones locked on top of it), with `attributes` set on all of it.
UniqueFd clone_tree(const std::string& source, std::uint64_t attributes) {
    UniqueFd tree(
        ::open_tree(AT_FDCWD, source.c_str(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE));
    if (tree && !set_attributes(tree.get(), attributes, true)) {
        return UniqueFd();
    }
    return tree;
}

// A new detached filesystem instance, e.g. a tmpfs with its size and mode.
UniqueFd new_filesystem(const char* type,
                        std::initializer_list<std::pair<const char*, std::string>> options,
                        std::uint64_t attributes) {
    UniqueFd context(::fsopen(type, FSOPEN_CLOEXEC));
    if (!context) {
        return UniqueFd();
    }
    for (const auto& [key, value] : options) {
        if (::fsconfig(context.get(), FSCONFIG_SET_STRING, key, value.c_str(), 0) != 0) {
            return UniqueFd();
        }
    }
    if (::fsconfig(context.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0) {
        return UniqueFd();
    }
    return UniqueFd(::fsmount(context.get(), FSMOUNT_CLOEXEC, static_cast<unsigned>(attributes)));
}

// `inodes` counts what it may hold; the kernel's nr_inodes also counts its root directory (and 0
// would mean no bound at all).
UniqueFd new_tmpfs(std::uint64_t size_bytes, std::uint64_t inodes, const char* mode,
                   std::uint64_t attributes) {
    return new_filesystem("tmpfs",
                          {{"size", std::to_string(size_bytes)},
                           {"nr_inodes", std::to_string(inodes + 1)},
                           {"mode", mode}},
                          attributes);
}

// The root holds only mount points, and is read-only once they exist: room for each path's
// directories, and a margin for /proc, /dev and the like.
std::uint64_t root_inodes(const MountsPart& mounts) {
    std::uint64_t components = 0;
    for (const auto& step : mounts.steps) {
        components +=
            1 + static_cast<std::uint64_t>(std::count(step.target.begin(), step.target.end(), '/'));
    }
    return tmpfs_inodes_for(kRootTmpfsBytes) + components;
}

class FilesystemBuilder {
  public:
    FilesystemBuilder(const MountsPart& mounts, const std::vector<int>& premade)
        : mounts_(mounts), premade_(premade) {}

    StepResult build() {
        using Step = StepResult (FilesystemBuilder::*)();
        for (Step step :
             {&FilesystemBuilder::make_mounts_private, &FilesystemBuilder::capture_sources,
              &FilesystemBuilder::create_root, &FilesystemBuilder::populate,
              &FilesystemBuilder::mount_proc, &FilesystemBuilder::mount_dev,
              &FilesystemBuilder::seal_root, &FilesystemBuilder::pivot}) {
            if (StepResult result = (this->*step)(); !result.ok()) {
                return result;
            }
        }
        return step_done();
    }

  private:
    StepResult make_mounts_private() {
        if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
            return step_failed(errno, "", {"making the sandbox's mounts private"});
        }
        return step_done();
    }

    // Every source is captured while the host tree is whole, before anything is mounted over it.
    StepResult capture_sources() {
        captured_.resize(mounts_.steps.size());
        for (std::size_t i = 0; i < mounts_.steps.size(); ++i) {
            const auto& step = mounts_.steps[i];
            if (step.kind != MountStep::Kind::bind) {
                continue;
            }
            if (i < premade_.size() && premade_[i] >= 0) {
                captured_[i].reset(premade_[i]);  // idmapped by resin, already nosuid and nodev
                continue;
            }
            const std::uint64_t attributes =
                MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | (step.read_only ? MOUNT_ATTR_RDONLY : 0);
            captured_[i] = clone_tree(step.source, attributes);
            if (!captured_[i]) {
                return step_failed(errno, step.pointer.c_str(),
                                   {"binding ", step.source.c_str(), " at ", step.target.c_str(),
                                    " (the sandbox's uid must be able to reach the source)"});
            }
        }
        for (const char* node : kDeviceNodes) {
            devices_.push_back(clone_tree(std::string("/dev/") + node, MOUNT_ATTR_NOSUID |
                                                                           MOUNT_ATTR_NOEXEC |
                                                                           MOUNT_ATTR_RDONLY));
            if (!devices_.back()) {
                return step_failed(errno, "", {"binding /dev/", node});
            }
        }
        return step_done();
    }

    StepResult create_root() {
        for (std::size_t i = 0; i < mounts_.steps.size(); ++i) {
            if (mounts_.steps[i].kind == MountStep::Kind::bind && mounts_.steps[i].target == "/") {
                root_mount_ = std::move(captured_[i]);
                root_is_tmpfs_ = false;
            }
        }
        if (!root_mount_) {
            root_mount_ = new_tmpfs(kRootTmpfsBytes, root_inodes(mounts_), "0755",
                                    MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
            if (!root_mount_) {
                return step_failed(errno, "", {"creating the root tmpfs"});
            }
        }
        for (const char* staging : kStagingDirectories) {
            struct stat info {};
            if (::stat(staging, &info) == 0 && S_ISDIR(info.st_mode)) {
                if (::move_mount(root_mount_.get(), "", AT_FDCWD, staging,
                                 MOVE_MOUNT_F_EMPTY_PATH) != 0) {
                    return step_failed(errno, "", {"attaching the new root at ", staging});
                }
                root_.reset(::open(staging, O_PATH | O_DIRECTORY | O_CLOEXEC));
                if (!root_) {
                    return step_failed(errno, "", {"opening the new root at ", staging});
                }
                return step_done();
            }
        }
        return step_failed(ENOENT, "",
                           {"no directory to assemble the new root in (/tmp, /mnt or /run)"});
    }

    StepResult populate() {
        for (std::size_t i = 0; i < mounts_.steps.size(); ++i) {
            const auto& step = mounts_.steps[i];
            if (step.target == "/" && step.kind == MountStep::Kind::bind) {
                continue;
            }
            bool made = false;
            switch (step.kind) {
                case MountStep::Kind::bind:
                    made = place_mount(captured_[i].get(), step.target, step.source_is_directory);
                    break;
                case MountStep::Kind::tmpfs: {
                    UniqueFd tmpfs = new_tmpfs(step.size_bytes, step.inodes, "1777",
                                               MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
                    made = tmpfs && place_mount(tmpfs.get(), step.target, true);
                    break;
                }
                case MountStep::Kind::symlink:
                    made = place_symlink(step);
                    break;
            }
            if (!made) {
                return step_failed(errno, step.pointer.c_str(),
                                   {"creating ", step.target.c_str(), " in the sandbox"});
            }
        }
        return step_done();
    }

    bool place_mount(int mount, const std::string& target, bool directory) {
        UniqueFd point = make_mount_point(root_.get(), target, directory);
        return point && attach(mount, point.get());
    }

    bool place_symlink(const MountStep& step) {
        const std::string path = relative(step.target);
        UniqueFd parent = make_directories(root_.get(), parent_of(path));
        return parent && ::symlinkat(step.source.c_str(), parent.get(), base_of(path).c_str()) == 0;
    }

    StepResult mount_proc() {
        UniqueFd proc =
            new_filesystem("proc", {}, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
        if (!proc || !place_mount(proc.get(), "/proc", true)) {
            return step_failed(errno, "", {"mounting /proc for the sandbox's pid namespace"});
        }
        // Defence in depth: kernel tunables are already beyond the sandbox's uid and namespaces.
        UniqueFd sys(::open_tree(proc.get(), "sys", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC));
        UniqueFd sys_point(::openat(proc.get(), "sys", O_PATH | O_DIRECTORY | O_CLOEXEC));
        if (!sys || !sys_point || !set_attributes(sys.get(), MOUNT_ATTR_RDONLY, false) ||
            !attach(sys.get(), sys_point.get())) {
            return step_failed(errno, "", {"making /proc/sys read-only"});
        }
        return step_done();
    }

    StepResult mount_dev() {
        UniqueFd dev =
            new_tmpfs(kDevTmpfsBytes, kDevInodes, "0755", MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC);
        if (!dev || !place_mount(dev.get(), "/dev", true)) {
            return step_failed(errno, "", {"mounting /dev"});
        }
        for (std::size_t i = 0; i < devices_.size(); ++i) {
            const std::string node = std::string("/dev/") + kDeviceNodes[i];
            if (!place_mount(devices_[i].get(), node, false)) {
                return step_failed(errno, "", {"creating /dev/", kDeviceNodes[i]});
            }
        }
        UniqueFd dev_dir(open_in_root(root_.get(), "dev", O_PATH | O_DIRECTORY));
        const std::pair<const char*, const char*> links[] = {
            {"fd", "/proc/self/fd"},
            {"stdin", "/proc/self/fd/0"},
            {"stdout", "/proc/self/fd/1"},
            {"stderr", "/proc/self/fd/2"},
        };
        for (const auto& [name, target] : links) {
            if (!dev_dir || ::symlinkat(target, dev_dir.get(), name) != 0) {
                return step_failed(errno, "", {"creating /dev/", name});
            }
        }
        UniqueFd shm = new_tmpfs(kDevShmBytes, tmpfs_inodes_for(kDevShmBytes), "1777",
                                 MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
        if (!shm || !place_mount(shm.get(), "/dev/shm", true)) {
            return step_failed(errno, "", {"mounting /dev/shm"});
        }
        if (!set_attributes(dev.get(), MOUNT_ATTR_RDONLY, false)) {
            return step_failed(errno, "", {"making /dev read-only"});
        }
        return step_done();
    }

    // Nothing may be created in the root itself: only in the configured tmpfs and rw mounts.
    StepResult seal_root() {
        if (root_is_tmpfs_ && !set_attributes(root_mount_.get(), MOUNT_ATTR_RDONLY, false)) {
            return step_failed(errno, "", {"making the sandbox's root read-only"});
        }
        return step_done();
    }

    StepResult pivot() {
        if (::fchdir(root_.get()) != 0 || ::syscall(SYS_pivot_root, ".", ".") != 0) {
            return step_failed(errno, "", {"pivot_root into the sandbox's root"});
        }
        // The old root is now stacked on the new one: detach it and everything under it.
        if (::umount2(".", MNT_DETACH) != 0 || ::chdir("/") != 0) {
            return step_failed(errno, "", {"detaching the host's root"});
        }
        return step_done();
    }

    const MountsPart& mounts_;
    const std::vector<int>& premade_;
    std::vector<UniqueFd> captured_;
    std::vector<UniqueFd> devices_;
    UniqueFd root_mount_;
    UniqueFd root_;
    bool root_is_tmpfs_ = true;
};

}  // namespace

StepResult build_filesystem(const MountsPart& mounts, const std::vector<int>& premade) {
    return FilesystemBuilder(mounts, premade).build();
}

}  // namespace resin::sandbox
