// keyctl(2): the kernel keyring is not namespaced; keyrings have been a steady source of kernel
// bugs and of secrets shared across containers of one uid.
#include <linux/keyctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "attack.h"

int main(void) {
    return attack_result("keyctl", syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, (char*)NULL),
                         "joined a new session keyring");
}
