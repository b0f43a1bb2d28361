// Forging the exit report: the command ends itself with the signal a sandbox limit or the filter
// would use (SIGSYS, SIGXCPU, SIGKILL, named as the argument), hoping the report blames the
// sandbox. The attack "succeeds" here when the signal ends the process, as it does on the host;
// the sandbox must then report reason "signaled", not seccomp or a limit.
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "attack.h"

int main(int argc, char** argv) {
    const char* name = argc > 1 ? argv[1] : "";
    int sig = 0;
    if (strcmp(name, "SIGSYS") == 0) {
        sig = SIGSYS;
    } else if (strcmp(name, "SIGXCPU") == 0) {
        sig = SIGXCPU;
    } else if (strcmp(name, "SIGKILL") == 0) {
        sig = SIGKILL;
    } else {
        errno = EINVAL;
        return attack_broken("raise_signal", "naming the signal");
    }
    attack_report("raise_signal", "SUCCEEDED", ATTACK_SUCCEEDED, "raising %s", name);
    syscall(SYS_kill, getpid(), sig);
    return attack_report("raise_signal", "DENIED", ATTACK_DENIED, "%s did not end the process",
                         name);
}
