#include "sandbox/socket_allowlist_programs.hpp"

#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstddef>
#include <limits>
#include <optional>
#include <utility>

namespace resin::sandbox {
namespace {

constexpr std::uint8_t kR0 = 0, kR1 = 1, kR2 = 2, kR3 = 3, kR4 = 4, kR6 = 6, kR7 = 7, kR8 = 8,
                       kR9 = 9, kFp = 10;
constexpr std::int32_t kIpprotoMptcp = 262;  // not in Debian 12's <netinet/in.h>
constexpr std::int32_t kTcpListen = 10;      // TCP_LISTEN of the kernel's tcp_states.h

bpf_insn make(std::uint8_t code, std::uint8_t dst, std::uint8_t src, std::int16_t off,
              std::int32_t imm) {
    bpf_insn insn{};
    insn.code = code;
    insn.dst_reg = dst & 0xf;
    insn.src_reg = src & 0xf;
    insn.off = off;
    insn.imm = imm;
    return insn;
}

// A program under construction. Forward jumps are relative; a section's length is known once it
// is emitted, so `skip_unless` patches its offset afterwards.
class Emitter {
  public:
    void mov(std::uint8_t dst, std::int32_t imm) {
        code_.push_back(make(BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm));
    }
    void mov_reg(std::uint8_t dst, std::uint8_t src) {
        code_.push_back(make(BPF_ALU64 | BPF_MOV | BPF_X, dst, src, 0, 0));
    }
    void alu(std::uint8_t op, std::uint8_t dst, std::int32_t imm) {
        code_.push_back(make(BPF_ALU64 | op | BPF_K, dst, 0, 0, imm));
    }
    void load(std::uint8_t size, std::uint8_t dst, std::uint8_t src, std::size_t offset) {
        code_.push_back(
            make(BPF_LDX | BPF_MEM | size, dst, src, static_cast<std::int16_t>(offset), 0));
    }
    void load_stack(std::uint8_t size, std::uint8_t dst, std::int16_t offset) {
        code_.push_back(make(BPF_LDX | BPF_MEM | size, dst, kFp, offset, 0));
    }
    // A port in network byte order (the low 16 bits) to host order.
    void network_to_host16(std::uint8_t reg) {
        code_.push_back(make(BPF_ALU | BPF_END | BPF_TO_BE, reg, 0, 0, 16));
    }
    void jump(std::uint8_t op, std::uint8_t reg, std::int32_t imm, std::int16_t offset) {
        code_.push_back(make(BPF_JMP | op | BPF_K, reg, 0, offset, imm));
    }
    void call(std::int32_t helper) { code_.push_back(make(BPF_JMP | BPF_CALL, 0, 0, 0, helper)); }
    void verdict(std::int32_t value) {
        mov(kR0, value);
        code_.push_back(make(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
    }
    // Allows (returns 1) right here if `reg` is in one of `ranges`; else falls through.
    void allow_if_in(std::uint8_t reg, const std::vector<std::pair<int, int>>& ranges) {
        for (const auto& [low, high] : ranges) {
            if (low == high) {
                jump(BPF_JNE, reg, low, 2);
            } else {
                jump(BPF_JLT, reg, low, 3);
                jump(BPF_JGT, reg, high, 2);
            }
            verdict(1);
        }
    }
    // Starts a section that only runs if `reg == imm`; end_section() closes it.
    void section_if(std::uint8_t reg, std::int32_t imm) {
        sections_.push_back(code_.size());
        jump(BPF_JNE, reg, imm, 0);
    }
    void end_section() {
        const std::size_t at = sections_.back();
        sections_.pop_back();
        const std::size_t distance = code_.size() - at - 1;
        if (distance > static_cast<std::size_t>(std::numeric_limits<std::int16_t>::max())) {
            too_long_ = true;
            return;
        }
        code_[at].off = static_cast<std::int16_t>(distance);
    }
    std::optional<std::vector<bpf_insn>> finish() {
        if (too_long_) {
            return std::nullopt;
        }
        return std::move(code_);
    }

  private:
    std::vector<bpf_insn> code_;
    std::vector<std::size_t> sections_;
    bool too_long_ = false;
};

// Sorted, merged ranges of a port list; an absent list (under an allowlist) is empty.
std::vector<std::pair<int, int>> ranges_of(const std::optional<std::vector<std::uint16_t>>& list) {
    std::vector<std::uint16_t> ports = list.value_or(std::vector<std::uint16_t>{});
    std::sort(ports.begin(), ports.end());
    std::vector<std::pair<int, int>> ranges;
    for (std::uint16_t port : ports) {
        if (!ranges.empty() && ranges.back().second + 1 == port) {
            ranges.back().second = port;
        } else {
            ranges.emplace_back(port, port);
        }
    }
    return ranges;
}

struct Lists {
    std::vector<std::pair<int, int>> tcp_connect, tcp_bind, udp_connect, udp_bind;
};

std::optional<std::vector<bpf_insn>> sock_create_program() {
    Emitter e;
    e.load(BPF_W, kR2, kR1, offsetof(bpf_sock, type));
    e.load(BPF_W, kR3, kR1, offsetof(bpf_sock, protocol));
    const std::pair<std::int32_t, std::int32_t> allowed[] = {
        {SOCK_STREAM, IPPROTO_TCP}, {SOCK_STREAM, kIpprotoMptcp}, {SOCK_DGRAM, IPPROTO_UDP}};
    for (const auto& [type, protocol] : allowed) {
        e.jump(BPF_JNE, kR2, type, 3);
        e.jump(BPF_JNE, kR3, protocol, 2);
        e.verdict(1);
    }
    e.verdict(0);
    return e.finish();
}

// connect, sendmsg and bind: the port the call names, checked against the list of its protocol.
std::optional<std::vector<bpf_insn>> address_program(const std::vector<std::pair<int, int>>& tcp,
                                                     const std::vector<std::pair<int, int>>& udp,
                                                     bool allow_port_zero) {
    Emitter e;
    e.load(BPF_W, kR2, kR1, offsetof(bpf_sock_addr, user_port));
    e.network_to_host16(kR2);
    e.load(BPF_W, kR3, kR1, offsetof(bpf_sock_addr, protocol));
    if (allow_port_zero) {
        e.allow_if_in(kR2, {{0, 0}});
    }
    e.section_if(kR3, IPPROTO_TCP);
    e.allow_if_in(kR2, tcp);
    e.verdict(0);
    e.end_section();
    e.section_if(kR3, IPPROTO_UDP);
    e.allow_if_in(kR2, udp);
    e.verdict(0);
    e.end_section();
    e.verdict(0);
    return e.finish();
}

// bpf_skb_load_bytes(ctx in r6, offset in r2, length) into the stack at fp-8; a packet too short
// to hold it is dropped.
void load_packet_bytes(Emitter& e, std::int32_t length) {
    e.mov_reg(kR1, kR6);
    e.mov_reg(kR3, kFp);
    e.alu(BPF_ADD, kR3, -8);
    e.mov(kR4, length);
    e.call(BPF_FUNC_skb_load_bytes);
    e.jump(BPF_JEQ, kR0, 0, 2);
    e.verdict(0);
}

// The UDP source port of the packet in the context (r6), into r2 in host order. The packet starts
// at its IP header; an IPv6 packet with extension headers before UDP is dropped.
void load_udp_source_port(Emitter& e) {
    e.mov(kR2, 0);
    load_packet_bytes(e, 1);
    e.load_stack(BPF_B, kR7, -8);
    e.mov_reg(kR8, kR7);
    e.alu(BPF_RSH, kR8, 4);      // the IP version
    e.mov(kR9, 40);              // IPv6: where UDP starts
    e.mov(kR2, 6);               // IPv6: the next header
    e.jump(BPF_JEQ, kR8, 6, 7);  // past the IPv4 lines
    e.jump(BPF_JEQ, kR8, 4, 2);
    e.verdict(0);
    e.mov_reg(kR9, kR7);  // IPv4: the header's length in 32-bit words
    e.alu(BPF_AND, kR9, 0xf);
    e.alu(BPF_LSH, kR9, 2);
    e.mov(kR2, 9);  // IPv4: the protocol
    load_packet_bytes(e, 1);
    e.load_stack(BPF_B, kR2, -8);
    e.jump(BPF_JEQ, kR2, IPPROTO_UDP, 2);
    e.verdict(0);
    e.mov_reg(kR2, kR9);
    load_packet_bytes(e, 2);
    e.load_stack(BPF_H, kR2, -8);
    e.network_to_host16(kR2);
}

std::optional<std::vector<bpf_insn>> ingress_program(const Lists& lists) {
    constexpr std::uint8_t kProtocol = kR7, kLocalPort = kR8, kState = kR9;
    Emitter e;
    e.mov_reg(kR6, kR1);
    e.load(BPF_DW, kR1, kR6, offsetof(__sk_buff, sk));
    e.jump(BPF_JNE, kR1, 0, 2);
    e.verdict(1);  // no socket: not delivered to one of the sandbox's
    e.call(BPF_FUNC_sk_fullsock);
    e.jump(BPF_JNE, kR0, 0, 2);
    e.verdict(1);  // a request or time-wait socket: its listener or connection was let through
    e.load(BPF_W, kProtocol, kR0, offsetof(bpf_sock, protocol));
    e.load(BPF_W, kLocalPort, kR0, offsetof(bpf_sock, src_port));  // host order
    e.load(BPF_W, kState, kR0, offsetof(bpf_sock, state));
    e.section_if(kProtocol, IPPROTO_TCP);
    e.jump(BPF_JEQ, kState, kTcpListen, 2);
    e.verdict(1);  // a connection: made through connect4/6 or accepted from an allowed listener
    e.allow_if_in(kLocalPort, lists.tcp_bind);
    e.verdict(0);
    e.end_section();
    e.section_if(kProtocol, IPPROTO_UDP);
    e.allow_if_in(kLocalPort, lists.udp_bind);
    // An unconnected socket has no peer: the packet says where it comes from.
    load_udp_source_port(e);
    e.allow_if_in(kR2, lists.udp_connect);
    e.verdict(0);
    e.end_section();
    e.verdict(0);
    return e.finish();
}

}  // namespace

std::vector<SocketBpfProgram> socket_allowlist_programs(const Network& network) {
    const Lists lists{ranges_of(network.tcp_connect), ranges_of(network.tcp_bind),
                      ranges_of(network.udp_connect), ranges_of(network.udp_bind)};
    const auto connect = address_program(lists.tcp_connect, lists.udp_connect, false);
    const auto sendmsg = address_program({}, lists.udp_connect, false);
    const auto bind = address_program(lists.tcp_bind, lists.udp_bind, true);
    const auto create = sock_create_program();
    const auto ingress = ingress_program(lists);
    if (!connect || !sendmsg || !bind || !create || !ingress) {
        return {};
    }
    return {
        {"inet_sock_create", BPF_PROG_TYPE_CGROUP_SOCK, BPF_CGROUP_INET_SOCK_CREATE, *create},
        {"connect4", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_INET4_CONNECT, *connect},
        {"connect6", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_INET6_CONNECT, *connect},
        {"sendmsg4", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_UDP4_SENDMSG, *sendmsg},
        {"sendmsg6", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_UDP6_SENDMSG, *sendmsg},
        {"bind4", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_INET4_BIND, *bind},
        {"bind6", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_INET6_BIND, *bind},
        {"inet_ingress", BPF_PROG_TYPE_CGROUP_SKB, BPF_CGROUP_INET_INGRESS, *ingress},
    };
}

}  // namespace resin::sandbox
