// The one way resin reports its own failure outside the port: a single line on stderr.
#pragma once

#include <string>

namespace resin::host {

// Prints "resin: <message>".
void print_failure(const std::string& message);

}  // namespace resin::host
