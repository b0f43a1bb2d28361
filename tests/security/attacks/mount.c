// mount(2): mounting over a directory (argv[1]) changes what every process of the mount namespace
// sees there. Unmounted again at once.
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "attack.h"

int main(int argc, char** argv) {
    const char* target = argc > 1 ? argv[1] : "/tmp";
    if (syscall(SYS_mount, "resin-attack", target, "tmpfs", 0, "size=4k") != 0) {
        return attack_failed("mount", errno);
    }
    syscall(SYS_umount2, target, 0);
    return attack_succeeded("mount", "mounted a tmpfs");
}
