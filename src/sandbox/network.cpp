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

Result<NetworkSetup> NetworkSetup::prepare(const NetworkPart& network,
                                           const HostCapabilities& host) {
    NetworkSetup setup;
    if (!network.new_namespace) {
        return setup;
    }
    UniqueFd fresh = network.may_use_pool ? NetnsPool::claim(host) : UniqueFd();
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
    if (const StepResult configured = configure_network(network); !configured.ok()) {
        return system_error(ErrorKind::spawn_failed, "bringing loopback up", configured.err);
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

StepResult configure_network(const NetworkPart& network) {
    if (!network.loopback_up) {
        return step_done();
    }
    if (int err = bring_loopback_up(); err != 0) {
        return step_failed(err, "/network/mode", {"bringing loopback up"});
    }
    return step_done();
}

}  // namespace resin::sandbox
