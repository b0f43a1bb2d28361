// What every attack program shares: one line of output, "ATTACK <name> <VERDICT> <detail>", and
// an exit code the tests read. Raw syscall(2) throughout, so no libc wrapper hides or emulates
// anything.
//
//   SUCCEEDED    0  the attack did what it set out to do
//   REACHABLE    1  a harmless probe got past every privilege check and failed only on the
//                   arguments it was given on purpose (used where the real thing would harm the
//                   host: rebooting, loading a module, setting the clock...)
//   DENIED      10  refused (the errno, or what stopped it, is the detail)
//   UNSUPPORTED 11  ENOSYS: the kernel lacks the syscall, or a filter answers as if it did
//   BROKEN      12  the attack could not even be set up
//   NO_ENTRY    13  the machine has no entry for the syscall ABI at all (the instruction faults),
//                   so nothing can be shown about a filter of that ABI here
#ifndef RESIN_ATTACK_H
#define RESIN_ATTACK_H

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    ATTACK_SUCCEEDED = 0,
    ATTACK_REACHABLE = 1,
    ATTACK_DENIED = 10,
    ATTACK_UNSUPPORTED = 11,
    ATTACK_BROKEN = 12,
    ATTACK_NO_ENTRY = 13,
};

static inline int attack_report(const char* name, const char* verdict, int code, const char* format,
                                ...) __attribute__((format(printf, 4, 5)));

static inline int attack_report(const char* name, const char* verdict, int code, const char* format,
                                ...) {
    va_list args;
    va_start(args, format);
    printf("ATTACK %s %s ", name, verdict);
    vprintf(format, args);
    printf("\n");
    va_end(args);
    fflush(stdout);
    return code;
}

static inline const char* errno_name(int err) {
    const char* name = strerrorname_np(err);
    return name != NULL ? name : "unknown errno";
}

static inline int attack_succeeded(const char* name, const char* detail) {
    return attack_report(name, "SUCCEEDED", ATTACK_SUCCEEDED, "%s", detail);
}

static inline int attack_broken(const char* name, const char* step) {
    return attack_report(name, "BROKEN", ATTACK_BROKEN, "%s: %s", step, errno_name(errno));
}

// The verdict for a syscall that failed with `err`.
static inline int attack_failed(const char* name, int err) {
    if (err == ENOSYS) {
        return attack_report(name, "UNSUPPORTED", ATTACK_UNSUPPORTED, "%s", errno_name(err));
    }
    return attack_report(name, "DENIED", ATTACK_DENIED, "%s", errno_name(err));
}

// The verdict for an attack that is one syscall: its result `rc` (errno if negative).
static inline int attack_result(const char* name, long rc, const char* success) {
    return rc >= 0 ? attack_succeeded(name, success) : attack_failed(name, errno);
}

// The verdict for a harmless probe: any answer but a refusal (EPERM, EACCES) or ENOSYS shows that
// the syscall reached its argument checks.
static inline int probe_result(const char* name, long rc) {
    if (rc >= 0) {
        return attack_report(name, "REACHABLE", ATTACK_REACHABLE, "returned %ld", rc);
    }
    if (errno == EPERM || errno == EACCES || errno == ENOSYS) {
        return attack_failed(name, errno);
    }
    return attack_report(name, "REACHABLE", ATTACK_REACHABLE, "%s", errno_name(errno));
}

// Makes the syscall the attack is about, with arguments it must refuse, before any preparatory
// syscall: in a sandbox it is then this syscall, and not one the attack merely needs, that meets
// the filter. Ends the program if the call was refused rather than rejected.
static inline void require_reachable(const char* name, long rc) {
    if (rc < 0 && (errno == EPERM || errno == EACCES || errno == ENOSYS)) {
        exit(attack_failed(name, errno));
    }
}

#endif
