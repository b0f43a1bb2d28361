// A syscall through the i386 ABI (int 0x80) from a 64-bit process. The i386 table numbers syscalls
// differently, so a filter that checks numbers without checking the ABI can be walked around
// (e.g. i386 getpid, 20, is x86-64's sendfile... and the reverse).
#include <sys/syscall.h>
#include <unistd.h>

#include "attack.h"

static long i386_syscall0(long number) {
    long result = number;
    __asm__ volatile("int $0x80" : "+a"(result) : : "memory", "r8", "r9", "r10", "r11");
    return result;
}

int main(void) {
    const long pid = i386_syscall0(20);  // getpid in the i386 table
    if (pid < 0) {
        return attack_failed("i386_syscall", (int)-pid);
    }
    if (pid != syscall(SYS_getpid)) {
        return attack_broken("i386_syscall", "getpid through int 0x80 answered another pid");
    }
    return attack_succeeded("i386_syscall", "getpid through int 0x80 (i386 ABI)");
}
