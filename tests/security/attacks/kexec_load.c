// kexec_load(2). Probe: for real it would replace the running kernel; with more segments than the
// kernel takes it fails with EINVAL, which comes after the CAP_SYS_BOOT check.
#include <linux/kexec.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "attack.h"

int main(void) {
    return probe_result(
        "kexec_load", syscall(SYS_kexec_load, 0, KEXEC_SEGMENT_MAX + 1, NULL, KEXEC_ARCH_DEFAULT));
}
