// finit_module(2), loading a kernel module from a descriptor. Probe: no descriptor fails with
// EBADF, which comes after the CAP_SYS_MODULE check.
#include <sys/syscall.h>
#include <unistd.h>

#include "attack.h"

int main(void) {
    return probe_result("finit_module", syscall(SYS_finit_module, -1, "", 0));
}
