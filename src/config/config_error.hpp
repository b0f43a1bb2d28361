// One reason a config was refused, located precisely enough for a human to fix it.
#pragma once

#include <string>

namespace resin::sandbox {

struct ConfigError {
    std::string source;   // the profile's file path, or e.g. "config field of request 7"
    std::string pointer;  // RFC 6901 JSON pointer of the offending value; "" for the whole document
    std::string message;  // one line saying why
    bool operator==(const ConfigError&) const = default;
};

// "<source>: <pointer>: <message>", or "<source>: <message>" when the pointer is empty.
std::string format(const ConfigError& error);

}  // namespace resin::sandbox
