// Holding every queued signal its user may have (RLIMIT_SIGPENDING, counted per user by the
// kernel): blocks a real-time signal and queues it to itself until the kernel refuses (EAGAIN),
// reports how many, and keeps them until killed. Meanwhile the same user's timer_create and
// sigqueue fail too.
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "attack.h"

int main(int argc, char** argv) {
    sigset_t blocked;
    sigemptyset(&blocked);
    sigaddset(&blocked, SIGRTMIN);
    if (sigprocmask(SIG_BLOCK, &blocked, NULL) != 0) {
        return attack_broken("sigqueue_exhaust", "blocking the signal");
    }
    const pid_t self = getpid();
    long held = 0;
    for (;;) {
        siginfo_t info;
        memset(&info, 0, sizeof info);
        info.si_signo = SIGRTMIN;
        info.si_code = SI_QUEUE;
        info.si_pid = self;
        info.si_uid = getuid();
        if (syscall(SYS_rt_sigqueueinfo, self, SIGRTMIN, &info) != 0) {
            break;
        }
        ++held;
    }
    const int err = errno;
    if (held == 0) {
        return attack_failed("sigqueue_exhaust", err);
    }
    attack_report("sigqueue_exhaust", "SUCCEEDED", ATTACK_SUCCEEDED, "queued %ld signals, then %s",
                  held, errno_name(err));
    if (argc > 1 && strcmp(argv[1], "--hold") == 0) {
        for (;;) {
            pause();
        }
    }
    return ATTACK_SUCCEEDED;
}
