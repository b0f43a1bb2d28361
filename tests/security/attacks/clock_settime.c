// clock_settime(2). Probe: for real it would set the host's clock; an invalid time fails with
// EINVAL, which shows the syscall reached the kernel's clock code (a filter answers EPERM or kills,
// a missing syscall ENOSYS).
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "attack.h"

int main(void) {
    const struct timespec invalid = {0, -1};
    return probe_result("clock_settime", syscall(SYS_clock_settime, CLOCK_REALTIME, &invalid));
}
