// Listening to the host's device events: a NETLINK_KOBJECT_UEVENT socket receives every uevent the
// kernel broadcasts to its network namespace. Binds, says "listening", waits for one byte on stdin
// (the test has made a host device emit an event by then: the kernel queues the broadcast to every
// listener before the write that triggers it returns), then reads what is queued without waiting,
// looking for the event tagged SYNTH_UUID=UUID.
#include <linux/netlink.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "attack.h"

int main(int argc, char** argv) {
    if (argc < 2) {
        return attack_broken("uevent_listen", "usage: uevent_listen UUID");
    }
    const long sock =
        syscall(SYS_socket, AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_KOBJECT_UEVENT);
    if (sock < 0) {
        return attack_failed("uevent_listen", errno);
    }
    struct sockaddr_nl address = {.nl_family = AF_NETLINK, .nl_groups = 1};
    if (bind((int)sock, (struct sockaddr*)&address, sizeof address) != 0) {
        return attack_failed("uevent_listen", errno);
    }
    printf("listening\n");
    fflush(stdout);
    char go = 0;
    if (read(0, &go, 1) != 1) {
        return attack_broken("uevent_listen", "waiting for the event");
    }
    char wanted[128];
    snprintf(wanted, sizeof wanted, "SYNTH_UUID=%s", argv[1]);
    int events = 0;
    for (;;) {
        static char message[16384];
        const ssize_t length = recv((int)sock, message, sizeof message - 1, MSG_DONTWAIT);
        if (length < 0) {
            break;
        }
        ++events;
        message[length] = '\0';
        for (ssize_t at = 0; at < length; at += (ssize_t)strlen(message + at) + 1) {
            if (strcmp(message + at, wanted) == 0) {
                return attack_report("uevent_listen", "SUCCEEDED", ATTACK_SUCCEEDED,
                                     "received the host's event %s", message);
            }
        }
    }
    return attack_report("uevent_listen", "DENIED", ATTACK_DENIED,
                         "no host event (%d other events queued)", events);
}
