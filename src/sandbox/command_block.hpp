// The command of a sandbox, as resin hands it to the sandbox's init once the sandbox is prepared:
// argv, envp and the working directory laid out in one memfd, which init maps privately and uses
// in place. Init runs in a clone of resin and must not allocate; the block needs no parsing beyond
// turning its offsets into pointers.
#pragma once

#include <string>
#include <vector>

#include "config/result.hpp"

namespace resin::sandbox {

// Resolved and checked by resin: execvp's arguments and where the command starts.
struct CommandView {
    char** argv = nullptr;
    char** envp = nullptr;
    const char* cwd = nullptr;
};

// The environment a command gets: `base` (the config's `env`, NAME=VALUE each), then each of
// `changes` in order: NAME=VALUE sets NAME, a bare NAME removes it.
std::vector<std::string> apply_environment_changes(std::vector<std::string> base,
                                                   const std::vector<std::string>& changes);

// resin's side: writes the block to an empty memfd. No string may contain a NUL byte.
Result<void> write_command_block(int memfd, const std::vector<std::string>& argv,
                                 const std::vector<std::string>& envp, const std::string& cwd);

// Init's side: maps the block (never unmapped: it is the command's until exec). False when the
// block is missing or malformed. Allocates nothing.
bool map_command_block(int memfd, CommandView& view);

}  // namespace resin::sandbox
