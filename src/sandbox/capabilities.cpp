#include "sandbox/capabilities.hpp"

#include <linux/securebits.h>
#include <sys/capability.h>
#include <sys/prctl.h>

#include <algorithm>
#include <cerrno>
#include <vector>

namespace resin::sandbox {
namespace {

int clear_bounding_and_ambient(const std::vector<cap_value_t>& keep) {
    if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0) {
        return errno;
    }
    for (cap_value_t cap = 0; cap <= CAP_LAST_CAP; ++cap) {
        if (std::find(keep.begin(), keep.end(), cap) != keep.end()) {
            continue;
        }
        if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL) {
            return errno;
        }
    }
    return 0;
}

// Permitted, effective and inheritable become exactly `keep` (inheritable too, which ambient
// needs).
int set_process_sets(const std::vector<cap_value_t>& keep) {
    cap_t caps = cap_init();
    if (caps == nullptr) {
        return errno;
    }
    const int count = static_cast<int>(keep.size());
    int result = 0;
    for (cap_flag_t set : {CAP_PERMITTED, CAP_EFFECTIVE, CAP_INHERITABLE}) {
        if (count > 0 && cap_set_flag(caps, set, count, keep.data(), CAP_SET) != 0) {
            result = errno;
        }
    }
    if (result == 0 && cap_set_proc(caps) != 0) {
        result = errno;
    }
    cap_free(caps);
    return result;
}

}  // namespace

StepResult drop_privileges(const CapabilitiesPart& capabilities) {
    const std::vector<cap_value_t>& keep = capabilities.keep;
    // uid 0 inside must not regain capabilities through execve; locked so the command cannot
    // undo it. Ambient raising stays possible only when the config keeps capabilities, since that
    // is how they survive execve for a non-root uid.
    unsigned long securebits = SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP |
                               SECBIT_NO_SETUID_FIXUP_LOCKED | SECBIT_KEEP_CAPS_LOCKED;
    if (keep.empty()) {
        securebits |= SECBIT_NO_CAP_AMBIENT_RAISE | SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED;
    }
    if (::prctl(PR_SET_SECUREBITS, securebits, 0, 0, 0) != 0) {
        return step_failed(errno, "/capabilities", {"locking securebits"});
    }
    if (int err = clear_bounding_and_ambient(keep); err != 0) {
        return step_failed(err, "/capabilities",
                           {"clearing the bounding and ambient capability sets"});
    }
    if (int err = set_process_sets(keep); err != 0) {
        return step_failed(err, "/capabilities",
                           {"setting the permitted, effective and inheritable capability sets"});
    }
    for (cap_value_t cap : keep) {
        if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) != 0) {
            return step_failed(errno, "/capabilities",
                               {"raising a kept capability into the ambient set"});
        }
    }
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
        return step_failed(errno, "/capabilities", {"setting no_new_privs"});
    }
    return step_done();
}

StepResult drop_init_privileges() {
    if (int err = clear_bounding_and_ambient({}); err != 0) {
        return step_failed(err, "", {"clearing init's bounding and ambient capability sets"});
    }
    if (int err = set_process_sets({}); err != 0) {
        return step_failed(err, "", {"clearing init's capability sets"});
    }
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
        return step_failed(errno, "", {"setting init's no_new_privs"});
    }
    return step_done();
}

}  // namespace resin::sandbox
