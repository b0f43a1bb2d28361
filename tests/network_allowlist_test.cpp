// The port allowlist (network.tcp_connect, tcp_bind, udp_connect, udp_bind) under network "host":
// nothing connects, sends or listens outside it, whatever the socket type, protocol or syscall.
// Every attack first works without the allowlist (on the host, and in a sandbox under "host"), and
// every allowed use still works. Traffic only on the host's 127.0.0.1. Where the host cannot
// enforce the allowlist (resin without CAP_BPF and CAP_NET_ADMIN: the unprivileged pass), a
// config with it is refused, naming the key.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <optional>
#include <string>
#include <tuple>
#include <variant>

#include "config/profile_loader.hpp"
#include "sandbox/enforcement.hpp"
#include "sandbox/plan.hpp"
#include "sandbox/unique_fd.hpp"
#include "support/sandbox_cgroups.hpp"
#include "support/sandbox_run.hpp"

namespace resin::test {
namespace {

using sandbox::Config;
using sandbox::NetworkMode;
using sandbox::UniqueFd;

constexpr int kRefused = 10;   // the probe's exit code when the kernel refused the call
constexpr int kTimedOut = 11;  // ... when nothing arrived

// probe.py <vector> <args>: exit 0 if the attack (or use) worked, kRefused with the errno if a
// call failed, kTimedOut if nothing arrived.
const std::string kProbe = R"py(
import ctypes, os, socket, sys
IPPROTO_MPTCP, TCP_FASTOPEN_CONNECT, MSG_FASTOPEN = 262, 30, 0x20000000
LOCAL = "127.0.0.1"

def stream(proto=0):
    return socket.socket(socket.AF_INET, socket.SOCK_STREAM, proto)

def send_over(s, port):
    s.settimeout(5)
    s.connect((LOCAL, port))
    s.sendall(b"resin")

def listen(proto, port):
    s = stream(proto)
    # The vectors share a port: the previous listener's connection may still be in TIME_WAIT.
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if port:
        s.bind((LOCAL, port))
    s.listen()
    print(s.getsockname()[1], flush=True)
    s.settimeout(3)
    connection, _ = s.accept()
    print("accepted", connection.recv(5))

def receive(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((LOCAL, port))
    print(s.getsockname()[1], flush=True)
    s.settimeout(3)
    print("received", s.recv(64))

def io_uring():
    libc = ctypes.CDLL(None, use_errno=True)
    params = ctypes.create_string_buffer(120)
    if libc.syscall(425, 8, params) < 0:
        raise OSError(ctypes.get_errno(), "io_uring_setup")

def main(vector, *args):
    global LOCAL
    port = int(args[0]) if args else 0
    if vector != "socket" and len(args) > 1:
        LOCAL = args[1]
    if vector == "tcp_connect":
        send_over(stream(), port)
    elif vector == "mptcp_connect":
        send_over(stream(IPPROTO_MPTCP), port)
    elif vector == "tfo_sendto":
        s = stream()
        s.sendto(b"resin", MSG_FASTOPEN, (LOCAL, port))
    elif vector == "tfo_connect":
        s = stream()
        s.setsockopt(socket.IPPROTO_TCP, TCP_FASTOPEN_CONNECT, 1)
        send_over(s, port)
    elif vector == "udp_sendto":
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"resin", (LOCAL, port))
    elif vector == "udp6_mapped_sendto":
        s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        s.sendto(b"resin", ("::ffff:" + LOCAL, port))
    elif vector == "udp_connect":
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.connect((LOCAL, port))
        s.send(b"resin")
    elif vector == "udp_query":
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(5)
        s.sendto(b"query", (LOCAL, port))
        print("answer", s.recv(64))
    elif vector == "tcp_listen":
        listen(0, port)
    elif vector == "mptcp_listen":
        listen(IPPROTO_MPTCP, port)
    elif vector == "udp_receive":
        receive(port)
    elif vector == "socket":
        socket.socket(*[int(a) for a in args]).close()
    elif vector == "io_uring":
        io_uring()
    print("done")

try:
    main(*sys.argv[1:])
except socket.timeout:
    print("timeout", flush=True)
    sys.exit(11)
except OSError as e:
    print("refused", e.errno, os.strerror(e.errno or 0), flush=True)
    sys.exit(10)
)py";

Argv probe(const std::string& vector, const std::vector<int>& args = {}) {
    Argv argv = {"/usr/bin/python3", "-S", "-c", kProbe, vector};  // -S: starts faster
    for (int arg : args) {
        argv.push_back(std::to_string(arg));
    }
    return argv;
}

Argv probe_at(const std::string& vector, int port, const std::string& address) {
    Argv argv = probe(vector, {port});
    argv.push_back(address);
    return argv;
}

bool allowlist_enforceable() {
    return sandbox::probe_host().socket_bpf_unavailable.empty();
}

// The allowlist config: network "host", each list as given (absent: not in the config).
struct Lists {
    std::optional<std::vector<std::uint16_t>> tcp_connect, tcp_bind, udp_connect, udp_bind;
};

Config with_allowlist(const Lists& lists) {
    Config config = runnable_config();
    config.network.mode = NetworkMode::host;
    config.network.tcp_connect = lists.tcp_connect;
    config.network.tcp_bind = lists.tcp_bind;
    config.network.udp_connect = lists.udp_connect;
    config.network.udp_bind = lists.udp_bind;
    return config;
}

Config host_network() {
    Config config = runnable_config();
    config.network.mode = NetworkMode::host;
    return config;
}

// Where the host cannot enforce it, a config with an allowlist is refused before anything runs.
// Returns true then (the test has asserted all it can).
bool refused_here(const Config& config) {
    if (allowlist_enforceable()) {
        return false;
    }
    const auto run = try_run_sandboxed(config, {"/bin/true"});
    EXPECT_FALSE(run.has_value()) << "an allowlist this host cannot enforce must be refused";
    if (!run) {
        EXPECT_EQ(run.error().kind, sandbox::ErrorKind::unsupported_config);
        EXPECT_TRUE(run.error().pointer.starts_with("/network/")) << run.error().pointer;
        EXPECT_NE(run.error().message.find("refusing"), std::string::npos) << run.error().message;
    }
    return true;
}

sockaddr_in loopback(std::uint16_t port) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(port);
    return address;
}

