// A vsock endpoint (port argv[1]). vsock carries a virtual machine's traffic to its hypervisor
// host (CID 2) and is not network-namespaced on this kernel, so a sandbox without a network could
// still serve or reach the machine's host this way. With --high-bits as argv[2] the family has bits
// above 32 set, which the kernel ignores (it reads an int).
#include <linux/vm_sockets.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "attack.h"

int main(int argc, char** argv) {
    const int high_bits = argc > 2 && strcmp(argv[2], "--high-bits") == 0;
    const uint64_t family = AF_VSOCK | (high_bits ? UINT64_C(1) << 32 : 0);
    const int sock = (int)syscall(SYS_socket, family, SOCK_STREAM | SOCK_CLOEXEC, 0);
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
