#include "sandbox/background_priority.hpp"

#include <sched.h>
#include <sys/capability.h>

#include <cerrno>

namespace resin::sandbox {
namespace {

bool may_leave_idle_priority() {
    cap_t caps = cap_get_proc();
    if (caps == nullptr) {
        return false;
    }
    cap_flag_value_t value = CAP_CLEAR;
    const bool result =
        cap_get_flag(caps, CAP_SYS_NICE, CAP_EFFECTIVE, &value) == 0 && value == CAP_SET;
    cap_free(caps);
    return result;
}

bool set_policy(pid_t pid, int policy) {
    const sched_param none{};
    return ::sched_setscheduler(pid, policy, &none) == 0;
}

}  // namespace

BackgroundPriority::BackgroundPriority() {
    lowered_ = !at_idle_priority() && may_leave_idle_priority() && set_policy(0, SCHED_IDLE);
}

BackgroundPriority::~BackgroundPriority() {
    if (lowered_) {
        set_policy(0, SCHED_OTHER);
    }
}

bool at_idle_priority() {
    return ::sched_getscheduler(0) == SCHED_IDLE;
}

Result<void> restore_normal_priority(pid_t pid) {
    if (!set_policy(pid, SCHED_OTHER)) {
        return system_error(ErrorKind::spawn_failed,
                            "returning the prepared sandbox to normal priority", errno);
    }
    return success();
}

}  // namespace resin::sandbox
