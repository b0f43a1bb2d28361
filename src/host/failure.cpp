#include "host/failure.hpp"

#include <cstdio>

namespace resin::host {

void print_failure(const std::string& message) {
    std::fprintf(stderr, "resin: %s\n", message.c_str());
}

void print_failure(const sandbox::Error& error) {
    print_failure(error.pointer.empty() ? error.message : error.pointer + ": " + error.message);
}

}  // namespace resin::host
