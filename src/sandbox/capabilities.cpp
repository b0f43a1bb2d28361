#include "sandbox/capabilities.hpp"

#include <linux/securebits.h>
#include <sys/capability.h>
#include <sys/prctl.h>

#include <cerrno>

namespace resin::sandbox {
namespace {

int clear_bounding_and_ambient() {
    if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0) {
        return errno;
    }
    for (cap_value_t cap = 0; cap <= CAP_LAST_CAP; ++cap) {
        if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL) {
            return errno;
        }
    }
    return 0;
}

int clear_process_sets() {
    cap_t empty = cap_init();
    if (empty == nullptr) {
        return errno;
    }
    const int result = cap_set_proc(empty) == 0 ? 0 : errno;
    cap_free(empty);
    return result;
}

}  // namespace

int drop_privileges(const Plan&, const char** failed_step) {
    // uid 0 inside must not regain capabilities through execve; locked so the command cannot undo
    // it.
    constexpr unsigned long kSecurebits = SECBIT_NOROOT | SECBIT_NOROOT_LOCKED |
                                          SECBIT_NO_SETUID_FIXUP | SECBIT_NO_SETUID_FIXUP_LOCKED |
                                          SECBIT_KEEP_CAPS_LOCKED | SECBIT_NO_CAP_AMBIENT_RAISE |
                                          SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED;
    if (::prctl(PR_SET_SECUREBITS, kSecurebits, 0, 0, 0) != 0) {
        *failed_step = "locking securebits";
        return errno;
    }
    if (int err = clear_bounding_and_ambient(); err != 0) {
        *failed_step = "clearing the bounding and ambient capability sets";
        return err;
    }
    if (int err = clear_process_sets(); err != 0) {
        *failed_step = "clearing the permitted, effective and inheritable capability sets";
        return err;
    }
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
        *failed_step = "setting no_new_privs";
        return errno;
    }
    return 0;
}

int drop_init_privileges() {
    if (int err = clear_bounding_and_ambient(); err != 0) {
        return err;
    }
    if (int err = clear_process_sets(); err != 0) {
        return err;
    }
    if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0 ||
        ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
        return errno;
    }
    return 0;
}

}  // namespace resin::sandbox
