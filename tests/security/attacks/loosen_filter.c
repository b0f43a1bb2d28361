// Trying to loosen the syscall filter from inside: adding a filter that allows everything (seccomp
// only ever adds filters, and the strictest verdict wins), asking for a notification listener of
// its own, and clearing no_new_privs; then making a syscall the sandbox denies
// (unshare(CLONE_NEWUSER)). The STEPS line, printed first, and the detail say what each step got.
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "attack.h"

static const char* outcome(long rc) {
    return rc >= 0 ? "ok" : errno_name(errno);
}

int main(void) {
    struct sock_filter allow_all = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    struct sock_fprog program = {1, &allow_all};
    syscall(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);  // required to add a filter unprivileged
    const char* added = outcome(syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &program));
    const char* listener = outcome(
        syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &program));
    const char* cleared = outcome(syscall(SYS_prctl, PR_SET_NO_NEW_PRIVS, 0, 0, 0, 0));
    // Said before the denied syscall, which may be the last thing this process does.
    printf("STEPS allow-all filter: %s, listener: %s, clearing no_new_privs: %s\n", added, listener,
           cleared);
    fflush(stdout);
    if (syscall(SYS_unshare, CLONE_NEWUSER) != 0) {
        return attack_report("loosen_filter", "DENIED", ATTACK_DENIED,
                             "%s (allow-all filter: %s, listener: %s, clearing no_new_privs: %s)",
                             errno_name(errno), added, listener, cleared);
    }
    return attack_report("loosen_filter", "SUCCEEDED", ATTACK_SUCCEEDED,
                         "entered a user namespace (allow-all filter: %s, listener: %s, clearing "
                         "no_new_privs: %s)",
                         added, listener, cleared);
}
