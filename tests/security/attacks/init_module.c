// init_module(2), loading a kernel module. Probe: for real it would run code in the kernel; an
// empty image fails with ENOEXEC, which comes after the CAP_SYS_MODULE check.
#include <sys/syscall.h>
#include <unistd.h>

#include "attack.h"

int main(void) {
    return probe_result("init_module", syscall(SYS_init_module, NULL, 0, ""));
}
