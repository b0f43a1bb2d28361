// fsmount(2): turns a configured filesystem context into a mount. Called first on no context.
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "attack.h"

int main(void) {
    require_reachable("fsmount", syscall(SYS_fsmount, -1, FSMOUNT_CLOEXEC, 0));
    const long context = syscall(SYS_fsopen, "tmpfs", FSOPEN_CLOEXEC);
    if (context < 0 || syscall(SYS_fsconfig, context, FSCONFIG_CMD_CREATE, NULL, NULL, 0) != 0) {
        return attack_broken("fsmount", "fsopen");
    }
    return attack_result("fsmount", syscall(SYS_fsmount, context, FSMOUNT_CLOEXEC, 0),
                         "made a detached mount");
}
