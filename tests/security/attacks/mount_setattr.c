// mount_setattr(2): changes a mount's flags (read-only, nosuid, idmapping...). Called first on no
// mount; then on a detached copy of /, so nothing visible changes.
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "attack.h"

int main(void) {
    struct mount_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.attr_set = MOUNT_ATTR_RDONLY;
    require_reachable("mount_setattr",
                      syscall(SYS_mount_setattr, -1, "", AT_EMPTY_PATH, &attr, sizeof attr));
    const long tree = syscall(SYS_open_tree, AT_FDCWD, "/", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
    if (tree < 0) {
        return attack_broken("mount_setattr", "open_tree");
    }
    return attack_result("mount_setattr",
                         syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH, &attr, sizeof attr),
                         "changed a mount's flags");
}
