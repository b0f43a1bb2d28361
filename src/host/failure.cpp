#include "host/failure.hpp"

#include <cstdio>

namespace resin::host {

void print_failure(const std::string& message) {
    std::fprintf(stderr, "resin: %s\n", message.c_str());
}

}  // namespace resin::host
