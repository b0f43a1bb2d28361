#include "config/result.hpp"

#include <cstring>

namespace resin::sandbox {

Error system_error(ErrorKind kind, const std::string& what, int err) {
    return Error{kind, what + ": " + std::strerror(err), "", err};
}

}  // namespace resin::sandbox
