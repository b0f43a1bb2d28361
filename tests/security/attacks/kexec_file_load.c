// kexec_file_load(2). Probe: for real it would load a new kernel; with no kernel descriptor it
// fails with EBADF, which comes after the CAP_SYS_BOOT check.
#include <sys/syscall.h>
#include <unistd.h>

#include "attack.h"

int main(void) {
    return probe_result("kexec_file_load", syscall(SYS_kexec_file_load, -1, -1, 0, "", 0));
}
