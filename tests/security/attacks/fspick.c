// fspick(2): a context to reconfigure the filesystem mounted at a path (here /; nothing is
// changed).
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "attack.h"

int main(void) {
    return attack_result("fspick", syscall(SYS_fspick, AT_FDCWD, "/", FSPICK_CLOEXEC),
                         "picked the root filesystem for reconfiguration");
}
