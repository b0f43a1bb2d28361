#include "sandbox/network.hpp"

#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "sandbox/unique_fd.hpp"

namespace resin::sandbox {
namespace {

int bring_loopback_up() {
    UniqueFd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!sock) {
        return errno;
    }
    ifreq request{};
    std::strncpy(request.ifr_name, "lo", IFNAMSIZ - 1);
    if (::ioctl(sock.get(), SIOCGIFFLAGS, &request) != 0) {
        return errno;
    }
    request.ifr_flags = static_cast<short>(request.ifr_flags | IFF_UP | IFF_RUNNING);
    return ::ioctl(sock.get(), SIOCSIFFLAGS, &request) == 0 ? 0 : errno;
}

}  // namespace

int configure_network(const Plan& plan) {
    if (plan.config.network.mode == NetworkMode::loopback) {
        return bring_loopback_up();
    }
    return 0;
}

}  // namespace resin::sandbox
