#include "sandbox/identity.hpp"

#include <fcntl.h>
#include <grp.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "sandbox/unique_fd.hpp"

namespace resin::sandbox {
namespace {

Result<void> write_proc_file(pid_t pid, const char* name, const std::string& contents) {
    const std::string path = "/proc/" + std::to_string(pid) + "/" + name;
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
    if (!fd) {
        return system_error(ErrorKind::spawn_failed, "opening " + path, errno);
    }
    if (::write(fd.get(), contents.data(), contents.size()) !=
        static_cast<ssize_t>(contents.size())) {
        return system_error(ErrorKind::spawn_failed, "writing '" + contents + "' to " + path,
                            errno);
    }
    return success();
}

std::string mapping_line(const IdMapping& mapping) {
    return std::to_string(mapping.inside) + " " + std::to_string(mapping.outside) + " 1\n";
}

}  // namespace

Result<void> write_id_maps(pid_t child, const IdentityPart& identity) {
    if (!identity.drop_supplementary_groups) {
        // Required before an unprivileged gid_map; it also forbids setgroups(2) in the namespace.
        RESIN_TRYV(write_proc_file(child, "setgroups", "deny"));
    }
    RESIN_TRYV(write_proc_file(child, "uid_map", mapping_line(identity.uid)));
    RESIN_TRYV(write_proc_file(child, "gid_map", mapping_line(identity.gid)));
    return success();
}

// Raw syscalls, not glibc's wrappers: those broadcast the change to every thread glibc believes the
// process has (its setxid protocol), and a clone of a multi-threaded resin (or test) has only one,
// so the wrapper would wait for ever for threads that are not there. The kernel's calls change the
// calling thread, the only one the sandbox's init has.
StepResult assume_identity(const IdentityPart& identity) {
    if (identity.drop_supplementary_groups && ::syscall(SYS_setgroups, 0, nullptr) != 0) {
        return step_failed(errno, "/identity", {"switching to the sandbox's uid/gid"});
    }
    const gid_t gid = identity.gid.inside;
    const uid_t uid = identity.uid.inside;
    if (::syscall(SYS_setresgid, gid, gid, gid) != 0 ||
        ::syscall(SYS_setresuid, uid, uid, uid) != 0) {
        return step_failed(errno, "/identity", {"switching to the sandbox's uid/gid"});
    }
    return step_done();
}

StepResult set_hostname(const IdentityPart& identity) {
    const auto& name = identity.hostname;
    if (::sethostname(name.data(), name.size()) != 0) {
        return step_failed(errno, "/identity/hostname", {"setting the hostname"});
    }
    return step_done();
}

}  // namespace resin::sandbox
