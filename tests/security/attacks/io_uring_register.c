// io_uring_register(2), on a ring the attack creates itself (first on no ring, as io_uring_enter).
#include <linux/io_uring.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "attack.h"

int main(void) {
    require_reachable("io_uring_register",
                      syscall(SYS_io_uring_register, -1, IORING_REGISTER_PROBE, NULL, 0));
    struct io_uring_params params;
    memset(&params, 0, sizeof params);
    const long ring = syscall(SYS_io_uring_setup, 4, &params);
    const unsigned ops = 256;
    struct io_uring_probe* probe =
        calloc(1, sizeof(struct io_uring_probe) + ops * sizeof(struct io_uring_probe_op));
    if (ring < 0 || probe == NULL) {
        return attack_broken("io_uring_register", "io_uring_setup");
    }
    return attack_result("io_uring_register",
                         syscall(SYS_io_uring_register, ring, IORING_REGISTER_PROBE, probe, ops),
                         "registered with an io_uring");
}
