// ioctl TIOCLINUX: the virtual console's multiplexed ioctl, whose selection subcodes paste text
// into a console's input like TIOCSTI. The attack uses a read-only subcode (which console is in
// front) on /dev/tty0; the filter cannot tell subcodes apart and refuses them all. --high-bits as
// for TIOCSTI.
#include <fcntl.h>
#include <linux/tiocl.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "attack.h"

int main(int argc, char** argv) {
    const int high_bits = argc > 1 && strcmp(argv[1], "--high-bits") == 0;
    const char* name = "tioclinux";
    const uint64_t request = TIOCLINUX | (high_bits ? UINT64_C(1) << 32 : 0);
    const int console = open("/dev/tty0", O_RDONLY | O_NOCTTY | O_CLOEXEC);  // -1 in the sandbox
    char subcode = TIOCL_GETFGCONSOLE;
    const long rc = syscall(SYS_ioctl, console, request, &subcode);
    if (rc < 0) {
        return attack_failed(name, errno);
    }
    return attack_report(name, "SUCCEEDED", ATTACK_SUCCEEDED,
                         "drove the virtual console (console %ld is in front)", rc + 1);
}
