// PLACEHOLDER implementation; see config_source.hpp. Reads only the subset of the profile format
// (docs/config.md) that the launcher on main can run today.
#include "host/config_source.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace resin::host {
namespace {

using Json = nlohmann::json;

class PlaceholderParser {
  public:
    explicit PlaceholderParser(std::string source) : source_(std::move(source)) {}

    ConfigLoad parse(const std::string& text) {
        const Json doc = Json::parse(text, nullptr, /*allow_exceptions=*/false);
        if (doc.is_discarded()) {
            error("", "not valid JSON");
        } else if (object(doc, "")) {
            for (const auto& [key, value] : doc.items()) {
                const std::string pointer = "/" + key;
                if (key == "extends") {
                    if (value != "default") {
                        error(pointer, "the placeholder loader knows only \"default\"");
                    }
                } else if (key == "limits") {
                    limits(value, pointer);
                } else if (key == "filesystem") {
                    filesystem(value, pointer);
                } else if (key == "syscalls") {
                    syscalls(value, pointer);
                } else {
                    unsupported(pointer);
                }
            }
        }
        if (!errors_.empty()) {
            return errors_;
        }
        return config_;
    }

  private:
    void error(const std::string& pointer, const std::string& message) {
        errors_.push_back({source_, pointer, message});
    }
    void unsupported(const std::string& pointer) {
        error(pointer, "not supported by the placeholder config loader");
    }
    bool object(const Json& value, const std::string& pointer) {
        if (!value.is_object()) {
            error(pointer, "must be an object");
        }
        return value.is_object();
    }

    void limits(const Json& value, const std::string& pointer) {
        if (!object(value, pointer)) {
            return;
        }
        for (const auto& [key, limit] : value.items()) {
            if (key != "wall_time_ms") {
                unsupported(pointer + "/" + key);
            } else if (!limit.is_number_unsigned() || limit == 0) {
                error(pointer + "/" + key, "must be a positive integer");
            } else {
                config_.limits.wall_time_ms = limit.get<std::uint64_t>();
            }
        }
    }

    void filesystem(const Json& value, const std::string& pointer) {
        if (!object(value, pointer)) {
            return;
        }
        for (const auto& [key, mounts] : value.items()) {
            if (key != "mounts") {
                unsupported(pointer + "/" + key);
            } else if (!mounts.is_array()) {
                error(pointer + "/mounts", "must be an array");
            } else {
                for (std::size_t i = 0; i < mounts.size(); ++i) {
                    mount(mounts[i], pointer + "/mounts/" + std::to_string(i));
                }
            }
        }
    }

    void mount(const Json& value, const std::string& pointer) {
        if (!object(value, pointer)) {
            return;
        }
        sandbox::BindMount mount;
        for (const auto& [key, field] : value.items()) {
            const std::string at = pointer + "/" + key;
            if ((key == "path" || key == "source") && field.is_string() &&
                field.get<std::string>().starts_with("/")) {
                (key == "path" ? mount.path : mount.source) = field.get<std::string>();
            } else if (key == "access" && (field == "ro" || field == "rw")) {
                mount.access = field == "ro" ? sandbox::Access::ro : sandbox::Access::rw;
            } else if (key == "optional" && field.is_boolean()) {
                mount.optional = field.get<bool>();
            } else {
                error(at, "not a valid mount field");
            }
        }
        if (mount.path.empty()) {
            error(pointer + "/path", "is required");
        }
        config_.filesystem.mounts.push_back(std::move(mount));
    }

    void syscalls(const Json& value, const std::string& pointer) {
        if (!object(value, pointer)) {
            return;
        }
        for (const auto& [key, policy] : value.items()) {
            if (key != "policy") {
                unsupported(pointer + "/" + key);
            } else if (policy != "default" && policy != "none") {
                error(pointer + "/policy", "must be \"default\" or \"none\"");
            } else {
                config_.syscalls.policy = policy == "none" ? sandbox::SyscallPolicy::none
                                                           : sandbox::SyscallPolicy::default_policy;
            }
        }
    }

    std::string source_;
    sandbox::Config config_;
    std::vector<ConfigError> errors_;
};

}  // namespace

std::string format(const ConfigError& error) {
    if (error.pointer.empty()) {
        return error.source + ": " + error.message;
    }
    return error.source + ": " + error.pointer + ": " + error.message;
}

ConfigLoad load_file_config(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        return std::vector<ConfigError>{
            {path, "", std::string("cannot read: ") + std::strerror(errno)}};
    }
    std::ostringstream text;
    text << in.rdbuf();
    return PlaceholderParser(path).parse(text.str());
}

ConfigLoad load_request_config(const std::string& json_text, std::uint32_t request_id) {
    return PlaceholderParser("config field of request " + std::to_string(request_id))
        .parse(json_text);
}

nlohmann::json effective_config_json(const sandbox::Config& config) {
    Json mounts = Json::array();
    for (const auto& mount : config.filesystem.mounts) {
        mounts.push_back({{"path", mount.path},
                          {"source", mount.source.empty() ? mount.path : mount.source},
                          {"access", mount.access == sandbox::Access::ro ? "ro" : "rw"},
                          {"optional", mount.optional}});
    }
    Json doc = {
        {"filesystem", {{"mounts", mounts}}},
        {"syscalls",
         {{"policy", config.syscalls.policy == sandbox::SyscallPolicy::none ? "none" : "default"}}},
    };
    if (config.limits.wall_time_ms) {
        doc["limits"]["wall_time_ms"] = *config.limits.wall_time_ms;
    }
    return doc;
}

}  // namespace resin::host
