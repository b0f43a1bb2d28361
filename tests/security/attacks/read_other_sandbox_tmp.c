// Reading another sandbox's /tmp: looks for the file argv[1] under /proc/<pid>/root/tmp of every
// process it can see, the way a host process reaches into a container's filesystem.
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include "attack.h"

int main(int argc, char** argv) {
    if (argc < 2) {
        return attack_broken("read_other_sandbox_tmp", "usage: read_other_sandbox_tmp NAME");
    }
    DIR* proc = opendir("/proc");
    if (proc == NULL) {
        return attack_failed("read_other_sandbox_tmp", errno);
    }
    int last_error = ENOENT;
    for (struct dirent* entry; (entry = readdir(proc)) != NULL;) {
        if (entry->d_name[0] < '1' || entry->d_name[0] > '9') {
            continue;
        }
        char path[512];
        snprintf(path, sizeof path, "/proc/%s/root/tmp/%s", entry->d_name, argv[1]);
        const int file = open(path, O_RDONLY | O_CLOEXEC);
        char secret[256];
        const ssize_t length = file < 0 ? -1 : read(file, secret, sizeof secret - 1);
        if (length >= 0) {
            secret[length] = '\0';
            return attack_report("read_other_sandbox_tmp", "SUCCEEDED", ATTACK_SUCCEEDED,
                                 "read %s: %s", path, secret);
        }
        last_error = errno;
    }
    return attack_failed("read_other_sandbox_tmp", last_error);
}
