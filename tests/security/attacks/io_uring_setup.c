// io_uring_setup(2): io_uring runs operations on kernel workers, out of the filter's sight, and
// has been a rich source of kernel bugs.
#include <linux/io_uring.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "attack.h"

int main(void) {
    struct io_uring_params params;
    memset(&params, 0, sizeof params);
    return attack_result("io_uring_setup", syscall(SYS_io_uring_setup, 4, &params),
                         "created an io_uring");
}
