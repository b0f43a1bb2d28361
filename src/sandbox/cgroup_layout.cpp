#include "sandbox/cgroup_layout.hpp"

#include <linux/magic.h>
#include <sys/vfs.h>

#include <fstream>
#include <sstream>
#include <vector>

namespace resin::sandbox {
namespace {

constexpr const char* kV1Controllers[] = {"memory", "cpu", "cpuacct", "pids", "freezer"};

struct Mount {
    std::string root;   // the hierarchy's path that is mounted here
    std::string point;  // where
};

bool has_magic(const std::string& path, long magic) {
    struct statfs info {};
    return ::statfs(path.c_str(), &info) == 0 && static_cast<long>(info.f_type) == magic;
}

std::vector<std::string> split(const std::string& text, char separator) {
    std::vector<std::string> parts;
    std::stringstream stream(text);
    for (std::string part; std::getline(stream, part, separator);) {
        parts.push_back(part);
    }
    return parts;
}

// Octal escapes (\040 for a space) as /proc/self/mountinfo writes them.
std::string unescape(const std::string& field) {
    std::string out;
    for (std::size_t i = 0; i < field.size(); ++i) {
        if (field[i] == '\\' && i + 3 < field.size()) {
            out += static_cast<char>(std::stoi(field.substr(i + 1, 3), nullptr, 8));
            i += 3;
        } else {
            out += field[i];
        }
    }
    return out;
}

// The directory of a cgroup path (as /proc/self/cgroup gives it) under a mount of its hierarchy.
std::string directory_of(const Mount& mount, const std::string& cgroup_path) {
    std::string relative = cgroup_path;
    if (mount.root != "/" && relative.compare(0, mount.root.size(), mount.root) == 0) {
        relative = relative.substr(mount.root.size());
    }
    if (relative.empty() || relative == "/") {
        return mount.point;
    }
    return mount.point + relative;
}

}  // namespace

const char* to_string(CgroupVersion version) {
    switch (version) {
        case CgroupVersion::none:
            return "none";
        case CgroupVersion::v1:
            return "v1";
        case CgroupVersion::hybrid:
            return "hybrid";
        case CgroupVersion::v2:
            return "v2";
    }
    return "none";
}

CgroupLayout detect_cgroup_layout() {
    std::optional<Mount> unified;
    std::map<std::string, Mount> v1;
    std::ifstream mountinfo("/proc/self/mountinfo");
    for (std::string line; std::getline(mountinfo, line);) {
        const auto dash = line.find(" - ");
        if (dash == std::string::npos) {
            continue;
        }
        const auto before = split(line.substr(0, dash), ' ');
        const auto after = split(line.substr(dash + 3), ' ');
        if (before.size() < 5 || after.size() < 3) {
            continue;
        }
        const Mount mount{unescape(before[3]), unescape(before[4])};
        if (after[0] == "cgroup2" && !unified && has_magic(mount.point, CGROUP2_SUPER_MAGIC)) {
            unified = mount;
        } else if (after[0] == "cgroup" && has_magic(mount.point, CGROUP_SUPER_MAGIC)) {
            for (const auto& option : split(after[2], ',')) {
                for (const char* controller : kV1Controllers) {
                    if (option == controller && v1.count(controller) == 0) {
                        v1.emplace(controller, mount);
                    }
                }
            }
        }
    }

    CgroupLayout layout;
    std::ifstream membership("/proc/self/cgroup");
    for (std::string line; std::getline(membership, line);) {
        const auto first = line.find(':');
        const auto second = line.find(':', first + 1);
        if (first == std::string::npos || second == std::string::npos) {
            continue;
        }
        const std::string controllers = line.substr(first + 1, second - first - 1);
        const std::string path = line.substr(second + 1);
        if (controllers.empty() && unified) {
            layout.unified_mount = unified->point;
            layout.unified_own = directory_of(*unified, path);
        }
        for (const auto& controller : split(controllers, ',')) {
            if (auto it = v1.find(controller); it != v1.end()) {
                layout.v1_own[controller] = directory_of(it->second, path);
            }
        }
    }
    if (!layout.v1_own.empty()) {
        layout.version = layout.unified_own.empty() ? CgroupVersion::v1 : CgroupVersion::hybrid;
    } else if (!layout.unified_own.empty()) {
        layout.version = CgroupVersion::v2;
    }
    return layout;
}

}  // namespace resin::sandbox
