// chroot(2) into argv[1]: with a directory of its own making, a process can fake /etc for a
// setuid program, or start the double-chroot breakout.
#include <sys/syscall.h>
#include <unistd.h>

#include "attack.h"

int main(int argc, char** argv) {
    return attack_result("chroot", syscall(SYS_chroot, argc > 1 ? argv[1] : "/tmp"),
                         "changed its root directory");
}
