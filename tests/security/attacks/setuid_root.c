// Run from a setuid-root copy: reports whether executing it made the process root.
#include <sys/syscall.h>
#include <unistd.h>

#include "attack.h"

int main(void) {
    const long euid = syscall(SYS_geteuid);
    if (euid != 0) {
        return attack_report("setuid_root", "DENIED", ATTACK_DENIED, "euid stayed %ld", euid);
    }
    return attack_succeeded("setuid_root", "euid 0 from a setuid binary");
}
