// The port allowlist (network.tcp_connect, tcp_bind, udp_connect, udp_bind) as cgroup BPF
// programs, generated as eBPF instructions from the config: the lists become comparisons, so there
// is no map for anything to change and nothing to size. They are a few dozen instructions, loaded
// with bpf(2) directly: no libbpf, no BPF compiler in the build, nothing more to link into the
// static resin. One program per hook:
// - inet_sock_create: only TCP (IPPROTO_TCP, IPPROTO_MPTCP) stream and UDP datagram sockets are
//   made; raw, ICMP, SCTP, UDP-Lite and any other IP socket fail with EPERM.
// - connect4/6: TCP (MPTCP subflows, Fast Open and TCP_FASTOPEN_CONNECT go through it too) to
//   tcp_connect, UDP to udp_connect. sendmsg4/6: a UDP datagram with an address to udp_connect.
// - bind4/6: TCP to tcp_bind, UDP to udp_bind; port 0 (an ephemeral port) is allowed.
// - inet_ingress: what a socket of the sandbox receives. A TCP listener only on a tcp_bind port
//   (listen() on an unbound socket binds an ephemeral port without any bind hook: it gets nothing);
//   UDP only to a udp_bind port or from a udp_connect port (the replies).
#pragma once

#include <linux/bpf.h>

#include <cstdint>
#include <vector>

#include "config/config.hpp"

namespace resin::sandbox {

struct SocketBpfProgram {
    const char* hook;  // for messages: "connect4", ...
    bpf_prog_type type;
    bpf_attach_type attach;
    std::vector<bpf_insn> instructions;
};

// Empty if a list has so many disjoint port ranges that a jump would not fit (over ~8000).
std::vector<SocketBpfProgram> socket_allowlist_programs(const Network& network);

}  // namespace resin::sandbox
