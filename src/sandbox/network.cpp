#include "sandbox/network.hpp"

#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "sandbox/netns_pool.hpp"

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

Result<NetworkSetup> NetworkSetup::prepare(const Plan& plan) {
    NetworkSetup setup;
    if (!plan.new_network_namespace) {
        return setup;
    }
    // A pooled namespace belongs to a user namespace of the pool's, where a kept CAP_NET_* means
    // nothing.
    const auto& caps = plan.config.capabilities;
    const bool wants_network_capability =
        std::any_of(caps.begin(), caps.end(),
                    [](const std::string& cap) { return cap.rfind("CAP_NET_", 0) == 0; });
    UniqueFd fresh = wants_network_capability ? UniqueFd() : NetnsPool::claim(plan.host);
    if (!fresh) {
        setup.clone_creates_ = true;
        return setup;
    }
    setup.resins_own_.reset(::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC));
    if (!setup.resins_own_) {
        return system_error(ErrorKind::internal, "opening resin's network namespace", errno);
    }
    if (::setns(fresh.get(), CLONE_NEWNET) != 0) {
        return system_error(ErrorKind::spawn_failed, "entering a pooled network namespace", errno);
    }
    if (int err = configure_network(plan); err != 0) {
        return system_error(ErrorKind::spawn_failed, "bringing loopback up", err);
    }
    return setup;
}

NetworkSetup::~NetworkSetup() {
    restore_resins_namespace();
}

void NetworkSetup::restore_resins_namespace() {
    if (resins_own_) {
        ::setns(resins_own_.get(), CLONE_NEWNET);
        resins_own_.reset();
    }
}

int configure_network(const Plan& plan) {
    if (plan.config.network.mode == NetworkMode::loopback) {
        return bring_loopback_up();
    }
    return 0;
}

}  // namespace resin::sandbox
