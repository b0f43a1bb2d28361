// What open and openat do with S_ISUID in their mode argument, by raw syscall, in directory
// argv[1]: of an existing file without O_CREAT (the kernel ignores the mode, and a libc may leave
// anything in its register), and when creating a file (O_CREAT, O_TMPFILE), where the kernel
// uses it. The kernel reads flags as an int and the mode as a umode_t, so junk in the high 32 bits
// of either register must not change what happens. Prints one line per attempt,
// "<syscall> <how> <ok|errno>", followed for a created file by its mode as the kernel made it.
//
// With "i386" after the directory, the same attempts go through int 0x80 (i386 open = 5,
// openat = 295), where the kernel reads only the low 32 bits of each register. Some hypervisors'
// guests have no int 0x80 gate; then the only line is "i386 NO_ENTRY".
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static const unsigned long kSetUidMode = S_ISUID | 0755;
static const unsigned long kJunk = 0xa5a5a5a5UL << 32;  // O_CREAT's bit (0x40) clear
static const unsigned long kHighCreat = (unsigned long)O_CREAT << 32;
static const unsigned long kHighSetUid = (unsigned long)S_ISUID << 32;

enum { kI386Getpid = 20, kI386Open = 5, kI386Openat = 295 };

enum Target { existing_file, new_file, directory, missing_file };

struct Attempt {
    const char* how;
    enum Target target;
    unsigned long flags;
    unsigned long mode;
};

static const struct Attempt kAttempts[] = {
    {"existing", existing_file, O_RDONLY, kSetUidMode},
    {"create", new_file, O_CREAT | O_EXCL | O_WRONLY, kSetUidMode},
    {"tmpfile", directory, O_TMPFILE | O_WRONLY, kSetUidMode},
    {"create-junk-flags", new_file, kJunk | O_CREAT | O_EXCL | O_WRONLY, kSetUidMode},
    {"high-creat-existing", existing_file, kJunk | kHighCreat | O_RDONLY, kSetUidMode},
    {"high-creat-missing", missing_file, kJunk | kHighCreat | O_WRONLY, kSetUidMode},
    {"create-junk-mode", new_file, O_CREAT | O_EXCL | O_WRONLY, kJunk | kSetUidMode},
    {"create-high-setuid", new_file, O_CREAT | O_EXCL | O_WRONLY, kJunk | kHighSetUid | 0755},
};

// Full 64-bit registers, so that their high halves reach the kernel as the caller left them.
static long i386_syscall4(long number, unsigned long a, unsigned long b, unsigned long c,
                          unsigned long d) {
    long result = number;
    __asm__ volatile("int $0x80"
                     : "+a"(result)
                     : "b"(a), "c"(b), "d"(c), "S"(d)
                     : "memory", "r8", "r9", "r10", "r11");
    return (int)result;  // the i386 ABI returns in eax
}

static void no_i386_entry(int sig) {
    (void)sig;
    static const char line[] = "i386 NO_ENTRY\n";
    (void)!write(STDOUT_FILENO, line, sizeof line - 1);
    _exit(0);
}

// -errno on failure, as the kernel returns it.
static long open_with(int i386, const char* name, const char* path, unsigned long flags,
                      unsigned long mode) {
    const int plain_open = strcmp(name, "open") == 0;
    if (i386) {
        const unsigned long at_fdcwd = (unsigned long)(long)AT_FDCWD;
        return plain_open ? i386_syscall4(kI386Open, (unsigned long)path, flags, mode, 0)
                          : i386_syscall4(kI386Openat, at_fdcwd, (unsigned long)path, flags, mode);
    }
    long fd = -1;
#ifdef SYS_open
    if (plain_open) {
        fd = syscall(SYS_open, path, flags, mode);
    } else
#endif
    {
        fd = syscall(SYS_openat, AT_FDCWD, path, flags, mode);
    }
    return fd < 0 ? -errno : fd;
}

static void report(const char* abi, const char* name, const struct Attempt* attempt, long fd) {
    if (fd < 0) {
        printf("%s%s %s %s\n", abi, name, attempt->how, strerrorname_np((int)-fd));
        return;
    }
    struct stat info;
    const int made = attempt->target == new_file || attempt->target == directory;
    if (made && fstat((int)fd, &info) == 0) {
        printf("%s%s %s ok mode %o\n", abi, name, attempt->how, (unsigned)(info.st_mode & 07777));
    } else {
        printf("%s%s %s ok\n", abi, name, attempt->how);
    }
    close((int)fd);
}

int main(int argc, char** argv) {
    const int i386 = argc == 3 && strcmp(argv[2], "i386") == 0;
    if (argc != 2 && !i386) {
        fprintf(stderr, "usage: open_mode_register DIR [i386]\n");
        return 2;
    }
    umask(022);  // the printed modes are the kernel's, not the caller's umask
    if (i386) {
        struct sigaction on_fault = {0};
        on_fault.sa_handler = no_i386_entry;
        if (sigaction(SIGSEGV, &on_fault, NULL) != 0 ||
            i386_syscall4(kI386Getpid, 0, 0, 0, 0) != getpid()) {
            fprintf(stderr, "getpid through int 0x80 failed\n");
            return 1;
        }
    }
    // int 0x80 passes 32-bit pointers: the paths live below 4 GiB.
    char* const paths = mmap(NULL, 4 * 4096, PROT_READ | PROT_WRITE,
                             MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
    if (paths == MAP_FAILED) {
        perror("mmap below 4 GiB");
        return 1;
    }
    char* const existing = paths;
    char* const missing = paths + 4096;
    char* const created = paths + 2 * 4096;
    char* const dir = paths + 3 * 4096;
    snprintf(existing, 4096, "%s/existing", argv[1]);
    snprintf(missing, 4096, "%s/missing", argv[1]);
    snprintf(dir, 4096, "%s", argv[1]);
    const long made = syscall(SYS_openat, AT_FDCWD, existing, O_CREAT | O_EXCL | O_WRONLY, 0644);
    if (made < 0) {
        printf("existing %s\n", strerrorname_np(errno));
        return 1;
    }
    close((int)made);
    const char* const abi = i386 ? "i386-" : "";
    const char* names[] = {"open", "openat"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; ++i) {
        for (size_t a = 0; a < sizeof kAttempts / sizeof kAttempts[0]; ++a) {
            const struct Attempt* attempt = &kAttempts[a];
            const char* path = existing;
            if (attempt->target == new_file) {
                snprintf(created, 4096, "%s/%s%s-%s", argv[1], abi, names[i], attempt->how);
                path = created;
            } else if (attempt->target == directory) {
                path = dir;
            } else if (attempt->target == missing_file) {
                path = missing;
            }
            report(abi, names[i], attempt,
                   open_with(i386, names[i], path, attempt->flags, attempt->mode));
        }
    }
    return 0;
}
