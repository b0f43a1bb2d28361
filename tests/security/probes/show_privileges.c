// Prints what the process holds: the capability sets, no_new_privs and the seccomp state from
// /proc/self/status, and the securebits.
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void) {
    static const char* const fields[] = {"CapInh:", "CapPrm:",     "CapEff:",  "CapBnd:",
                                         "CapAmb:", "NoNewPrivs:", "Seccomp:", "Seccomp_filters:"};
    FILE* status = fopen("/proc/self/status", "re");
    if (status == NULL) {
        perror("/proc/self/status");
        return 1;
    }
    char line[256];
    while (fgets(line, sizeof line, status) != NULL) {
        for (size_t i = 0; i < sizeof fields / sizeof fields[0]; ++i) {
            if (strncmp(line, fields[i], strlen(fields[i])) == 0) {
                fputs(line, stdout);
            }
        }
    }
    printf("Securebits:\t%lx\n", (long)syscall(SYS_prctl, PR_GET_SECUREBITS, 0, 0, 0, 0));
    return 0;
}
