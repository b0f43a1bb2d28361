// Writing a kernel setting under /sys: by default /sys/kernel/rcu_expedited, a host-wide switch.
// The attack writes back the value it read, so nothing changes. argv[1] names another file.
#include <fcntl.h>
#include <unistd.h>

#include "attack.h"

int main(int argc, char** argv) {
    const char* path = argc > 1 ? argv[1] : "/sys/kernel/rcu_expedited";
    char value[4096];
    const int reader = open(path, O_RDONLY | O_CLOEXEC);
    const ssize_t length = reader < 0 ? -1 : read(reader, value, sizeof value);
    if (length < 0) {
        return attack_failed("write_sys", errno);
    }
    const int writer = open(path, O_WRONLY | O_CLOEXEC);
    if (writer < 0 || write(writer, value, (size_t)length) != length) {
        return attack_failed("write_sys", errno);
    }
    return attack_succeeded("write_sys", path);
}
