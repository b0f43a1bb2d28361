// GoogleTest helpers over PortClient: expect a packet of a given kind, run a process to its end.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "support/configs.hpp"
#include "support/port_client.hpp"

namespace resin::test {

std::string describe(const proto::Packet& packet);

// The next packet, which must be a T; a test failure (and a default T) otherwise.
template <typename T>
T expect_packet(PortClient& client, std::chrono::milliseconds timeout = kReplyTimeout) {
    auto packet = client.receive(timeout);
    if (!packet) {
        ADD_FAILURE() << "expected " << proto::to_string(proto::packet_type(T{})) << ": "
                      << client.last_error();
        return T{};
    }
    if (auto* expected = std::get_if<T>(&*packet)) {
        return std::move(*expected);
    }
    ADD_FAILURE() << "expected " << proto::to_string(proto::packet_type(T{})) << ", got "
                  << describe(*packet);
    return T{};
}

// The next packet, which must be an ErrorReport for `request_id` with `code`.
proto::ErrorReport expect_error(PortClient& client, std::uint32_t request_id,
                                proto::ErrorCode code);

proto::HelloReply handshake(PortClient& client, std::uint32_t request_id = 1,
                            std::uint32_t version = proto::kProtocolVersion);

// RESIN_TEST_PREPARED=1: start_process goes through Prepare and Start in sessions of version 3 or
// later, so that the port suites run on both paths (the "prepared." registrations).
bool starts_through_prepare();

// Sends StartProcess (or Prepare, then Start) and expects ProcessStarted.
proto::ProcessStarted start_process(PortClient& client, std::uint32_t request_id,
                                    const std::string& executable,
                                    const std::vector<std::string>& args,
                                    const std::string& config = default_profile_json());

struct ProcessOutput {
    std::string out;
    std::string err;
    proto::ExitStatus exit;
};

// Reads DataOut until ExitStatus (the caller grants the credit); every packet must carry
// `request_id`.
ProcessOutput collect_until_exit(PortClient& client, std::uint32_t request_id);

// Handshake, unlimited credit, start, and collect everything until ExitStatus.
ProcessOutput run_to_exit(PortClient& client, const std::string& executable,
                          const std::vector<std::string>& args,
                          const std::string& config = default_profile_json());

}  // namespace resin::test
