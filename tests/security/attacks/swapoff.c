// swapoff(2). Probe: for real it could take the host's swap away; a swap file that does not exist
// fails with ENOENT, which comes after the CAP_SYS_ADMIN check.
#include <sys/syscall.h>
#include <unistd.h>

#include "attack.h"

int main(void) {
    return probe_result("swapoff", syscall(SYS_swapoff, "/resin-attack-absent"));
}
