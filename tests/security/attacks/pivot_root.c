// pivot_root(2). Probe: run for real on the host it would swap the host's root; given paths that
// do not exist it fails with ENOENT, which comes after the privilege check.
#include <sys/syscall.h>
#include <unistd.h>

#include "attack.h"

int main(void) {
    return probe_result(
        "pivot_root", syscall(SYS_pivot_root, "/resin-attack-absent", "/resin-attack-absent/old"));
}
