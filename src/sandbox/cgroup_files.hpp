// Reading and writing cgroup interface files.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "config/result.hpp"

namespace resin::sandbox {

Result<void> write_cgroup_file(const std::string& path, const std::string& value);
std::optional<std::string> read_cgroup_file(const std::string& path);
std::optional<std::uint64_t> read_cgroup_u64(const std::string& path);
// The value of `key` in a "key value" per-line file (memory.events, cpu.stat, memory.oom_control).
std::optional<std::uint64_t> read_cgroup_key(const std::string& path, const std::string& key);
// The tasks in `directory` that this process can name: never a pid <= 0 (those of another pid
// namespace than the reader's).
std::vector<pid_t> read_cgroup_procs(const std::string& directory);
bool path_exists(const std::string& path);
// Child side: writes "0" (this task) to each file. Returns errno, or 0; `failed` names the file.
int join_cgroups_self(const std::vector<std::string>& files, const char** failed);
// rmdir, retrying while the last tasks finish exiting (bounded).
bool remove_cgroup_directory(const std::string& directory);

}  // namespace resin::sandbox