std::uint16_t port_of(int fd) {
    sockaddr_in address{};
    socklen_t length = sizeof address;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
    return ntohs(address.sin_port);
}

// A host socket on 127.0.0.1 at a port the kernel picks: a TCP listener or a UDP receiver.
class HostSocket {
  public:
    explicit HostSocket(int type) : socket_(::socket(AF_INET, type | SOCK_CLOEXEC, 0)) {
        const sockaddr_in address = loopback(0);
        EXPECT_TRUE(socket_ &&
                    ::bind(socket_.get(), reinterpret_cast<const sockaddr*>(&address),
                           sizeof address) == 0 &&
                    (type != SOCK_STREAM || ::listen(socket_.get(), 16) == 0))
            << std::strerror(errno);
        port_ = port_of(socket_.get());
    }
    std::uint16_t port() const { return port_; }
    int fd() const { return socket_.get(); }

    // How many connections (TCP) or datagrams (UDP) have arrived, taking them all.
    int drain() {
        int count = 0;
        for (;;) {
            pollfd ready{socket_.get(), POLLIN, 0};
            if (::poll(&ready, 1, 0) != 1) {
                return count;
            }
            char buffer[64];
            if (UniqueFd accepted(::accept4(socket_.get(), nullptr, nullptr, SOCK_CLOEXEC));
                !accepted && ::recv(socket_.get(), buffer, sizeof buffer, MSG_DONTWAIT) < 0) {
                return count;
            }
            ++count;
        }
    }

  private:
    UniqueFd socket_;
    std::uint16_t port_ = 0;
};

// A free port on 127.0.0.1 for `type` now (the kernel's pick, released).
std::uint16_t free_port(int type) {
    HostSocket probe_socket(type);
    return probe_socket.port();
}

