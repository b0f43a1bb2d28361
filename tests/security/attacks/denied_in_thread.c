// A denied syscall (unshare(CLONE_NEWUSER)) made by a second thread: a filter installed before
// exec must hold for threads created after it.
#include <pthread.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "attack.h"

static void* attack(void* result) {
    *(long*)result = syscall(SYS_unshare, CLONE_NEWUSER) == 0 ? 0 : errno;
    return NULL;
}

int main(void) {
    pthread_t thread;
    long result = 0;
    if (pthread_create(&thread, NULL, attack, &result) != 0 || pthread_join(thread, NULL) != 0) {
        return attack_broken("denied_in_thread", "pthread_create");
    }
    if (result != 0) {
        return attack_failed("denied_in_thread", (int)result);
    }
    return attack_succeeded("denied_in_thread", "a thread entered a new user namespace");
}
