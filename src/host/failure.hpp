// The one way resin reports its own failure outside the port: a single line on stderr.
#pragma once

#include <string>

#include "config/result.hpp"

namespace resin::host {

// Prints "resin: <message>".
void print_failure(const std::string& message);
// "resin: /json/pointer: message" when the error names a config field.
void print_failure(const sandbox::Error& error);

}  // namespace resin::host
