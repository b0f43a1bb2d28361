// libFuzzer target: arbitrary bytes through the JSON parser and parse_config(). Whatever validates
// must come back unchanged through to_json(), both as a value and as text.
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "config/config_parse.hpp"
#include "config/config_to_json.hpp"

namespace {

using resin::sandbox::Config;

void require_same(const resin::sandbox::ConfigParseResult& again, const Config& config,
                  const char* how) {
    const auto* config_again = std::get_if<Config>(&again);
    if (config_again == nullptr || !(*config_again == config)) {
        std::fprintf(stderr, "to_json round trip (%s) changed the config: %s\n", how,
                     resin::sandbox::to_json(config).dump().c_str());
        std::abort();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto doc = nlohmann::json::parse(data, data + size, nullptr, false);
    if (doc.is_discarded()) {
        return 0;
    }
    const auto parsed = resin::sandbox::parse_config(doc, "fuzz input");
    const auto* config = std::get_if<Config>(&parsed);
    if (config == nullptr) {
        return 0;
    }
    const nlohmann::json effective = resin::sandbox::to_json(*config);
    require_same(resin::sandbox::parse_config(effective, "to_json"), *config, "value");
    require_same(resin::sandbox::parse_config(nlohmann::json::parse(effective.dump()), "text"),
                 *config, "text");
    return 0;
}
