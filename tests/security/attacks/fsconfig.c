// fsconfig(2): configures a filesystem context and creates its superblock. Called first on no
// context, so that in a sandbox it is fsconfig that meets the filter.
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "attack.h"

int main(void) {
    require_reachable("fsconfig", syscall(SYS_fsconfig, -1, FSCONFIG_CMD_CREATE, NULL, NULL, 0));
    const long context = syscall(SYS_fsopen, "tmpfs", FSOPEN_CLOEXEC);
    if (context < 0) {
        return attack_broken("fsconfig", "fsopen");
    }
    return attack_result("fsconfig",
                         syscall(SYS_fsconfig, context, FSCONFIG_CMD_CREATE, NULL, NULL, 0),
                         "created a superblock");
}
