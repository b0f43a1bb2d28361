#include "support/port_expect.hpp"

#include <cstdlib>

namespace resin::test {

std::string describe(const proto::Packet& packet) {
    std::string text = proto::to_string(proto::packet_type(packet));
    if (const auto* error = std::get_if<proto::ErrorReport>(&packet)) {
        text += std::string(" ") + proto::to_string(error->code) + " (request " +
                std::to_string(error->request_id) + "): " + error->message;
    }
    if (const auto* data = std::get_if<proto::DataOut>(&packet)) {
        text += " of " + std::to_string(data->data.size()) + " bytes";
    }
    return text;
}

bool starts_through_prepare() {
    const char* prepared = std::getenv("RESIN_TEST_PREPARED");
    return prepared != nullptr && std::string(prepared) == "1";
}

proto::ErrorReport expect_error(PortClient& client, std::uint32_t request_id,
                                proto::ErrorCode code) {
    auto error = expect_packet<proto::ErrorReport>(client);
    EXPECT_EQ(error.request_id, request_id);
    EXPECT_EQ(proto::to_string(error.code), std::string(proto::to_string(code))) << error.message;
    return error;
}

proto::HelloReply handshake(PortClient& client, std::uint32_t request_id, std::uint32_t version) {
    client.send(proto::Hello{request_id, version});
    auto reply = expect_packet<proto::HelloReply>(client);
    EXPECT_EQ(reply.version, version);
    client.set_session_version(reply.version);
    return reply;
}

proto::ProcessStarted start_process(PortClient& client, std::uint32_t request_id,
                                    const std::string& executable,
                                    const std::vector<std::string>& args,
                                    const std::string& config) {
    if (starts_through_prepare() && client.session_version() >= 3) {
        // The same request id for both: the test's expectations name one request.
        client.send(proto::Prepare{request_id, config});
        EXPECT_EQ(expect_packet<proto::Prepared>(client).request_id, request_id);
        client.send(proto::Start{request_id, executable, args, {}, {}});
    } else {
        client.send(proto::StartProcess{request_id, executable, args, config});
    }
    auto started = expect_packet<proto::ProcessStarted>(client);
    EXPECT_EQ(started.request_id, request_id);
    EXPECT_GT(started.os_pid, 0u);
    return started;
}

ProcessOutput collect_until_exit(PortClient& client, std::uint32_t request_id) {
    ProcessOutput output;
    for (;;) {
        auto packet = client.receive();
        if (!packet) {
            ADD_FAILURE() << "expected DataOut or ExitStatus: " << client.last_error();
            return output;
        }
        if (auto* data = std::get_if<proto::DataOut>(&*packet)) {
            EXPECT_EQ(data->request_id, request_id);
            (data->stream == proto::Stream::stdout_stream ? output.out : output.err) += data->data;
        } else if (auto* exit = std::get_if<proto::ExitStatus>(&*packet)) {
            EXPECT_EQ(exit->request_id, request_id);
            output.exit = *exit;
            return output;
        } else {
            ADD_FAILURE() << "expected DataOut or ExitStatus, got " << describe(*packet);
            return output;
        }
    }
}

ProcessOutput run_to_exit(PortClient& client, const std::string& executable,
                          const std::vector<std::string>& args, const std::string& config) {
    handshake(client, 1);
    client.send(proto::GrantCredit{2, 0xFFFFFFFF});
    start_process(client, 3, executable, args, config);
    return collect_until_exit(client, 3);
}

}  // namespace resin::test
