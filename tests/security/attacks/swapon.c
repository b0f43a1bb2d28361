// swapon(2). Probe: a swap file that does not exist fails with ENOENT, which comes after the
// CAP_SYS_ADMIN check.
#include <sys/syscall.h>
#include <unistd.h>

#include "attack.h"

int main(void) {
    return probe_result("swapon", syscall(SYS_swapon, "/resin-attack-absent", 0));
}
