// process_vm_writev(2): writes another process's memory without attaching to it. The victim says
// whether its secret changed.
#include <sys/syscall.h>
#include <sys/uio.h>

#include "attack.h"
#include "victim.h"

int main(void) {
    int release = -1;
    const pid_t victim = start_victim(&release);
    if (victim < 0) {
        return attack_broken("process_vm_writev", "fork");
    }
    long word = 0x0bad;
    struct iovec local = {&word, sizeof word};
    struct iovec remote = {(void*)&victim_secret, sizeof word};
    const long put = syscall(SYS_process_vm_writev, victim, &local, 1, &remote, 1, 0);
    const int err = errno;
    const int changed = end_victim(victim, release) == 0;
    if (put != (long)sizeof word) {
        return attack_failed("process_vm_writev", err);
    }
    return changed ? attack_succeeded("process_vm_writev", "changed another process's memory")
                   : attack_broken("process_vm_writev", "the victim saw no change");
}
