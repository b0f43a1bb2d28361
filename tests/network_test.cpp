// The sandbox's network: "none" has no usable interface, "loopback" only its own lo, and neither
// reaches anything of the host's, TCP on 127.0.0.1 or an abstract unix socket; "host" does.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cerrno>
#include <cstddef>
#include <cstring>

#include "sandbox/unique_fd.hpp"
#include "support/sandbox_run.hpp"
#include "support/temp_dir.hpp"

namespace resin::test {
namespace {

using sandbox::Config;
using sandbox::NetworkMode;
using sandbox::UniqueFd;

const std::string kPython = "/usr/bin/python3";

Config with_network(NetworkMode mode) {
    Config config = runnable_config();
    config.network.mode = mode;
    return config;
}

// A TCP listener on the host's 127.0.0.1, on a port the kernel picks. Connections wait in its
// backlog: connect() succeeds without an accept().
class HostTcpListener {
  public:
    HostTcpListener() : socket_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t length = sizeof address;
        const auto* generic = reinterpret_cast<sockaddr*>(&address);
        EXPECT_TRUE(socket_ && ::bind(socket_.get(), generic, length) == 0 &&
                    ::listen(socket_.get(), 16) == 0 &&
                    ::getsockname(socket_.get(), reinterpret_cast<sockaddr*>(&address), &length) ==
                        0)
            << std::strerror(errno);
        port_ = ntohs(address.sin_port);
    }
    Argv connect_command() const {
        return {"/bin/bash", "-c", "echo > /dev/tcp/127.0.0.1/" + std::to_string(port_)};
    }

  private:
    UniqueFd socket_;
    std::uint16_t port_ = 0;
};

// A listening unix socket in the host network namespace's abstract namespace.
class HostAbstractListener {
  public:
    HostAbstractListener()
        : name_("resin-test-" + unique_token()),
          socket_(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        std::memcpy(address.sun_path + 1, name_.data(), name_.size());
        const auto length =
            static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name_.size());
        EXPECT_TRUE(socket_ &&
                    ::bind(socket_.get(), reinterpret_cast<sockaddr*>(&address), length) == 0 &&
                    ::listen(socket_.get(), 16) == 0)
            << std::strerror(errno);
    }
    Argv connect_command() const {
        return {kPython, "-c",
                "import socket, sys\n"
                "socket.socket(socket.AF_UNIX).connect('\\0' + sys.argv[1])\n",
                name_};
    }

  private:
    std::string name_;
    UniqueFd socket_;
};

// One line per interface: its name, and whether it is up.
const Argv kListInterfaces = {kPython, "-c", R"py(
import fcntl, socket, struct
SIOCGIFFLAGS, IFF_UP = 0x8913, 1
probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _, name in socket.if_nameindex():
    request = struct.pack("16sH", name.encode(), 0)
    flags = struct.unpack("16sH", fcntl.ioctl(probe, SIOCGIFFLAGS, request)[:18])[1]
    print(name, "up" if flags & IFF_UP else "down")
)py"};

// Listens on the sandbox's own 127.0.0.1, connects to it and accepts.
const Argv kLoopbackRoundTrip = {kPython, "-c", R"py(
import socket
listener = socket.create_server(("127.0.0.1", 0))
client = socket.create_connection(listener.getsockname())
connection, _ = listener.accept()
client.sendall(b"ping")
print(connection.recv(4).decode())
)py"};

// Control: `connect` reaches the host's listener from the host, and from a sandbox under "host".
void expect_reachable_without_isolation(const Argv& connect) {
    const RunResult host = run_on_host(connect);
    EXPECT_EQ(host.exit_code, 0) << "control: reachable from the host; " << host.err;
    const RunResult host_mode = run_sandboxed(with_network(NetworkMode::host), connect);
    EXPECT_EQ(host_mode.exit_code, 0) << "control: reachable under host; " << host_mode.err;
}

TEST(Network, NoneCannotReachAHostTcpListener) {
    HostTcpListener listener;
    expect_reachable_without_isolation(listener.connect_command());
    ASSERT_FALSE(HasFailure());

    const RunResult none =
        run_sandboxed(with_network(NetworkMode::none), listener.connect_command());
    EXPECT_NE(none.exit_code, 0);
    EXPECT_NE(none.err.find("Network is unreachable"), std::string::npos) << none.err;
}

TEST(Network, NoneHasNoUsableInterface) {
    const RunResult host = run_on_host(kListInterfaces);
    ASSERT_EQ(host.exit_code, 0) << host.err;
    ASSERT_NE(host.out.find(" up\n"), std::string::npos) << "control: the host has one up";

    const RunResult none = run_sandboxed(with_network(NetworkMode::none), kListInterfaces);
    ASSERT_EQ(none.exit_code, 0) << none.err;
    EXPECT_EQ(none.out, "lo down\n");
}

TEST(Network, LoopbackHasOnlyItsOwnLoopbackUp) {
    const RunResult loopback = run_sandboxed(with_network(NetworkMode::loopback), kListInterfaces);
    ASSERT_EQ(loopback.exit_code, 0) << loopback.err;
    EXPECT_EQ(loopback.out, "lo up\n");
}

TEST(Network, LoopbackListenerAcceptsConnectionsFromInside) {
    const RunResult none = run_sandboxed(with_network(NetworkMode::none), kLoopbackRoundTrip);
    ASSERT_NE(none.exit_code, 0) << "control: impossible without an interface up";

    const RunResult loopback =
        run_sandboxed(with_network(NetworkMode::loopback), kLoopbackRoundTrip);
    EXPECT_EQ(loopback.exit_code, 0) << loopback.err;
    EXPECT_EQ(loopback.out, "ping\n");
}

TEST(Network, LoopbackCannotReachAHostTcpListener) {
    HostTcpListener listener;
    expect_reachable_without_isolation(listener.connect_command());
    ASSERT_FALSE(HasFailure());

    const RunResult loopback =
        run_sandboxed(with_network(NetworkMode::loopback), listener.connect_command());
    EXPECT_NE(loopback.exit_code, 0);
    EXPECT_NE(loopback.err.find("Connection refused"), std::string::npos) << loopback.err;
}

TEST(Network, HostAbstractUnixSocketIsUnreachable) {
    HostAbstractListener listener;
    expect_reachable_without_isolation(listener.connect_command());
    ASSERT_FALSE(HasFailure());

    for (NetworkMode mode : {NetworkMode::none, NetworkMode::loopback}) {
        const RunResult isolated = run_sandboxed(with_network(mode), listener.connect_command());
        EXPECT_NE(isolated.exit_code, 0);
        EXPECT_NE(isolated.err.find("ConnectionRefusedError"), std::string::npos) << isolated.err;
    }
}

}  // namespace
}  // namespace resin::test
