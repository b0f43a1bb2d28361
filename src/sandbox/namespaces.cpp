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

StepResult enter_cgroup_namespace() {
    if (::unshare(CLONE_NEWCGROUP) != 0) {
        return step_failed(errno, "", {"creating the cgroup namespace"});
    }
    return step_done();
}

}  // namespace resin::sandbox
