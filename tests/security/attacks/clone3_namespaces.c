// clone3(2) with a namespace flag. Its flags live behind a pointer a seccomp filter cannot read, so
// a filter can only refuse clone3 as a whole (ENOSYS makes libc fall back to clone, whose flags it
// can read).
#include <linux/sched.h>
#include <signal.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "attack.h"

int main(void) {
    struct clone_args args;
    memset(&args, 0, sizeof args);
    args.flags = CLONE_NEWUSER;
    args.exit_signal = SIGCHLD;
    const long child = syscall(SYS_clone3, &args, sizeof args);
    if (child == 0) {
        syscall(SYS_exit_group, 0);
    }
    if (child < 0) {
        return attack_failed("clone3_namespaces", errno);
    }
    int status = 0;
    waitpid((pid_t)child, &status, 0);
    return attack_succeeded("clone3_namespaces", "a child in a new user namespace");
}
