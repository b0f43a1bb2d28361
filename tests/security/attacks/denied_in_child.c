// A denied syscall (unshare(CLONE_NEWUSER)) made by a child: a filter must hold for descendants.
#include <sched.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "attack.h"

int main(void) {
    const pid_t child = fork();
    if (child == 0) {
        _exit(syscall(SYS_unshare, CLONE_NEWUSER) == 0 ? 0 : errno);
    }
    int status = 0;
    if (child < 0 || waitpid(child, &status, 0) != child) {
        return attack_broken("denied_in_child", "fork");
    }
    if (WIFSIGNALED(status)) {
        return attack_report("denied_in_child", "DENIED", ATTACK_DENIED,
                             "the child was killed by signal %d", WTERMSIG(status));
    }
    if (WEXITSTATUS(status) != 0) {
        return attack_failed("denied_in_child", WEXITSTATUS(status));
    }
    return attack_succeeded("denied_in_child", "a child entered a new user namespace");
}
