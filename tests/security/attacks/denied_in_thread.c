// A denied syscall (keyctl: unshare(CLONE_NEWUSER) is refused to any multi-threaded process by the
// kernel itself) made by a second thread: a filter installed before exec must hold for threads
// created after it.
#include <linux/keyctl.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "attack.h"

static void* attack(void* result) {
    *(long*)result = syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, (char*)NULL) >= 0 ? 0 : errno;
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
    return attack_succeeded("denied_in_thread", "a thread joined a new session keyring");
}
