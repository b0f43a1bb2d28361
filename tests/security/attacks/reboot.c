// reboot(2). Probe: for real it would reboot the host; a wrong second magic number fails with
// EINVAL, which comes after the CAP_SYS_BOOT check (and the command, disabling Ctrl-Alt-Del, would
// be harmless anyway).
#include <linux/reboot.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "attack.h"

int main(void) {
    return probe_result("reboot", syscall(SYS_reboot, LINUX_REBOOT_MAGIC1, 0x12345678,
                                          LINUX_REBOOT_CMD_CAD_OFF, NULL));
}
