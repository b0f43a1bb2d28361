// Connecting to an abstract unix socket of the host (named argv[1]): abstract sockets have no file
// a mount namespace could hide, so only the network namespace (or Landlock's scoping) keeps them
// apart. Host services listen on them (e.g. X11, D-Bus, containerd-shim).
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "attack.h"

int main(int argc, char** argv) {
    if (argc < 2) {
        return attack_broken("abstract_socket", "usage: abstract_socket NAME");
    }
    struct sockaddr_un address;
    memset(&address, 0, sizeof address);
    address.sun_family = AF_UNIX;
    const size_t length = strnlen(argv[1], sizeof address.sun_path - 1);
    memcpy(address.sun_path + 1, argv[1], length);
    const int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (sock < 0) {
        return attack_broken("abstract_socket", "socket");
    }
    return attack_result("abstract_socket",
                         connect(sock, (struct sockaddr*)&address,
                                 (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + length)),
                         "connected to the host's abstract socket");
}
