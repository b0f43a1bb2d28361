// Kernel memory through empty files: an empty file on a tmpfs takes none of its size but about
// 1 KiB of kernel memory. Creates COUNT empty files in DIR; succeeds if the tmpfs took them all.
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "attack.h"

int main(int argc, char** argv) {
    if (argc < 3) {
        return attack_broken("tmpfs_inodes", "usage: tmpfs_inodes DIR COUNT");
    }
    const long count = strtol(argv[2], NULL, 10);
    const int dir = open(argv[1], O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0) {
        return attack_broken("tmpfs_inodes", "opening DIR");
    }
    for (long made = 0; made < count; ++made) {
        char name[32];
        snprintf(name, sizeof name, "f%ld", made);
        const long fd =
            syscall(SYS_openat, dir, name, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
        if (fd < 0) {
            const int err = errno;
            return attack_report("tmpfs_inodes", "DENIED", ATTACK_DENIED, "%s after %ld files",
                                 errno_name(err), made);
        }
        close((int)fd);
    }
    return attack_report("tmpfs_inodes", "SUCCEEDED", ATTACK_SUCCEEDED, "%ld empty files", count);
}
