// The syscall-heavy half of the filter benchmark: argv[1] (default 1000000) getpid syscalls, timed
// with clock_gettime (the vDSO: no syscall). Prints "<count> getpid <ns per syscall>".
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char** argv) {
    const long count = argc > 1 ? atol(argv[1]) : 1000000;
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (long i = 0; i < count; ++i) {
        syscall(SYS_getpid);
    }
    clock_gettime(CLOCK_MONOTONIC, &end);
    const double ns =
        (double)(end.tv_sec - start.tv_sec) * 1e9 + (double)(end.tv_nsec - start.tv_nsec);
    printf("%ld getpid %.1f\n", count, ns / (double)count);
    return 0;
}
