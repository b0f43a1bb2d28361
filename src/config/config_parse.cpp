#include "config/config_parse.hpp"

#include <algorithm>
#include <initializer_list>
#include <limits>
#include <map>

#include "config/config_keys.hpp"
#include "config/config_names.hpp"
#include "config/config_rules.hpp"
#include "config/json_reader.hpp"
#include "config/reserved_ids.hpp"

namespace resin::sandbox {
namespace {

constexpr std::uint64_t kMaxU64 = std::numeric_limits<std::uint64_t>::max();
constexpr std::uint64_t kMinMemoryBytes = 1024 * 1024;
constexpr double kMinCpuCores = 0.01;
constexpr double kMaxCpuCores = 4096;
constexpr std::uint64_t kMaxProcesses = 4194304;  // the kernel's PID_MAX_LIMIT
constexpr std::uint64_t kMinOpenFiles = 3;        // stdin, stdout and stderr
constexpr std::uint64_t kMaxOpenFiles = 1048576;  // the kernel's default fs.nr_open
constexpr std::uint64_t kMinTmpfsBytes = 4096;
constexpr std::uint64_t kMaxPort = 65535;
constexpr std::uint64_t kMaxId = 4294967294;  // (uid_t)-1 means "unchanged" to the kernel

using CheckRule = std::optional<std::string> (*)(std::string_view);

template <typename Enum>
std::optional<Enum> read_enum(const JsonValue& value) {
    const auto text = value.string();
    if (!text) {
        return std::nullopt;
    }
    if (const auto parsed = enum_from_name<Enum>(*text)) {
        return parsed;
    }
    std::string choices;
    for (const auto& entry : enum_names<Enum>()) {
        choices += (choices.empty() ? "\"" : ", \"") + std::string(entry.name) + "\"";
    }
    value.reject("must be one of " + choices);
    return std::nullopt;
}

std::optional<std::string> read_checked_string(const JsonValue& value, CheckRule rule) {
    auto text = value.string();
    if (text) {
        if (const auto problem = rule(*text)) {
            value.reject(*problem);
            return std::nullopt;
        }
    }
    return text;
}

template <typename T>
struct Listed {
    T value;
    JsonValue item;
};

// An array whose items must be unique; `read_item` yields an item's value, or nullopt after
// recording why it is invalid.
template <typename T, typename ReadItem>
std::optional<std::vector<Listed<T>>> read_unique_list(const JsonValue& value, ReadItem read_item) {
    const auto items = value.array();
    if (!items) {
        return std::nullopt;
    }
    std::vector<Listed<T>> list;
    for (const JsonValue& item : *items) {
        std::optional<T> parsed = read_item(item);
        if (!parsed) {
            continue;
        }
        const auto first = std::find_if(
            list.begin(), list.end(), [&](const Listed<T>& seen) { return seen.value == *parsed; });
        if (first != list.end()) {
            item.fail("duplicates " + first->item.pointer());
            continue;
        }
        list.push_back(Listed<T>{std::move(*parsed), item});
    }
    return list;
}

template <typename T>
std::vector<T> values_of(std::vector<Listed<T>> list) {
    std::vector<T> values;
    values.reserve(list.size());
    for (auto& entry : list) {
        values.push_back(std::move(entry.value));
    }
    return values;
}

template <typename T, typename ReadItem>
std::optional<std::vector<T>> read_unique_values(const JsonValue& value, ReadItem read_item) {
    auto list = read_unique_list<T>(value, read_item);
    if (!list) {
        return std::nullopt;
    }
    return values_of(std::move(*list));
}

Limits parse_limits(const JsonValue& value) {
    Limits limits;
    const auto object = value.object();
    if (!object) {
        return limits;
    }
    limits.memory_bytes = object->get("memory_bytes").integer(kMinMemoryBytes, kMaxU64);
    limits.cpu_cores = object->get("cpu_cores").number(kMinCpuCores, kMaxCpuCores);
    limits.cpu_time_ms = object->get("cpu_time_ms").integer(1, kMaxU64);
    limits.wall_time_ms = object->get("wall_time_ms").integer(1, kMaxU64);
    limits.processes = object->get("processes").integer(1, kMaxProcesses);
    limits.open_files = object->get("open_files").integer(kMinOpenFiles, kMaxOpenFiles);
    limits.file_size_bytes = object->get("file_size_bytes").integer(0, kMaxU64);
    return limits;
}

// Every mount point (bind or tmpfs) may appear once; maps each to the pointer that claimed it.
using MountPoints = std::map<std::string, std::string>;

std::optional<std::string> read_mount_point(const JsonValue& value, MountPoints& claimed) {
    auto path = read_checked_string(value, check_path);
    if (!path) {
        return std::nullopt;
    }
    const auto [it, inserted] = claimed.emplace(*path, value.pointer());
    if (!inserted) {
        value.reject("must not repeat the mount point of " + it->second);
        return std::nullopt;
    }
    return path;
}

// `{"path": P, "remove": true}` removes an inherited entry while `extends` merges
// (mount_merge.hpp); it names nothing else and is not a mount itself.
bool is_removal(const JsonObject& object, std::initializer_list<std::string_view> other_keys) {
    const JsonValue remove = object.get("remove");
    if (!remove.boolean().value_or(false)) {
        return false;
    }
    for (const std::string_view key : other_keys) {
        if (const JsonValue other = object.get(key); other.present()) {
            other.fail("must not be given with \"remove\": true");
        }
    }
    return true;
}

std::optional<BindMount> parse_bind_mount(const JsonValue& value, MountPoints& claimed) {
    const auto object = value.object();
    if (!object) {
        return std::nullopt;
    }
    const auto path = read_mount_point(object->require("path"), claimed);
    if (is_removal(*object, {"source", "access", "optional", "ownership"})) {
        return std::nullopt;
    }
    const auto source = read_checked_string(object->get("source"), check_path);
    const auto access = read_enum<Access>(object->get("access"));
    const auto optional = object->get("optional").boolean();
    const auto ownership = read_enum<Ownership>(object->get("ownership"));
    if (!path) {
        return std::nullopt;
    }
    return BindMount{*path, source.value_or(*path), access.value_or(Access::ro),
                     optional.value_or(false), ownership.value_or(Ownership::sandbox)};
}

std::optional<TmpfsMount> parse_tmpfs(const JsonValue& value, MountPoints& claimed) {
    const auto object = value.object();
    if (!object) {
        return std::nullopt;
    }
    const auto path = read_mount_point(object->require("path"), claimed);
    if (is_removal(*object, {"size_bytes", "inodes"})) {
        return std::nullopt;
    }
    const auto size = object->require("size_bytes").integer(kMinTmpfsBytes, kMaxU64);
    // One less than the maximum: the kernel's count includes the tmpfs's root directory.
    const auto inodes = object->get("inodes").integer(1, kMaxU64 - 1);
    if (!path || !size) {
        return std::nullopt;
    }
    return TmpfsMount{*path, *size, inodes};
}

Filesystem parse_filesystem(const JsonValue& value) {
    Filesystem filesystem;
    const auto object = value.object();
    if (!object) {
        return filesystem;
    }
    MountPoints claimed;
    if (const auto items = object->get("mounts").array()) {
        for (const JsonValue& item : *items) {
            if (auto mount = parse_bind_mount(item, claimed)) {
                filesystem.mounts.push_back(std::move(*mount));
            }
        }
    }
    if (const auto items = object->get("tmpfs").array()) {
        for (const JsonValue& item : *items) {
            if (auto tmpfs = parse_tmpfs(item, claimed)) {
                filesystem.tmpfs.push_back(std::move(*tmpfs));
            }
        }
    }
    if (auto cwd = read_checked_string(object->get("cwd"), check_path)) {
        filesystem.cwd = std::move(*cwd);
    }
    return filesystem;
}

std::optional<std::vector<std::uint16_t>> read_ports(const JsonValue& value) {
    return read_unique_values<std::uint16_t>(
        value, [](const JsonValue& item) -> std::optional<std::uint16_t> {
            const auto port = item.integer(1, kMaxPort);
            if (!port) {
                return std::nullopt;
            }
            return static_cast<std::uint16_t>(*port);
        });
}

Network parse_network(const JsonValue& value) {
    Network network;
    const auto object = value.object();
    if (!object) {
        return network;
    }
    network.mode = read_enum<NetworkMode>(object->get("mode")).value_or(network.mode);
    network.tcp_connect = read_ports(object->get("tcp_connect"));
    network.tcp_bind = read_ports(object->get("tcp_bind"));
    network.udp_connect = read_ports(object->get("udp_connect"));
    network.udp_bind = read_ports(object->get("udp_bind"));
    return network;
}

std::optional<std::string> read_syscall_name(const JsonValue& item) {
    auto name = item.string();
    if (name && !is_known_syscall(*name)) {
        item.fail("unknown syscall " + quote_for_message(*name));
        return std::nullopt;
    }
    return name;
}

Syscalls parse_syscalls(const JsonValue& value) {
    Syscalls syscalls;
    const auto object = value.object();
    if (!object) {
        return syscalls;
    }
    syscalls.policy = read_enum<SyscallPolicy>(object->get("policy")).value_or(syscalls.policy);
    auto deny = read_unique_list<std::string>(object->get("deny"), read_syscall_name);
    auto allow = read_unique_list<std::string>(object->get("allow"), read_syscall_name);
    syscalls.action = read_enum<SyscallAction>(object->get("action")).value_or(syscalls.action);
    if (deny && allow) {
        for (const auto& denied : *deny) {
            const auto both = std::find_if(allow->begin(), allow->end(), [&](const auto& allowed) {
                return allowed.value == denied.value;
            });
            if (both != allow->end()) {
                denied.item.fail(quote_for_message(denied.value) + " is also allowed by " +
                                 both->item.pointer());
            }
        }
    }
    syscalls.deny = deny ? values_of(std::move(*deny)) : std::vector<std::string>{};
    syscalls.allow = allow ? values_of(std::move(*allow)) : std::vector<std::string>{};
    return syscalls;
}

std::vector<std::string> parse_capabilities(const JsonValue& value) {
    auto capabilities = read_unique_values<std::string>(
        value, [](const JsonValue& item) -> std::optional<std::string> {
            const auto name = item.string();
            if (!name) {
                return std::nullopt;
            }
            auto canonical = canonical_capability(*name);
            if (!canonical) {
                item.fail("unknown capability " + quote_for_message(*name));
            }
            return canonical;
        });
    return capabilities.value_or(std::vector<std::string>{});
}

Env parse_env(const JsonValue& value) {
    Env env;
    const auto object = value.object();
    if (object) {
        env.clear = object->get("clear").boolean().value_or(env.clear);
        env.keep = read_unique_values<std::string>(object->get("keep"), [](const JsonValue& item) {
                       return read_checked_string(item, check_env_name);
                   }).value_or(std::vector<std::string>{});
        if (const auto members = object->get("set").map()) {
            for (const auto& [name, member] : *members) {
                if (const auto problem = check_env_name(name)) {
                    member.fail("variable name " + *problem);
                    continue;
                }
                if (auto text = read_checked_string(member, check_env_value)) {
                    env.set.emplace(name, std::move(*text));
                }
            }
        }
    }
    // A kept PATH is resin's own; only a cleared environment without one gets the default.
    if (needs_default_path(env)) {
        env.set.emplace("PATH", kDefaultPath);
    }
    return env;
}

// A uid or gid inside the sandbox, which is also its host id under root resin: never one of the
// ids that own sandboxes' user namespaces.
std::optional<std::uint32_t> read_identity_id(const JsonValue& value) {
    const auto id = value.integer(0, kMaxId);
    if (!id) {
        return std::nullopt;
    }
    if (is_reserved_id(*id)) {
        value.reject("must not be " + reserved_id_range_text());
        return std::nullopt;
    }
    return static_cast<std::uint32_t>(*id);
}

Identity parse_identity(const JsonValue& value) {
    Identity identity;
    const auto object = value.object();
    if (!object) {
        return identity;
    }
    identity.uid = read_identity_id(object->get("uid")).value_or(identity.uid);
    identity.gid = read_identity_id(object->get("gid")).value_or(identity.gid);
    if (auto hostname = read_checked_string(object->get("hostname"), check_hostname)) {
        identity.hostname = std::move(*hostname);
    }
    return identity;
}

}  // namespace

ConfigParseResult parse_config(const nlohmann::json& doc, const std::string& source) {
    JsonReadContext context(source, config_key_patterns());
    Config config;
    if (const auto root = JsonValue::root(doc, context).object()) {
        root->get("$schema").string();
        root->get("description").string();
        root->get("extends").string();
        config.limits = parse_limits(root->get("limits"));
        config.filesystem = parse_filesystem(root->get("filesystem"));
        config.network = parse_network(root->get("network"));
        config.syscalls = parse_syscalls(root->get("syscalls"));
        config.capabilities = parse_capabilities(root->get("capabilities"));
        config.env = parse_env(root->get("env"));
        config.identity = parse_identity(root->get("identity"));
    }
    if (context.has_errors()) {
        return context.take_errors();
    }
    return config;
}

}  // namespace resin::sandbox
