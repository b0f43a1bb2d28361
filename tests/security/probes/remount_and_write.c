// Remounts the bind mount at argv[1] read-write (keeping nosuid and nodev, so that only read-only
// is asked to change), then creates a file in it. Prints one line per step: "remount <ok|errno>",
// "write <ok|errno>".
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

static const char* outcome(int rc) {
    return rc == 0 ? "ok" : strerrorname_np(errno);
}

int main(int argc, char** argv) {
    const char* dir = argc > 1 ? argv[1] : "/data";
    printf("remount %s\n",
           outcome(mount(NULL, dir, NULL, MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NODEV, NULL)));
    char path[4096];
    snprintf(path, sizeof path, "%s/written-by-the-sandbox", dir);
    const int file = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    printf("write %s\n", outcome(file < 0 ? -1 : 0));
    return 0;
}
