// A child process that holds a secret and waits, for the attacks on another process's memory.
#ifndef RESIN_VICTIM_H
#define RESIN_VICTIM_H

#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

// The same address in the victim, a fork of this process.
static volatile long victim_secret = 0x5ec2e7;

// Forks a victim that blocks until `*release` (the write end of a pipe) is written or closed, then
// exits 0 if its secret was changed, 1 if not. -1 if the fork failed.
static inline pid_t start_victim(int* release) {
    int channel[2];
    if (pipe(channel) != 0) {
        return -1;
    }
    const pid_t pid = fork();
    if (pid == 0) {
        close(channel[1]);
        char byte;
        (void)!read(channel[0], &byte, 1);
        _exit(victim_secret == 0x5ec2e7 ? 1 : 0);
    }
    close(channel[0]);
    *release = channel[1];
    return pid;
}

// Releases the victim and reaps it; returns its exit code, or -1 if a signal ended it.
static inline int end_victim(pid_t pid, int release) {
    close(release);
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

#endif
