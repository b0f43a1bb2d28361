// fsopen(2), the new mount API's first step: a filesystem context, from which a mount can be made
// without mount(2).
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "attack.h"

int main(void) {
    return attack_result("fsopen", syscall(SYS_fsopen, "tmpfs", FSOPEN_CLOEXEC),
                         "created a filesystem context");
}
