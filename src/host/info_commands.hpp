// The commands that only print: `resin --check-config FILE` and `resin --features`.
#pragma once

#include <string>

namespace resin::host {

// Prints the effective config as pretty JSON (exit 0), or each error as "FILE: /pointer: message"
// on stderr (exit 1).
int check_config(const std::string& path);

// Prints one "key<TAB>mechanism" line per feature, the same list HelloReply carries.
int print_features();

}  // namespace resin::host
