// ptrace(2) of a sibling: one child attaches to another child of the same parent and reads its
// memory. In a sandbox the attacker is not the command itself, so its death is reported as that of
// "a process of the command".
#include <sys/ptrace.h>
#include <sys/syscall.h>

#include "attack.h"
#include "victim.h"

// The attacker: exits 0 if it read the victim's secret, else with the errno that stopped it.
static void attack(pid_t victim) {
    if (syscall(SYS_ptrace, PTRACE_ATTACH, victim, 0, 0) != 0) {
        _exit(errno);
    }
    int status = 0;
    waitpid(victim, &status, __WALL);
    long word = 0;
    const long peeked = syscall(SYS_ptrace, PTRACE_PEEKDATA, victim, &victim_secret, &word);
    syscall(SYS_ptrace, PTRACE_DETACH, victim, 0, 0);
    _exit(peeked == 0 && word == victim_secret ? 0 : EIO);
}

int main(void) {
    int release = -1;
    const pid_t victim = start_victim(&release);
    const pid_t attacker = victim < 0 ? -1 : fork();
    if (attacker == 0) {
        attack(victim);
    }
    if (attacker < 0) {
        return attack_broken("ptrace_sibling", "fork");
    }
    int status = 0;
    waitpid(attacker, &status, 0);
    end_victim(victim, release);
    if (WIFSIGNALED(status)) {
        return attack_report("ptrace_sibling", "DENIED", ATTACK_DENIED,
                             "the attacker was killed by signal %d", WTERMSIG(status));
    }
    if (WEXITSTATUS(status) != 0) {
        return attack_failed("ptrace_sibling", WEXITSTATUS(status));
    }
    return attack_succeeded("ptrace_sibling", "read a sibling's memory");
}
