// How `extends` combines the filesystem lists: by mount point, not as RFC 7396 (which replaces a
// list whole, so adding one directory would mean restating every inherited mount).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "config/config_error.hpp"

namespace resin::sandbox {

// Applies `patch`'s /filesystem/mounts and /filesystem/tmpfs onto `inherited` and removes them from
// `patch`, so that a merge patch applies the rest. Across both lists a mount point appears once: a
// patch entry for a path replaces the inherited entry for that path (a bind may replace a tmpfs),
// an entry for a new path is added, and `{"path": P, "remove": true}` removes the inherited entry
// at P (an error, at that entry's pointer, if there is none). A list set to null in the patch is
// left to the merge patch: it removes the whole inherited list. Both documents are already valid.
std::vector<ConfigError> merge_mount_lists(nlohmann::json& inherited, nlohmann::json& patch,
                                           const std::string& source);

}  // namespace resin::sandbox
