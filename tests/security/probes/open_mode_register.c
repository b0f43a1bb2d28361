// What open and openat do with S_ISUID in their mode argument, by raw syscall, in directory
// argv[1]: of an existing file without O_CREAT (the kernel ignores the mode, and a libc may leave
// anything in its register), and when creating a file (O_CREAT, O_TMPFILE), where the kernel
// uses it. Prints one line per attempt, "<syscall> <how> <ok|errno>", followed for a created file
// by its mode as the kernel made it.
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static const long kSetUidMode = S_ISUID | 0755;

static long open_with(const char* name, const char* path, long flags, long mode) {
#ifdef SYS_open
    if (strcmp(name, "open") == 0) {
        return syscall(SYS_open, path, flags, mode);
    }
#endif
    return syscall(SYS_openat, AT_FDCWD, path, flags, mode);
}

static void report(const char* name, const char* how, long fd) {
    if (fd < 0) {
        printf("%s %s %s\n", name, how, strerrorname_np(errno));
        return;
    }
    struct stat info;
    if (how[0] != 'e' && fstat((int)fd, &info) == 0) {
        printf("%s %s ok mode %o\n", name, how, (unsigned)(info.st_mode & 07777));
    } else {
        printf("%s %s ok\n", name, how);
    }
    close((int)fd);
}

int main(int argc, char** argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: open_mode_register DIR\n");
        return 2;
    }
    char existing[4096];
    snprintf(existing, sizeof existing, "%s/existing", argv[1]);
    const long made = syscall(SYS_openat, AT_FDCWD, existing, O_CREAT | O_EXCL | O_WRONLY, 0644);
    if (made < 0) {
        printf("existing %s\n", strerrorname_np(errno));
        return 1;
    }
    close((int)made);
    const char* names[] = {"open", "openat"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; ++i) {
        const char* name = names[i];
        report(name, "existing", open_with(name, existing, O_RDONLY, kSetUidMode));
        char created[4096];
        snprintf(created, sizeof created, "%s/created-by-%s", argv[1], name);
        report(name, "create", open_with(name, created, O_CREAT | O_EXCL | O_WRONLY, kSetUidMode));
        report(name, "tmpfile", open_with(name, argv[1], O_TMPFILE | O_WRONLY, kSetUidMode));
    }
    return 0;
}
