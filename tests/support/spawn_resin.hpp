// Starting the resin binary under test as its real callers would.
#pragma once

#include <sys/types.h>

#include <string>
#include <utility>
#include <vector>

#include "sandbox/unique_fd.hpp"

namespace resin::test {

// `fd` renumbered above 4 (close-on-exec), so it can be mapped onto any of resin's 0 to 4.
sandbox::UniqueFd high_fd(sandbox::UniqueFd fd);
// A close-on-exec pipe {read, write} whose ends are numbered above 4.
std::pair<sandbox::UniqueFd, sandbox::UniqueFd> high_pipe();

// {a descriptor of this process, the number it gets in resin}. The sources must not be among the
// targets (open them above 4), or one dup2 would overwrite another.
using FdMap = std::vector<std::pair<int, int>>;

// Spawns `resin ARGS...` with `fds` in place and every signal at its default disposition, whatever
// this test process ignores. Throws if resin cannot be spawned. `wrapper` (a full path first, such
// as /usr/bin/unshare and its options) runs resin in its stead.
pid_t spawn_resin(const std::vector<std::string>& args, const FdMap& fds,
                  const std::vector<std::string>& wrapper = {});

}  // namespace resin::test
