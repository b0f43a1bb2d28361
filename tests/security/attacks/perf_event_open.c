// perf_event_open(2): performance counters, a kernel attack surface and a side channel.
#include <linux/perf_event.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "attack.h"

int main(void) {
    struct perf_event_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.type = PERF_TYPE_SOFTWARE;
    attr.size = sizeof attr;
    attr.config = PERF_COUNT_SW_TASK_CLOCK;
    attr.exclude_kernel = 1;
    attr.exclude_hv = 1;
    return attack_result("perf_event_open", syscall(SYS_perf_event_open, &attr, 0, -1, -1, 0),
                         "opened a performance counter");
}