// Control and attack for a vector that reaches a host socket: from the host and from a sandbox
// under "host" it arrives; under the allowlist the call is refused and nothing arrives.
void expect_blocked_outgoing(int type, const std::string& vector, const Lists& lists) {
    HostSocket target(type);
    const RunResult host = run_on_host(probe(vector, {target.port()}));
    ASSERT_EQ(host.exit_code, 0) << "control on the host: " << host.out << host.err;
    const RunResult plain = run_sandboxed(host_network(), probe(vector, {target.port()}));
    EXPECT_EQ(plain.exit_code, 0) << "control under host: " << plain.out << plain.err;
    EXPECT_EQ(target.drain(), 2) << "control: both arrived";
    const Config config = with_allowlist(lists);
    if (refused_here(config)) {
        return;
    }
    const RunResult attack = run_sandboxed(config, probe(vector, {target.port()}));
    EXPECT_EQ(attack.exit_code, kRefused) << attack.out << attack.err;
    // EPERM from the BPF programs; EACCES where Landlock (plain TCP) refuses first.
    EXPECT_TRUE(attack.out.starts_with("refused 1 ") || attack.out.starts_with("refused 13 "))
        << attack.out;
    EXPECT_EQ(target.drain(), 0) << "nothing may arrive at a port outside the allowlist";
}

const Lists kNetworkClientLike{std::vector<std::uint16_t>{80, 443}, std::vector<std::uint16_t>{},
                               std::vector<std::uint16_t>{53}, std::vector<std::uint16_t>{}};

TEST(NetworkAllowlist, TcpConnectToAnotherPortIsRefused) {
    expect_blocked_outgoing(SOCK_STREAM, "tcp_connect", kNetworkClientLike);
}

TEST(NetworkAllowlist, MptcpConnectToAnotherPortIsRefused) {
    expect_blocked_outgoing(SOCK_STREAM, "mptcp_connect", kNetworkClientLike);
}

TEST(NetworkAllowlist, FastOpenSendtoToAnotherPortIsRefused) {
    expect_blocked_outgoing(SOCK_STREAM, "tfo_sendto", kNetworkClientLike);
}

TEST(NetworkAllowlist, FastOpenConnectToAnotherPortIsRefused) {
    expect_blocked_outgoing(SOCK_STREAM, "tfo_connect", kNetworkClientLike);
}

TEST(NetworkAllowlist, UdpSendtoToAnotherPortOnHostLoopbackIsRefused) {
    expect_blocked_outgoing(SOCK_DGRAM, "udp_sendto", kNetworkClientLike);
}

TEST(NetworkAllowlist, UdpSendtoAnIpv4MappedAddressIsRefused) {
    expect_blocked_outgoing(SOCK_DGRAM, "udp6_mapped_sendto", kNetworkClientLike);
}

TEST(NetworkAllowlist, UdpConnectToAnotherPortIsRefused) {
    expect_blocked_outgoing(SOCK_DGRAM, "udp_connect", kNetworkClientLike);
}

// Only tcp_connect in the config: UDP is refused all the same (an absent list is empty).
TEST(NetworkAllowlist, AnAbsentListIsEmpty) {
    expect_blocked_outgoing(SOCK_DGRAM, "udp_sendto",
                            Lists{std::vector<std::uint16_t>{80, 443}, {}, {}, {}});
}

// The allowed uses: TCP to a tcp_connect port, a UDP query to a udp_connect port and its answer.
TEST(NetworkAllowlist, AllowedTcpAndUdpStillWork) {
    HostSocket tcp(SOCK_STREAM);
    HostSocket udp(SOCK_DGRAM);
    const Config config = with_allowlist(Lists{
        std::vector<std::uint16_t>{tcp.port()}, {}, std::vector<std::uint16_t>{udp.port()}, {}});
    if (refused_here(config)) {
        return;
    }
    const RunResult connected = run_sandboxed(config, probe("tcp_connect", {tcp.port()}));
    EXPECT_EQ(connected.exit_code, 0) << connected.out << connected.err;
    EXPECT_EQ(tcp.drain(), 1);
    const RunResult mptcp = run_sandboxed(config, probe("mptcp_connect", {tcp.port()}));
    EXPECT_EQ(mptcp.exit_code, 0) << mptcp.out << mptcp.err;
    EXPECT_EQ(tcp.drain(), 1);

    // The answer comes from the udp_connect port: received, bytes counted on both sides.
    auto launched = launch(config, probe("udp_query", {udp.port()}));
    ASSERT_TRUE(launched) << launched.error().message;
    pollfd ready{udp.fd(), POLLIN, 5000};
    ASSERT_EQ(::poll(&ready, 1, 5000), 1) << "the query arrives";
    char query[64];
    sockaddr_in from{};
    socklen_t length = sizeof from;
    const ssize_t got =
        ::recvfrom(udp.fd(), query, sizeof query, 0, reinterpret_cast<sockaddr*>(&from), &length);
    EXPECT_EQ(std::string(query, static_cast<std::size_t>(std::max<ssize_t>(got, 0))), "query");
    ASSERT_EQ(::sendto(udp.fd(), "answer", 6, 0, reinterpret_cast<sockaddr*>(&from), length), 6);
    const RunResult answered = finish(launched.value());
    EXPECT_EQ(answered.exit_code, 0) << answered.out << answered.err;
    EXPECT_NE(answered.out.find("answer b'answer'"), std::string::npos) << answered.out;
}

