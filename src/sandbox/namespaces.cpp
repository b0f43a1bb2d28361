#include "sandbox/namespaces.hpp"

#include <sched.h>

#include <cerrno>

namespace resin::sandbox {

unsigned long long clone_namespace_flags(bool new_network) {
    unsigned long long flags =
        CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS;
    if (new_network) {
        flags |= CLONE_NEWNET;
    }
    return flags;
}

int enter_cgroup_namespace() {
    return ::unshare(CLONE_NEWCGROUP) == 0 ? 0 : errno;
}

}  // namespace resin::sandbox
