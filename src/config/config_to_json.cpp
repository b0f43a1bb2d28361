#include "config/config_to_json.hpp"

#include "config/config_names.hpp"

namespace resin::sandbox {
namespace {

using Json = nlohmann::json;

template <typename T>
void put_if_set(Json& object, const char* key, const std::optional<T>& value) {
    if (value) {
        object[key] = *value;
    }
}

Json limits_json(const Limits& limits) {
    Json object = Json::object();
    put_if_set(object, "memory_bytes", limits.memory_bytes);
    put_if_set(object, "cpu_cores", limits.cpu_cores);
    put_if_set(object, "cpu_time_ms", limits.cpu_time_ms);
    put_if_set(object, "wall_time_ms", limits.wall_time_ms);
    put_if_set(object, "processes", limits.processes);
    put_if_set(object, "open_files", limits.open_files);
    put_if_set(object, "file_size_bytes", limits.file_size_bytes);
    return object;
}

Json filesystem_json(const Filesystem& filesystem) {
    Json mounts = Json::array();
    for (const BindMount& mount : filesystem.mounts) {
        mounts.push_back({{"path", mount.path},
                          {"source", mount.source},
                          {"access", enum_to_name(mount.access)},
                          {"optional", mount.optional},
                          {"ownership", enum_to_name(mount.ownership)}});
    }
    Json tmpfs = Json::array();
    for (const TmpfsMount& mount : filesystem.tmpfs) {
        Json entry = {{"path", mount.path}, {"size_bytes", mount.size_bytes}};
        put_if_set(entry, "inodes", mount.inodes);
        tmpfs.push_back(std::move(entry));
    }
    return {{"mounts", mounts}, {"tmpfs", tmpfs}, {"cwd", filesystem.cwd}};
}

Json network_json(const Network& network) {
    Json object = {{"mode", enum_to_name(network.mode)}};
    put_if_set(object, "tcp_connect", network.tcp_connect);
    put_if_set(object, "tcp_bind", network.tcp_bind);
    put_if_set(object, "udp_connect", network.udp_connect);
    put_if_set(object, "udp_bind", network.udp_bind);
    return object;
}

Json syscalls_json(const Syscalls& syscalls) {
    return {{"policy", enum_to_name(syscalls.policy)},
            {"deny", syscalls.deny},
            {"allow", syscalls.allow},
            {"action", enum_to_name(syscalls.action)}};
}

Json env_json(const Env& env) {
    Json set = Json::object();
    for (const auto& [name, value] : env.set) {
        set[name] = value;
    }
    return {{"clear", env.clear}, {"keep", env.keep}, {"set", set}};
}

Json identity_json(const Identity& identity) {
    return {{"uid", identity.uid}, {"gid", identity.gid}, {"hostname", identity.hostname}};
}

}  // namespace

Json to_json(const Config& config) {
    return {{"limits", limits_json(config.limits)},
            {"filesystem", filesystem_json(config.filesystem)},
            {"network", network_json(config.network)},
            {"syscalls", syscalls_json(config.syscalls)},
            {"capabilities", config.capabilities},
            {"env", env_json(config.env)},
            {"identity", identity_json(config.identity)}};
}

}  // namespace resin::sandbox
