// request_key(2): looks a key up in the kernel's keyrings, and may ask user space (an upcall run
// as root on the host) to make it. Probe: a key that does not exist and no callout, so nothing is
// run; ENOKEY shows the lookup happened.
#include <linux/keyctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "attack.h"

int main(void) {
    return probe_result("request_key", syscall(SYS_request_key, "user", "resin-attack-absent",
                                               (char*)NULL, KEY_SPEC_PROCESS_KEYRING));
}
