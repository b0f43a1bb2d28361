// open_tree(2) with OPEN_TREE_CLONE: a detached copy of a mount (here /), which can be attached
// elsewhere or have its flags changed.
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "attack.h"

int main(void) {
    return attack_result("open_tree",
                         syscall(SYS_open_tree, AT_FDCWD, "/", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC),
                         "cloned the root mount");
}
