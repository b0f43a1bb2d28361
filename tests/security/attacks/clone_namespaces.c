// clone(2) with namespace flags: the same namespaces as unshare, created for a child.
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "attack.h"

int main(void) {
    const long child =
        syscall(SYS_clone, CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | SIGCHLD, 0, 0, 0, 0);
    if (child == 0) {
        syscall(SYS_exit_group, 0);
    }
    if (child < 0) {
        return attack_failed("clone_namespaces", errno);
    }
    int status = 0;
    waitpid((pid_t)child, &status, 0);
    return attack_succeeded("clone_namespaces", "a child in new user, mount and pid namespaces");
}
