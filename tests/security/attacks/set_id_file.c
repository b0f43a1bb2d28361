// Leaves a privileged file in directory argv[2], which outlives the sandbox on the host: a file
// with the set-user-id or set-group-id bit, or with file capabilities, made the way argv[1] names:
//   chmod fchmod fchmodat fchmodat2  create mode 0755, then add S_ISUID
//   chmod_setgid                     create mode 0755, then add S_ISGID
//   open openat creat mknod mknodat  create it with S_ISUID in the mode
//   openat2                          create it with S_ISUID in the mode (struct open_how)
//   filecap                          set security.capability (cap_setuid, effective)
// SUCCEEDED only if the file then has the bit (or the attribute).
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "attack.h"

#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif

static char path[4096];

static long create_plain(void) {
    const long fd =
        syscall(SYS_openat, AT_FDCWD, path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0755);
    if (fd >= 0) {
        syscall(SYS_close, fd);
    }
    return fd;
}

static long close_result(long fd) {
    if (fd >= 0) {
        syscall(SYS_close, fd);
        return 0;
    }
    return fd;
}

static long make(const char* method) {
    const long setuid_mode = S_ISUID | 0755;
    if (strcmp(method, "open") == 0) {
#ifdef SYS_open
        return close_result(syscall(SYS_open, path, O_CREAT | O_EXCL | O_WRONLY, setuid_mode));
#else
        return close_result(
            syscall(SYS_openat, AT_FDCWD, path, O_CREAT | O_EXCL | O_WRONLY, setuid_mode));
#endif
    }
    if (strcmp(method, "openat") == 0) {
        return close_result(
            syscall(SYS_openat, AT_FDCWD, path, O_CREAT | O_EXCL | O_WRONLY, setuid_mode));
    }
    if (strcmp(method, "creat") == 0) {
#ifdef SYS_creat
        return close_result(syscall(SYS_creat, path, setuid_mode));
#else
        return -1;
#endif
    }
    if (strcmp(method, "mknod") == 0) {
#ifdef SYS_mknod
        return syscall(SYS_mknod, path, S_IFREG | setuid_mode, 0);
#else
        return syscall(SYS_mknodat, AT_FDCWD, path, S_IFREG | setuid_mode, 0);
#endif
    }
    if (strcmp(method, "mknodat") == 0) {
        return syscall(SYS_mknodat, AT_FDCWD, path, S_IFREG | setuid_mode, 0);
    }
    if (strcmp(method, "openat2") == 0) {
        struct open_how how;
        memset(&how, 0, sizeof how);
        how.flags = O_CREAT | O_EXCL | O_WRONLY;
        how.mode = (unsigned long long)setuid_mode;
        return close_result(syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof how));
    }
    if (create_plain() < 0) {
        return -1;
    }
    if (strcmp(method, "chmod") == 0) {
        return syscall(SYS_chmod, path, setuid_mode);
    }
    if (strcmp(method, "chmod_setgid") == 0) {
        return syscall(SYS_chmod, path, S_ISGID | 0755);
    }
    if (strcmp(method, "fchmodat") == 0) {
        return syscall(SYS_fchmodat, AT_FDCWD, path, setuid_mode);
    }
    if (strcmp(method, "fchmodat2") == 0) {
        return syscall(SYS_fchmodat2, AT_FDCWD, path, setuid_mode, 0);
    }
    if (strcmp(method, "fchmod") == 0) {
        const long fd = syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            return fd;
        }
        const long rc = syscall(SYS_fchmod, fd, setuid_mode);
        const int err = errno;
        syscall(SYS_close, fd);
        errno = err;
        return rc;
    }
    if (strcmp(method, "filecap") == 0) {
        struct vfs_cap_data caps;
        memset(&caps, 0, sizeof caps);
        caps.magic_etc = VFS_CAP_REVISION_2 | VFS_CAP_FLAGS_EFFECTIVE;
        caps.data[0].permitted = 1u << CAP_SETUID;
        return syscall(SYS_setxattr, path, "security.capability", &caps, XATTR_CAPS_SZ_2, 0);
    }
    errno = EINVAL;
    return -2;
}

int main(int argc, char** argv) {
    if (argc != 3) {
        return attack_report("set_id_file", "BROKEN", ATTACK_BROKEN, "usage: METHOD DIR");
    }
    const char* method = argv[1];
    snprintf(path, sizeof path, "%s/%s", argv[2], method);
    const long rc = make(method);
    if (rc == -2) {
        return attack_report("set_id_file", "BROKEN", ATTACK_BROKEN, "unknown method %s", method);
    }
    if (rc < 0) {
        return attack_failed("set_id_file", errno);
    }
    if (strcmp(method, "filecap") == 0) {
        char value[64];
        if (syscall(SYS_getxattr, path, "security.capability", value, sizeof value) > 0) {
            return attack_succeeded("set_id_file", "security.capability set");
        }
        return attack_report("set_id_file", "DENIED", ATTACK_DENIED, "no security.capability");
    }
    struct stat info;
    if (syscall(SYS_newfstatat, AT_FDCWD, path, &info, 0) != 0) {
        return attack_broken("set_id_file", "stat");
    }
    if ((info.st_mode & (S_ISUID | S_ISGID)) != 0) {
        return attack_report("set_id_file", "SUCCEEDED", ATTACK_SUCCEEDED, "mode %o",
                             (unsigned)(info.st_mode & 07777));
    }
    return attack_report("set_id_file", "DENIED", ATTACK_DENIED, "set-id bits stripped (mode %o)",
                         (unsigned)(info.st_mode & 07777));
}
