// A syscall through the i386 ABI (int 0x80) from a 64-bit process. The i386 table numbers syscalls
// differently, so a filter that checks numbers without checking the ABI can be walked around
// (e.g. i386 getpid, 20, is x86-64's sendfile... and the reverse).
//
// Some hypervisors' guests (PVM) have no int 0x80 gate: the instruction faults before any syscall
// entry, with or without a filter. The program says so (NO_ENTRY) instead of dying of SIGSEGV.
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "attack.h"

static long i386_syscall0(long number) {
    long result = number;
    __asm__ volatile("int $0x80" : "+a"(result) : : "memory", "r8", "r9", "r10", "r11");
    return result;
}

static void no_i386_entry(int sig) {
    (void)sig;
    exit(attack_report("i386_syscall", "NO_ENTRY", ATTACK_NO_ENTRY,
                       "int 0x80 faults on this machine: it has no i386 syscall entry"));
}

int main(void) {
    struct sigaction on_fault = {0};
    on_fault.sa_handler = no_i386_entry;
    if (sigaction(SIGSEGV, &on_fault, NULL) != 0) {
        return attack_broken("i386_syscall", "sigaction");
    }
    const long pid = i386_syscall0(20);  // getpid in the i386 table
    if (pid < 0) {
        return attack_failed("i386_syscall", (int)-pid);
    }
    if (pid != syscall(SYS_getpid)) {
        return attack_broken("i386_syscall", "getpid through int 0x80 answered another pid");
    }
    return attack_succeeded("i386_syscall", "getpid through int 0x80 (i386 ABI)");
}
