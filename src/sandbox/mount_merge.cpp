#include "sandbox/mount_merge.hpp"

#include <algorithm>
#include <array>
#include <optional>

namespace resin::sandbox {
namespace {

using Json = nlohmann::json;

constexpr std::array<const char*, 2> kMountLists = {"mounts", "tmpfs"};

bool is_removal(const Json& entry) {
    const auto remove = entry.find("remove");
    return remove != entry.end() && remove->is_boolean() && remove->get<bool>();
}

// Erases the entries at `path` from every inherited list; whether there was one, and where the
// first was (list, index), so that a replacement can take its place.
struct Found {
    const char* list = nullptr;
    std::size_t index = 0;
};
std::optional<Found> erase_mount_point(Json& filesystem, const std::string& path) {
    std::optional<Found> found;
    for (const char* list : kMountLists) {
        const auto entries = filesystem.find(list);
        if (entries == filesystem.end() || !entries->is_array()) {
            continue;
        }
        for (std::size_t i = 0; i < entries->size();) {
            const Json& entry = (*entries)[i];
            if (entry.is_object() && entry.value("path", "") == path) {
                if (!found) {
                    found = Found{list, i};
                }
                entries->erase(i);
            } else {
                ++i;
            }
        }
    }
    return found;
}

}  // namespace

std::vector<ConfigError> merge_mount_lists(Json& inherited, Json& patch,
                                           const std::string& source) {
    std::vector<ConfigError> errors;
    if (!patch.is_object()) {
        return errors;
    }
    const auto patch_filesystem = patch.find("filesystem");
    if (patch_filesystem == patch.end() || !patch_filesystem->is_object()) {
        return errors;
    }
    if (!inherited.contains("filesystem") || !inherited["filesystem"].is_object()) {
        inherited["filesystem"] = Json::object();
    }
    Json& filesystem = inherited["filesystem"];
    for (const char* list : kMountLists) {
        const auto entries = patch_filesystem->find(list);
        if (entries == patch_filesystem->end() || !entries->is_array()) {
            continue;  // absent, or null: the merge patch's business
        }
        for (std::size_t i = 0; i < entries->size(); ++i) {
            Json& entry = (*entries)[i];
            const std::string path = entry.value("path", "");
            const auto found = erase_mount_point(filesystem, path);
            if (is_removal(entry)) {
                if (!found) {
                    errors.push_back(ConfigError{
                        source, "/filesystem/" + std::string(list) + "/" + std::to_string(i),
                        "nothing to remove: no inherited mount or tmpfs at " + path});
                }
                continue;
            }
            Json& target = filesystem[list];
            if (!target.is_array()) {
                target = Json::array();
            }
            const bool same_list = found && std::string_view(found->list) == list;
            const auto at = same_list ? std::min(found->index, target.size()) : target.size();
            target.insert(target.begin() + static_cast<std::ptrdiff_t>(at), std::move(entry));
        }
        patch_filesystem->erase(list);
    }
    for (const char* list : kMountLists) {
        if (filesystem.contains(list) && filesystem[list].empty()) {
            filesystem.erase(list);
        }
    }
    return errors;
}

}  // namespace resin::sandbox
