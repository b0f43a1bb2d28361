// process_vm_readv(2): reads another process's memory without attaching to it.
#include <sys/syscall.h>
#include <sys/uio.h>

#include "attack.h"
#include "victim.h"

int main(void) {
    int release = -1;
    const pid_t victim = start_victim(&release);
    if (victim < 0) {
        return attack_broken("process_vm_readv", "fork");
    }
    long word = 0;
    struct iovec local = {&word, sizeof word};
    struct iovec remote = {(void*)&victim_secret, sizeof word};
    const long got = syscall(SYS_process_vm_readv, victim, &local, 1, &remote, 1, 0);
    const int err = errno;
    end_victim(victim, release);
    if (got != (long)sizeof word) {
        return attack_failed("process_vm_readv", err);
    }
    return word == victim_secret
               ? attack_succeeded("process_vm_readv", "read another process's memory")
               : attack_broken("process_vm_readv", "read the wrong bytes");
}
