// A syscall through the x32 ABI: the x86-64 number with bit 30 set. Where the kernel lacks x32
// support it answers ENOSYS; a filter must refuse it either way, since it cannot know the kernel.
#include <sys/syscall.h>
#include <unistd.h>

#include "attack.h"

#define X32_SYSCALL_BIT 0x40000000L

int main(void) {
    const long pid = syscall(X32_SYSCALL_BIT | SYS_getpid);
    if (pid < 0) {
        return attack_failed("x32_syscall", errno);
    }
    return attack_succeeded("x32_syscall", "getpid through the x32 ABI");
}
