// mknod(2) of a device node (a copy of /dev/null, 1:3) in argv[1]: a node for a disk instead would
// give raw access to the host's data. Removed again at once.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "attack.h"

int main(int argc, char** argv) {
    char path[4096];
    snprintf(path, sizeof path, "%s/resin-attack-device", argc > 1 ? argv[1] : "/tmp");
    if (syscall(SYS_mknodat, AT_FDCWD, path, S_IFCHR | 0600, makedev(1, 3)) != 0) {
        return attack_failed("mknod_device", errno);
    }
    unlink(path);
    return attack_succeeded("mknod_device", "created a character device node");
}
