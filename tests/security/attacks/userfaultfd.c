// userfaultfd(2): lets a process stall the kernel on a page fault of its choosing, the classic way
// to widen a kernel race window into a reliable exploit.
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "attack.h"

int main(void) {
    return attack_result("userfaultfd", syscall(SYS_userfaultfd, O_CLOEXEC | UFFD_USER_MODE_ONLY),
                         "created a userfaultfd");
}
