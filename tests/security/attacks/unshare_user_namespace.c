// unshare(CLONE_NEWUSER): a user namespace gives its creator every capability inside it, which is
// how most kernel bugs that need CAP_SYS_ADMIN become reachable from an unprivileged process.
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "attack.h"

int main(void) {
    return attack_result("unshare_user_namespace", syscall(SYS_unshare, CLONE_NEWUSER),
                         "now in a user namespace of its own");
}
