// Altering the caller's terminal, which resin's CLI hands to the command as stdin: "ldisc" sets the
// line discipline to N_NULL (everything typed vanishes, after resin too); "modes" leaves it raw
// without echo, non-blocking (a flag of the open file the caller's shell shares) and exclusive,
// with output stopped. The attack succeeds if the change is made; that it outlives the command is
// what the test checks from outside.
#include <fcntl.h>
#include <linux/tty.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "attack.h"

static int change_line_discipline(void) {
    const int discipline = N_NULL;
    return attack_result("terminal_state", ioctl(0, TIOCSETD, &discipline),
                         "set the terminal's line discipline to N_NULL");
}

static int change_modes(void) {
    struct termios modes;
    if (tcgetattr(0, &modes) != 0) {
        return attack_broken("terminal_state", "tcgetattr");
    }
    modes.c_lflag &= ~(tcflag_t)(ECHO | ICANON | ISIG);
    modes.c_iflag &= ~(tcflag_t)(ICRNL | IXON);
    if (tcsetattr(0, TCSANOW, &modes) != 0) {
        return attack_failed("terminal_state", errno);
    }
    const int flags = fcntl(0, F_GETFL);
    if (flags < 0 || fcntl(0, F_SETFL, flags | O_NONBLOCK) != 0) {
        return attack_failed("terminal_state", errno);
    }
    if (ioctl(0, TIOCEXCL) != 0) {
        return attack_failed("terminal_state", errno);
    }
    // The verdict first: once output is stopped, nothing written reaches the terminal.
    attack_succeeded("terminal_state", "left the terminal raw, non-blocking, exclusive, stopped");
    if (tcflow(0, TCOOFF) != 0) {
        return attack_failed("terminal_state", errno);
    }
    return ATTACK_SUCCEEDED;
}

int main(int argc, char** argv) {
    if (argc > 1 && strcmp(argv[1], "ldisc") == 0) {
        return change_line_discipline();
    }
    return change_modes();
}
