// Writing a kernel tunable under /proc/sys: by default kernel/core_pattern, the host-wide core
// dump handler that a classic container escape points at its own program. The attack writes back
// the value it read, so nothing changes. argv[1] names another file.
#include <fcntl.h>
#include <unistd.h>

#include "attack.h"

int main(int argc, char** argv) {
    const char* path = argc > 1 ? argv[1] : "/proc/sys/kernel/core_pattern";
    char value[4096];
    const int reader = open(path, O_RDONLY | O_CLOEXEC);
    const ssize_t length = reader < 0 ? -1 : read(reader, value, sizeof value);
    if (length < 0) {
        return attack_failed("write_proc_sys", errno);
    }
    const int writer = open(path, O_WRONLY | O_CLOEXEC);
    if (writer < 0 || write(writer, value, (size_t)length) != length) {
        return attack_failed("write_proc_sys", errno);
    }
    return attack_succeeded("write_proc_sys", path);
}
