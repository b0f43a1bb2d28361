// delete_module(2). Probe: a module that does not exist fails with ENOENT, which comes after the
// CAP_SYS_MODULE check.
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "attack.h"

int main(void) {
    return probe_result("delete_module",
                        syscall(SYS_delete_module, "resin_attack_absent", O_NONBLOCK));
}
