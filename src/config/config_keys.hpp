// Every key the config validator accepts, as data: the parser refuses any other key, and a test
// compares this set with config/resin-config.schema.json.
#pragma once

#include <span>
#include <string_view>

namespace resin::sandbox {

// JSON pointer patterns of every accepted key, e.g. "/limits/memory_bytes"; "*" stands for any
// array index ("/filesystem/mounts/*/path"). The members of free-form maps (env.set) are not keys.
std::span<const std::string_view> config_key_patterns();

}  // namespace resin::sandbox
