// io_uring_enter(2), on a ring the attack creates itself. Called first on no ring at all, so that
// in a sandbox it is io_uring_enter that meets the filter, not io_uring_setup.
#include <linux/io_uring.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "attack.h"

int main(void) {
    require_reachable("io_uring_enter", syscall(SYS_io_uring_enter, -1, 0, 0, 0, NULL, 0));
    struct io_uring_params params;
    memset(&params, 0, sizeof params);
    const long ring = syscall(SYS_io_uring_setup, 4, &params);
    if (ring < 0) {
        return attack_broken("io_uring_enter", "io_uring_setup");
    }
    return attack_result("io_uring_enter", syscall(SYS_io_uring_enter, ring, 0, 0, 0, NULL, 0),
                         "entered an io_uring");
}
