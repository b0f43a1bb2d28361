// move_mount(2): attaches a mount made with the new API onto a directory (argv[1]). Called first on
// no mount. Unmounted again at once.
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "attack.h"

int main(int argc, char** argv) {
    const char* target = argc > 1 ? argv[1] : "/tmp";
    require_reachable("move_mount",
                      syscall(SYS_move_mount, -1, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH));
    const long context = syscall(SYS_fsopen, "tmpfs", FSOPEN_CLOEXEC);
    const long mount =
        context < 0 || syscall(SYS_fsconfig, context, FSCONFIG_CMD_CREATE, NULL, NULL, 0) != 0
            ? -1
            : syscall(SYS_fsmount, context, FSMOUNT_CLOEXEC, 0);
    if (mount < 0) {
        return attack_broken("move_mount", "making a mount to move");
    }
    if (syscall(SYS_move_mount, mount, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH) != 0) {
        return attack_failed("move_mount", errno);
    }
    syscall(SYS_umount2, target, 0);
    return attack_succeeded("move_mount", "attached a mount");
}
