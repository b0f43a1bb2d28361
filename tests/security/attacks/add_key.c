// add_key(2): puts a key into the kernel's (not namespaced) keyrings.
#include <linux/keyctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "attack.h"

int main(void) {
    const char secret[] = "secret";
    return attack_result("add_key",
                         syscall(SYS_add_key, "user", "resin-attack", secret, sizeof secret - 1,
                                 KEY_SPEC_PROCESS_KEYRING),
                         "added a key to a kernel keyring");
}
