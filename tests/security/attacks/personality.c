// personality(2) with a value that weakens the process: by default ADDR_NO_RANDOMIZE, which turns
// off ASLR for what it executes next. argv[1] (any base) tries another value, e.g. one with bits
// above 32 (the kernel reads 32) or a harmless one.
#include <stdint.h>
#include <sys/personality.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "attack.h"

int main(int argc, char** argv) {
    const unsigned long persona = argc > 1 ? strtoul(argv[1], NULL, 0) : ADDR_NO_RANDOMIZE;
    if (syscall(SYS_personality, persona) < 0) {
        return attack_failed("personality", errno);
    }
    const long now = syscall(SYS_personality, 0xffffffffUL);
    if ((uint32_t)now != (uint32_t)persona) {
        return attack_report("personality", "DENIED", ATTACK_DENIED, "personality is 0x%lx", now);
    }
    return attack_report("personality", "SUCCEEDED", ATTACK_SUCCEEDED, "personality is now 0x%lx",
                         now);
}
