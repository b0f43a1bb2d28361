#include "config/config_error.hpp"

namespace resin::sandbox {

std::string format(const ConfigError& error) {
    if (error.pointer.empty()) {
        return error.source + ": " + error.message;
    }
    return error.source + ": " + error.pointer + ": " + error.message;
}

}  // namespace resin::sandbox