// The shipped profile: TCP to 80 and 443 and DNS to 53 work (on 127.8.0.1, an address of the host's
// loopback no service binds), TCP and UDP elsewhere do not.
TEST(NetworkAllowlist, NetworkClientProfileReachesWebAndDnsPortsOnly) {
    const auto loaded =
        sandbox::load_config_file(RESIN_SOURCE_DIR "/config/network-client.json",
                                  sandbox::SearchPath{{RESIN_SOURCE_DIR "/config"}});
    ASSERT_TRUE(std::holds_alternative<sandbox::LoadedConfig>(loaded));
    const Config config = std::get<sandbox::LoadedConfig>(loaded).config;
    if (refused_here(config)) {
        return;
    }
    const std::string address = "127.8.0.1";
    std::vector<UniqueFd> sockets;
    for (const auto& [type, port] :
         {std::pair{SOCK_STREAM, 80}, std::pair{SOCK_STREAM, 443}, std::pair{SOCK_DGRAM, 53}}) {
        UniqueFd fd(::socket(AF_INET, type | SOCK_CLOEXEC, 0));
        sockaddr_in bound = loopback(static_cast<std::uint16_t>(port));
        bound.sin_addr.s_addr = ::inet_addr(address.c_str());
        if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&bound), sizeof bound) != 0 ||
            (type == SOCK_STREAM && ::listen(fd.get(), 4) != 0)) {
            GTEST_SKIP() << "cannot bind " << address << ":" << port << ": "
                         << std::strerror(errno);
        }
        sockets.push_back(std::move(fd));
    }
    for (int port : {80, 443}) {
        const RunResult web = run_sandboxed(config, probe_at("tcp_connect", port, address));
        EXPECT_EQ(web.exit_code, 0) << port << ": " << web.out << web.err;
    }
    const RunResult dns = run_sandboxed(config, probe_at("udp_sendto", 53, address));
    EXPECT_EQ(dns.exit_code, 0) << dns.out << dns.err;
    char datagram[16];
    pollfd arrived{sockets[2].get(), POLLIN, 0};
    EXPECT_TRUE(::poll(&arrived, 1, 5000) == 1 &&
                ::recv(sockets[2].get(), datagram, sizeof datagram, MSG_DONTWAIT) == 5)
        << "the DNS datagram arrived";
    HostSocket other_tcp(SOCK_STREAM);
    HostSocket other_udp(SOCK_DGRAM);
    EXPECT_EQ(run_sandboxed(config, probe("tcp_connect", {other_tcp.port()})).exit_code, kRefused);
    EXPECT_EQ(run_sandboxed(config, probe("udp_sendto", {other_udp.port()})).exit_code, kRefused);
    EXPECT_EQ(other_tcp.drain() + other_udp.drain(), 0);
}

// A listener: the sandbox prints its port; the host tries to connect (TCP) or send (UDP) to it.
struct ListenOutcome {
    bool host_reached = false;
    RunResult sandbox;
};

std::optional<std::string> read_line(int fd, int timeout_ms) {
    std::string line;
    for (char c = 0; c != '\n';) {
        pollfd ready{fd, POLLIN, 0};
        if (::poll(&ready, 1, timeout_ms) != 1 || ::read(fd, &c, 1) != 1) {
            return std::nullopt;
        }
        line += c;
    }
    return line;
}

