// settimeofday(2). Probe: for real it would set the host's clock; with neither a time nor a zone
// it changes nothing, yet still needs CAP_SYS_TIME and returns 0 only past that check.
#include <sys/syscall.h>
#include <unistd.h>

#include "attack.h"

int main(void) {
    return probe_result("settimeofday", syscall(SYS_settimeofday, NULL, NULL));
}
