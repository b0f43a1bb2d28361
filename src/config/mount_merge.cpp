#include "config/mount_merge.hpp"

#include <array>
#include <vector>

namespace resin::sandbox {
namespace {

using Json = nlohmann::json;

constexpr std::array<const char*, 2> kMountLists = {"mounts", "tmpfs"};

bool is_removal(const Json& entry) {
    const auto remove = entry.find("remove");
    return remove != entry.end() && remove->is_boolean() && remove->get<bool>();
}

std::string path_of(const Json& entry) {
    const auto path = entry.find("path");
    return path != entry.end() && path->is_string() ? path->get<std::string>() : std::string();
}

// Erases the entries at `path` from every inherited list; whether there was one. (Order within a
// list does not matter: the plan mounts parents before children whatever the lists say.)
bool erase_mount_point(Json& filesystem, const std::string& path) {
    bool found = false;
    for (const char* list : kMountLists) {
        if (!filesystem.contains(list) || !filesystem[list].is_array()) {
            continue;
        }
        auto& entries = filesystem[list].get_ref<Json::array_t&>();
        found |= std::erase_if(entries, [&](const Json& entry) {
                     return entry.is_object() && path_of(entry) == path;
                 }) > 0;
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
            const std::string path = path_of(entry);
            const bool found = erase_mount_point(filesystem, path);
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
            target.push_back(std::move(entry));
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
