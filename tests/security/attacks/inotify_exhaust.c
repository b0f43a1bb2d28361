// Holding every inotify instance its user may have (fs.inotify.max_user_instances, a per-user
// count of the kernel's): creates instances until the kernel refuses, reports how many, and keeps
// them until killed, so that the test can look at what is left for others meanwhile.
#include <sys/inotify.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "attack.h"

int main(int argc, char** argv) {
    int held = 0;
    while (syscall(SYS_inotify_init1, IN_CLOEXEC) >= 0) {
        ++held;
    }
    const int err = errno;
    if (held == 0) {
        return attack_failed("inotify_exhaust", err);
    }
    attack_report("inotify_exhaust", "SUCCEEDED", ATTACK_SUCCEEDED, "held %d instances, then %s",
                  held, errno_name(err));
    if (argc > 1 && strcmp(argv[1], "--hold") == 0) {
        for (;;) {
            pause();
        }
    }
    return ATTACK_SUCCEEDED;
}
