// ptrace(2): attaching to another process (here its own child) to read and change its memory and
// registers; the path to every process the sandbox can see.
#include <sys/ptrace.h>
#include <sys/syscall.h>

#include "attack.h"
#include "victim.h"

int main(void) {
    int release = -1;
    const pid_t victim = start_victim(&release);
    if (victim < 0) {
        return attack_broken("ptrace_attach", "fork");
    }
    if (syscall(SYS_ptrace, PTRACE_ATTACH, victim, 0, 0) != 0) {
        const int err = errno;
        end_victim(victim, release);
        return attack_failed("ptrace_attach", err);
    }
    int status = 0;
    waitpid(victim, &status, __WALL);
    long word = 0;
    const long peeked = syscall(SYS_ptrace, PTRACE_PEEKDATA, victim, &victim_secret, &word);
    syscall(SYS_ptrace, PTRACE_DETACH, victim, 0, 0);
    end_victim(victim, release);
    if (peeked != 0 || word != victim_secret) {
        return attack_report("ptrace_attach", "DENIED", ATTACK_DENIED,
                             "attached but could not read");
    }
    return attack_succeeded("ptrace_attach", "read another process's memory");
}
