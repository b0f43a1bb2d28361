// Clearing the securebits, which would let uid 0 regain capabilities through execve.
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "attack.h"

int main(void) {
    const long before = syscall(SYS_prctl, PR_GET_SECUREBITS, 0, 0, 0, 0);
    if (syscall(SYS_prctl, PR_SET_SECUREBITS, 0, 0, 0, 0) != 0) {
        return attack_failed("unlock_securebits", errno);
    }
    return attack_report("unlock_securebits", "SUCCEEDED", ATTACK_SUCCEEDED,
                         "securebits cleared (were 0x%lx)", before);
}
