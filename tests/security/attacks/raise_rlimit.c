// Raising a hard resource limit (open files) above the one it was given.
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "attack.h"

int main(void) {
    struct rlimit limit;
    if (syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, NULL, &limit) != 0) {
        return attack_broken("raise_rlimit", "prlimit64");
    }
    const rlim_t given = limit.rlim_max;
    limit.rlim_max = given + 1;
    if (syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, &limit, NULL) != 0) {
        return attack_failed("raise_rlimit", errno);
    }
    return attack_report("raise_rlimit", "SUCCEEDED", ATTACK_SUCCEEDED,
                         "raised the hard limit on open files from %llu to %llu",
                         (unsigned long long)given, (unsigned long long)limit.rlim_max);
}
