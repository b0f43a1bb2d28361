// Signalling the process that runs the sandboxes (its host pid in argv[1]). Signal 0 makes every
// permission check a real signal would and delivers nothing.
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "attack.h"

int main(int argc, char** argv) {
    if (argc < 2) {
        return attack_broken("signal_resin", "usage: signal_resin PID");
    }
    return attack_result("signal_resin", syscall(SYS_kill, atol(argv[1]), 0),
                         "could signal resin's process");
}
