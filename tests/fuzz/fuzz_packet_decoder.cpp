// Feeds arbitrary bytes through the frame reader and the packet decoder: every input must end in a
// packet or an error value. A packet that decodes must re-encode to the very same bytes.
#include <cstdint>
#include <cstdlib>
#include <variant>

#include "proto/codec.hpp"
#include "proto/frame_reader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace resin::proto;
    auto direct = decode_packet(std::span(data, size));
    if (const auto* packet = std::get_if<Packet>(&direct)) {
        auto frame = encode_frame(*packet);
        if (frame.size() != size + kLengthPrefixSize ||
            !std::equal(frame.begin() + kLengthPrefixSize, frame.end(), data)) {
            std::abort();
        }
    }
    FrameReader reader;
    reader.feed(std::span(data, size));
    for (int frames = 0; frames < 1000; ++frames) {
        auto next = reader.next();
        if (!next || std::holds_alternative<DecodeError>(*next)) {
            break;
        }
        (void)decode_packet(std::get<std::vector<std::uint8_t>>(*next));
    }
    return 0;
}
