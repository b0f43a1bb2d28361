// Writing a kernel setting back with the value it has, so that the attack changes nothing when it
// succeeds: for the attacks on /proc/sys and /sys.
#ifndef RESIN_REWRITE_H
#define RESIN_REWRITE_H

#include <fcntl.h>
#include <unistd.h>

#include "attack.h"

static inline int rewrite_unchanged(const char* name, const char* path) {
    char value[4096];
    const int reader = open(path, O_RDONLY | O_CLOEXEC);
    const ssize_t length = reader < 0 ? -1 : read(reader, value, sizeof value);
    if (length < 0) {
        return attack_failed(name, errno);
    }
    const int writer = open(path, O_WRONLY | O_CLOEXEC);
    if (writer < 0 || write(writer, value, (size_t)length) != length) {
        return attack_failed(name, errno);
    }
    return attack_succeeded(name, path);
}

#endif
