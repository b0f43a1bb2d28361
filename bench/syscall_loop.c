// The syscall-heavy half of the filter benchmark: argv[1] (default 1000000) syscalls in a loop,
// timed with clock_gettime (the vDSO: no syscall). argv[2] picks the syscall: "getpid" (default),
// which the kernel's seccomp cache lets through without running the filter because its verdict
// does not depend on the arguments, or "ioctl" (FIONREAD on /dev/null, failing with ENOTTY), whose
// verdict does, so the filter runs on every call. Prints "<count> <syscall> <ns per syscall>".
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char** argv) {
    const long count = argc > 1 ? atol(argv[1]) : 1000000;
    const int use_ioctl = argc > 2 && strcmp(argv[2], "ioctl") == 0;
    const int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
    int queued = 0;
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (long i = 0; i < count; ++i) {
        if (use_ioctl) {
            syscall(SYS_ioctl, null, FIONREAD, &queued);
        } else {
            syscall(SYS_getpid);
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &end);
    const double ns =
        (double)(end.tv_sec - start.tv_sec) * 1e9 + (double)(end.tv_nsec - start.tv_nsec);
    printf("%ld %s %.1f\n", count, use_ioctl ? "ioctl" : "getpid", ns / (double)count);
    return 0;
}
