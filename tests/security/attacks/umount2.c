// umount2(2): removing a mount can uncover what it hides. Called first on argv[1], which is not a
// mount point (EINVAL), then on a tmpfs the attack mounts there itself.
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "attack.h"

int main(int argc, char** argv) {
    const char* target = argc > 1 ? argv[1] : "/tmp";
    require_reachable("umount2", syscall(SYS_umount2, target, 0));
    if (syscall(SYS_mount, "resin-attack", target, "tmpfs", 0, "size=4k") != 0) {
        return attack_broken("umount2", "mount");
    }
    return attack_result("umount2", syscall(SYS_umount2, target, 0), "unmounted a filesystem");
}
