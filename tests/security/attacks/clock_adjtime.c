// clock_adjtime(2), adjtimex for a given clock. Probe: modes 0 only reads the state.
#include <sys/syscall.h>
#include <sys/timex.h>
#include <time.h>
#include <unistd.h>

#include "attack.h"

int main(void) {
    struct timex state;
    memset(&state, 0, sizeof state);
    return probe_result("clock_adjtime", syscall(SYS_clock_adjtime, CLOCK_REALTIME, &state));
}
