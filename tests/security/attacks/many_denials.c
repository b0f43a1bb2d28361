// Many denied syscalls in one sandbox: a thousand single-threaded children (kcmp), then children
// whose threads all make one at once (keyctl). Each must be killed and named, the thousandth like
// the first: the attack is that one of them is left running, or blocked, or unnamed. Harmless
// calls, which succeed on the host for any user. Then, as the first argument says: "exit" (exit
// with the verdict's code), "self" (the command makes a denied syscall of its own, request_key,
// after all the others), "hang" (wait to be killed). The second argument, if any, replaces the
// thousand. A third, "signal-parent", sends the parent (in the sandbox: the init) a SIGCHLD before
// each batch: signals must not keep the init from answering the denials.
#include <linux/kcmp.h>
#include <linux/keyctl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "attack.h"

enum { kBatch = 25, kThreaded = 20, kThreads = 8 };

static void* find_keyring(void* unused) {
    (void)unused;
    return (void*)(long)(syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_USER_KEYRING, 0) >= 0);
}

static int threaded_child(void) {
    pthread_t threads[kThreads];
    for (int i = 0; i < kThreads; ++i) {
        if (pthread_create(&threads[i], NULL, find_keyring, NULL) != 0) {
            return 2;
        }
    }
    int failed = 0;
    for (int i = 0; i < kThreads; ++i) {
        void* ok = NULL;
        pthread_join(threads[i], &ok);
        failed += ok == NULL;
    }
    return failed == 0 ? 0 : 1;
}

static int kcmp_child(void) {
    const pid_t self = getpid();
    return syscall(SYS_kcmp, self, self, KCMP_VM, 0, 0) == 0 ? 0 : 1;
}

static int signal_parent;

struct Tally {
    int killed, succeeded, other;
};

// Starts `count` children running `body`, `kBatch` at a time, and tallies how each ended.
static int run_children(int count, int (*body)(void), struct Tally* tally) {
    for (int started = 0; started < count;) {
        if (signal_parent) {
            kill(getppid(), SIGCHLD);
        }
        pid_t batch[kBatch];
        int n = 0;
        for (; n < kBatch && started < count; ++n, ++started) {
            batch[n] = fork();
            if (batch[n] < 0) {
                return -1;
            }
            if (batch[n] == 0) {
                _exit(body());
            }
        }
        for (int i = 0; i < n; ++i) {
            int status = 0;
            if (waitpid(batch[i], &status, 0) != batch[i]) {
                return -1;
            }
            if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) {
                ++tally->killed;
            } else if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
                ++tally->succeeded;
            } else {
                ++tally->other;
            }
        }
    }
    return 0;
}

int main(int argc, char** argv) {
    const char* then = argc > 1 ? argv[1] : "exit";
    const int single = argc > 2 ? atoi(argv[2]) : 1000;
    signal_parent = argc > 3 && strcmp(argv[3], "signal-parent") == 0;
    struct Tally tally = {0, 0, 0};
    if (run_children(single, kcmp_child, &tally) != 0 ||
        run_children(kThreaded, threaded_child, &tally) != 0) {
        return attack_broken("many_denials", "fork");
    }
    const int total = single + kThreaded;
    int code;
    if (tally.succeeded == total) {
        code = attack_report("many_denials", "SUCCEEDED", ATTACK_SUCCEEDED,
                             "all %d processes made their syscalls", total);
    } else if (tally.killed == total) {
        code = attack_report("many_denials", "DENIED", ATTACK_DENIED,
                             "all %d processes were killed by signal 9", total);
    } else {
        code = attack_report("many_denials", "BROKEN", ATTACK_BROKEN,
                             "%d killed, %d succeeded, %d otherwise of %d", tally.killed,
                             tally.succeeded, tally.other, total);
    }
    if (strcmp(then, "self") == 0) {
        syscall(SYS_request_key, "user", "resin-attack-absent", (char*)NULL, 0);
    } else if (strcmp(then, "hang") == 0) {
        for (;;) {
            pause();
        }
    }
    return code;
}
