// ioctl TIOCSTI: pushes bytes into a terminal's input, as if typed, so a sandboxed process that
// shares a terminal with a shell can make that shell run commands. With --high-bits the request has
// bits above 32 set: the kernel reads the request as 32 bits, so a filter that compares all 64 is
// bypassed (CVE-2019-10063).
#include <fcntl.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "attack.h"

// A fresh pty whose slave becomes our controlling terminal (TIOCSTI needs one, or CAP_SYS_ADMIN).
// -1 where there is no /dev/ptmx, as in the sandbox: the filter decides before the kernel looks at
// the descriptor.
static int open_controlling_pty(void) {
    const int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
    int unlock = 0;
    unsigned number = 0;
    if (master < 0 || ioctl(master, TIOCSPTLCK, &unlock) != 0 ||
        ioctl(master, TIOCGPTN, &number) != 0) {
        return -1;
    }
    char path[64];
    snprintf(path, sizeof path, "/dev/pts/%u", number);
    setsid();  // fails if we already lead a session, which is just as good
    const int slave = open(path, O_RDWR | O_CLOEXEC);
    if (slave >= 0) {
        ioctl(slave, TIOCSCTTY, 0);
    }
    return slave;
}

int main(int argc, char** argv) {
    const int high_bits = argc > 1 && strcmp(argv[1], "--high-bits") == 0;
    const char* name = "tiocsti";
    const uint64_t request = TIOCSTI | (high_bits ? UINT64_C(1) << 32 : 0);
    const int tty = open_controlling_pty();
    const char typed = '\n';
    if (syscall(SYS_ioctl, tty, request, &typed) != 0) {
        return attack_failed(name, errno);
    }
    int queued = 0;
    if (ioctl(tty, FIONREAD, &queued) != 0 || queued < 1) {
        return attack_report(name, "DENIED", ATTACK_DENIED, "nothing reached the input queue");
    }
    return attack_succeeded(name, "injected input into a terminal");
}
