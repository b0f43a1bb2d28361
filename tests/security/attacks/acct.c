// acct(2), process accounting for the whole host. Probe: for real it would start writing a record
// of every process that ends; a file that cannot exist fails with ENOENT, which comes after the
// CAP_SYS_PACCT check.
#include <sys/syscall.h>
#include <unistd.h>

#include "attack.h"

int main(void) {
    return probe_result("acct", syscall(SYS_acct, "/resin-attack-absent/acct"));
}
