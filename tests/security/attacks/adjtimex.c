// adjtimex(2), the kernel's clock discipline. Probe: modes 0 only reads the state (any change
// needs CAP_SYS_TIME); it shows the syscall is reachable.
#include <sys/syscall.h>
#include <sys/timex.h>
#include <unistd.h>

#include "attack.h"

int main(void) {
    struct timex state;
    memset(&state, 0, sizeof state);
    return probe_result("adjtimex", syscall(SYS_adjtimex, &state));
}
