#include "host/features.hpp"

#include "proto/packets.hpp"
#include "sandbox/enforcement.hpp"

namespace resin::host {

std::vector<std::pair<std::string, std::string>> feature_list(
    const sandbox::HostCapabilities& host) {
    auto features = sandbox::enforcement_features(host);
    features.emplace_back("resin.version", RESIN_VERSION);
    features.emplace_back("protocol.max_packet_size", std::to_string(proto::kMaxPacketSize));
    return features;
}

}  // namespace resin::host
