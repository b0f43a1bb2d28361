// A vsock endpoint (port argv[1]). vsock carries a virtual machine's traffic to its hypervisor
// host (CID 2) and is not network-namespaced on this kernel, so a sandbox without a network could
// still serve or reach the machine's host this way.
#include <linux/vm_sockets.h>
#include <sys/socket.h>
#include <unistd.h>

#include "attack.h"

int main(int argc, char** argv) {
    const int sock = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (sock < 0) {
        return attack_failed("vsock", errno);
    }
    struct sockaddr_vm address;
    memset(&address, 0, sizeof address);
    address.svm_family = AF_VSOCK;
    address.svm_cid = VMADDR_CID_ANY;
    address.svm_port = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 0) : VMADDR_PORT_ANY;
    if (bind(sock, (struct sockaddr*)&address, sizeof address) != 0 || listen(sock, 1) != 0) {
        return attack_failed("vsock", errno);
    }
    return attack_succeeded("vsock", "listening on a vsock port the machine's host can reach");
}
