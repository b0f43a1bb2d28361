// setns(2): joining another namespace through a descriptor (here, harmlessly, its own UTS
// namespace: the same check a foreign one would meet).
#include <fcntl.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "attack.h"

int main(void) {
    require_reachable("setns", syscall(SYS_setns, -1, 0));
    const int ns = open("/proc/self/ns/uts", O_RDONLY | O_CLOEXEC);
    if (ns < 0) {
        return attack_broken("setns", "opening /proc/self/ns/uts");
    }
    return attack_result("setns", syscall(SYS_setns, ns, CLONE_NEWUTS), "joined a namespace");
}