ListenOutcome listen_and_reach(const Config& config, const std::string& vector, int port,
                               int type) {
    ListenOutcome outcome;
    auto launched = launch(config, probe(vector, {port}));
    if (!launched) {
        ADD_FAILURE() << launched.error().message;
        return outcome;
    }
    // A bound, not a pause: the line comes as soon as the listener is up (seconds under TCG).
    const auto line = read_line(launched.value().out.get(), 30000);
    if (line && std::isdigit(static_cast<unsigned char>(line->front()))) {
        const sockaddr_in address = loopback(static_cast<std::uint16_t>(std::stoi(*line)));
        UniqueFd client(::socket(AF_INET, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
        const auto* generic = reinterpret_cast<const sockaddr*>(&address);
        if (type == SOCK_DGRAM) {
            outcome.host_reached =
                ::sendto(client.get(), "resin", 5, 0, generic, sizeof address) == 5;
        } else if (::connect(client.get(), generic, sizeof address) == 0 || errno == EINPROGRESS) {
            // A listener whose packets are dropped never answers the SYN: 2 s bounds the wait.
            pollfd ready{client.get(), POLLOUT, 0};
            int error = 0;
            socklen_t length = sizeof error;
            outcome.host_reached =
                ::poll(&ready, 1, 2000) == 1 &&
                ::getsockopt(client.get(), SOL_SOCKET, SO_ERROR, &error, &length) == 0 &&
                error == 0 && ::send(client.get(), "resin", 5, MSG_NOSIGNAL) == 5;
        }
    }
    outcome.sandbox = finish(launched.value());
    outcome.sandbox.out = line.value_or("") + outcome.sandbox.out;
    return outcome;
}

// listen() on an unbound socket binds an ephemeral port without asking any bind hook.
void expect_unreachable_listener(const std::string& vector, int port, int type,
                                 const Lists& lists) {
    const ListenOutcome control = listen_and_reach(host_network(), vector, port, type);
    EXPECT_TRUE(control.host_reached) << "control: the host reaches it under host";
    EXPECT_EQ(control.sandbox.exit_code, 0) << control.sandbox.out << control.sandbox.err;
    const Config config = with_allowlist(lists);
    if (refused_here(config)) {
        return;
    }
    const ListenOutcome attack = listen_and_reach(config, vector, port, type);
    if (type == SOCK_STREAM) {
        EXPECT_FALSE(attack.host_reached) << "no connection to a port outside tcp_bind";
    }
    EXPECT_EQ(attack.sandbox.exit_code, kTimedOut)
        << "nothing arrives: " << attack.sandbox.out << attack.sandbox.err;
}

TEST(NetworkAllowlist, ListenOnAnUnboundSocketIsUnreachable) {
    expect_unreachable_listener("tcp_listen", 0, SOCK_STREAM, kNetworkClientLike);
}

TEST(NetworkAllowlist, MptcpListenOnAnUnboundSocketIsUnreachable) {
    expect_unreachable_listener("mptcp_listen", 0, SOCK_STREAM, kNetworkClientLike);
}

// A UDP socket on an ephemeral port receives nothing but answers from udp_connect ports.
TEST(NetworkAllowlist, UdpOnAnEphemeralPortReceivesNothingElse) {
    expect_unreachable_listener("udp_receive", 0, SOCK_DGRAM, kNetworkClientLike);
}

// Binding a chosen port, by TCP, MPTCP or UDP, without it in tcp_bind / udp_bind.
TEST(NetworkAllowlist, BindingAChosenPortIsRefused) {
    for (const auto& [vector, type] :
         {std::pair{"tcp_listen", SOCK_STREAM}, std::pair{"mptcp_listen", SOCK_STREAM},
          std::pair{"udp_receive", SOCK_DGRAM}}) {
        SCOPED_TRACE(vector);
        const int port = free_port(type);
        const ListenOutcome control = listen_and_reach(host_network(), vector, port, type);
        EXPECT_TRUE(control.host_reached);
        EXPECT_EQ(control.sandbox.exit_code, 0) << control.sandbox.out << control.sandbox.err;
        const Config config = with_allowlist(kNetworkClientLike);
        if (refused_here(config)) {
            return;
        }
        const RunResult attack = run_sandboxed(config, probe(vector, {port}));
        EXPECT_EQ(attack.exit_code, kRefused) << attack.out << attack.err;
    }
}

// With the port in tcp_bind / udp_bind, a listener and a receiver work.
TEST(NetworkAllowlist, AllowedBindsStillWork) {
    const std::uint16_t tcp_port = free_port(SOCK_STREAM);
    const std::uint16_t udp_port = free_port(SOCK_DGRAM);
    const Config config = with_allowlist(
        Lists{{}, std::vector<std::uint16_t>{tcp_port}, {}, std::vector<std::uint16_t>{udp_port}});
    if (refused_here(config)) {
        return;
    }
    for (const auto& [vector, port, type] : {std::tuple{"tcp_listen", tcp_port, SOCK_STREAM},
                                             std::tuple{"mptcp_listen", tcp_port, SOCK_STREAM},
                                             std::tuple{"udp_receive", udp_port, SOCK_DGRAM}}) {
        SCOPED_TRACE(vector);
        const ListenOutcome allowed = listen_and_reach(config, vector, port, type);
        EXPECT_TRUE(allowed.host_reached);
        EXPECT_EQ(allowed.sandbox.exit_code, 0) << allowed.sandbox.out << allowed.sandbox.err;
        EXPECT_NE(allowed.sandbox.out.find("b'resin'"), std::string::npos) << allowed.sandbox.out;
    }
}

// Any other IP socket, and any other family, cannot even be made. Each is first made on the host
// (a protocol this kernel or user cannot make there is left out, with a note).
TEST(NetworkAllowlist, OtherProtocolsAndFamiliesCannotBeMade) {
    constexpr int kMptcp = 262;
    const std::vector<std::vector<int>> sockets = {
        {AF_INET, SOCK_RAW, IPPROTO_RAW},
        {AF_INET6, SOCK_RAW, IPPROTO_RAW},
        {AF_INET, SOCK_DGRAM, IPPROTO_ICMP},
        {AF_INET6, SOCK_DGRAM, IPPROTO_ICMPV6},
        {AF_INET, SOCK_DGRAM, IPPROTO_UDPLITE},
        {AF_INET6, SOCK_DGRAM, IPPROTO_UDPLITE},
        {AF_INET, SOCK_STREAM, IPPROTO_SCTP},
        {AF_INET, SOCK_SEQPACKET, IPPROTO_SCTP},
        {AF_INET, SOCK_SEQPACKET, kMptcp},
        {AF_VSOCK, SOCK_STREAM, 0},
        {AF_PACKET, SOCK_DGRAM, 0},
        {AF_TIPC, SOCK_RDM, 0},
        {AF_RDS, SOCK_SEQPACKET, 0},
        {43 /* AF_SMC */, SOCK_STREAM, 0},
    };
    const Config config = with_allowlist(kNetworkClientLike);
    if (refused_here(config)) {
        return;
    }
    int tried = 0;
    for (const auto& triple : sockets) {
        const std::string name = std::to_string(triple[0]) + "/" + std::to_string(triple[1]) + "/" +
                                 std::to_string(triple[2]);
        SCOPED_TRACE(name);
        const RunResult host = run_on_host(probe("socket", triple));
        if (host.exit_code != 0) {
            std::cout << "  (socket " << name << " cannot be made on this host: " << host.out
                      << ")\n";
            continue;
        }
        ++tried;
        const RunResult attack = run_sandboxed(config, probe("socket", triple));
        EXPECT_EQ(attack.exit_code, kRefused) << attack.out << attack.err;
    }
    EXPECT_GE(tried, 3) << "raw (as root), UDP-Lite and vsock at least exist here";
}

// Under policy "none", io_uring could make a socket of any family without socket(): refused.
TEST(NetworkAllowlist, IoUringIsRefusedUnderPolicyNone) {
    const RunResult host = run_on_host(probe("io_uring"));
    if (host.exit_code != 0) {
        GTEST_SKIP() << "io_uring is not available on this host: " << host.out;
    }
    const RunResult plain = run_sandboxed(host_network(), probe("io_uring"));
    EXPECT_EQ(plain.exit_code, 0) << "control: " << plain.out << plain.err;
    const Config config = with_allowlist(kNetworkClientLike);
    if (refused_here(config)) {
        return;
    }
    const RunResult attack = run_sandboxed(config, probe("io_uring"));
    EXPECT_EQ(attack.exit_code, kRefused) << attack.out << attack.err;
}

// Fail closed: the refusal names the key that is set, and --features says why.
TEST(NetworkAllowlist, AHostWithoutCgroupBpfRefusesEachKey) {
    sandbox::HostCapabilities host = sandbox::probe_host();
    host.socket_bpf_unavailable = "resin lacks CAP_NET_ADMIN and CAP_BPF (run it as root)";
    for (const char* key : {"tcp_connect", "tcp_bind", "udp_connect", "udp_bind"}) {
        SCOPED_TRACE(key);
        Lists lists;
        const std::string name = key;
        (name == "tcp_connect"   ? lists.tcp_connect
         : name == "tcp_bind"    ? lists.tcp_bind
         : name == "udp_connect" ? lists.udp_connect
                                 : lists.udp_bind) = std::vector<std::uint16_t>{53};
        const auto plan = sandbox::make_plan(with_allowlist(lists), host);
        ASSERT_FALSE(plan.has_value());
        EXPECT_EQ(plan.error().kind, sandbox::ErrorKind::unsupported_config);
        EXPECT_EQ(plan.error().pointer, "/network/" + name);
        EXPECT_NE(plan.error().message.find("CAP_BPF"), std::string::npos) << plan.error().message;
    }
    bool reason_listed = false;
    for (const auto& [key, mechanism] : sandbox::enforcement_features(host)) {
        if (key.starts_with("network.") && key != "network.mode" &&
            key != "network.port_allowlist.unavailable_because") {
            EXPECT_EQ(mechanism, sandbox::kUnavailable) << key;
        }
        reason_listed |= key == "network.port_allowlist.unavailable_because";
    }
    EXPECT_TRUE(reason_listed);
    // Without any list, nothing needs cgroup BPF.
    EXPECT_TRUE(sandbox::make_plan(host_network(), host).has_value());
}

// The neighbour and the repeat: two sandboxes at once, each with its own list, then more after
// them, and a sandbox without a list after them is not held by theirs; no cgroup is left behind.
TEST(NetworkAllowlist, TwoSandboxesAtOnceAndAfterEachOther) {
    HostSocket first(SOCK_STREAM);
    HostSocket second(SOCK_STREAM);
    const Config only_first =
        with_allowlist(Lists{std::vector<std::uint16_t>{first.port()}, {}, {}, {}});
    const Config only_second =
        with_allowlist(Lists{std::vector<std::uint16_t>{second.port()}, {}, {}, {}});
    if (refused_here(only_first)) {
        return;
    }
    // Both running at once: each waits for its own probe to finish.
    auto a = launch(only_first, probe("tcp_connect", {second.port()}));
    auto b = launch(only_second, probe("tcp_connect", {first.port()}));
    ASSERT_TRUE(a && b);
    EXPECT_EQ(finish(a.value()).exit_code, kRefused);
    EXPECT_EQ(finish(b.value()).exit_code, kRefused);
    for (int round = 0; round < 3; ++round) {
        SCOPED_TRACE(round);
        EXPECT_EQ(run_sandboxed(only_first, probe("tcp_connect", {first.port()})).exit_code, 0);
        EXPECT_EQ(run_sandboxed(only_second, probe("tcp_connect", {second.port()})).exit_code, 0);
        EXPECT_EQ(run_sandboxed(only_first, probe("tcp_connect", {second.port()})).exit_code,
                  kRefused);
    }
    EXPECT_EQ(first.drain(), 3);
    EXPECT_EQ(second.drain(), 3);
    const RunResult unlisted = run_sandboxed(host_network(), probe("udp_sendto", {first.port()}));
    EXPECT_EQ(unlisted.exit_code, 0) << "a sandbox without a list is not held by another's";
    EXPECT_TRUE(sandbox_cgroups_of(::getpid()).empty());
}

}  // namespace
}  // namespace resin::test
