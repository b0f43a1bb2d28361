#include "config/config_parse.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "config/config_keys.hpp"
#include "config/config_to_json.hpp"
#include "config/reserved_ids.hpp"

namespace resin::sandbox {
namespace {

using Json = nlohmann::json;

Config parse_ok(const Json& doc) {
    auto result = parse_config(doc, "test.json");
    if (auto* errors = std::get_if<std::vector<ConfigError>>(&result)) {
        for (const auto& error : *errors) {
            ADD_FAILURE() << format(error);
        }
        return {};
    }
    return std::get<Config>(result);
}

std::vector<ConfigError> parse_errors(const Json& doc) {
    auto result = parse_config(doc, "test.json");
    if (std::holds_alternative<Config>(result)) {
        ADD_FAILURE() << "accepted: " << doc.dump();
        return {};
    }
    return std::get<std::vector<ConfigError>>(result);
}

// Exactly one error, at `pointer`, whose message contains `message`.
void expect_error(const Json& doc, const std::string& pointer, const std::string& message = "") {
    const auto errors = parse_errors(doc);
    ASSERT_EQ(errors.size(), 1u) << doc.dump();
    EXPECT_EQ(errors[0].pointer, pointer) << doc.dump();
    EXPECT_NE(errors[0].message.find(message), std::string::npos)
        << "message: " << errors[0].message << "\nexpected to contain: " << message;
    EXPECT_EQ(errors[0].source, "test.json");
}

Json at(const std::string& section, const std::string& key, const Json& value) {
    return {{section, {{key, value}}}};
}

Config default_config() {
    Config config;
    config.env.set["PATH"] = kDefaultPath;
    return config;
}

// A document that sets every key to a non-default value.
Json full_document() {
    return Json::parse(R"({
      "$schema": "./resin-config.schema.json",
      "description": "every key",
      "extends": "default",
      "limits": { "memory_bytes": 268435456, "cpu_cores": 0.5, "cpu_time_ms": 10000,
                  "wall_time_ms": 30000, "processes": 32, "open_files": 256,
                  "file_size_bytes": 16777216 },
      "filesystem": { "mounts": [ {"path": "/usr", "source": "/usr", "access": "ro", "optional": false,
                                   "ownership": "sandbox"},
                                  {"path": "/job", "source": "/srv/job", "access": "rw", "optional": true,
                                   "ownership": "directory"} ],
                      "tmpfs": [ {"path": "/tmp", "size_bytes": 16777216, "inodes": 5000} ],
                      "cwd": "/tmp" },
      "network": { "mode": "loopback", "tcp_connect": [443, 80], "tcp_bind": [],
                   "udp_connect": [53], "udp_bind": [5353, 5354] },
      "syscalls": { "policy": "none", "deny": ["ptrace", "mount"], "allow": ["kexec_load"],
                    "action": "errno" },
      "capabilities": ["CAP_NET_BIND_SERVICE", "CAP_CHOWN"],
      "env": { "clear": false, "keep": ["HOME", "LANG"], "set": { "PATH": "/usr/bin:/bin", "A": "" } },
      "identity": { "uid": 1000, "gid": 100, "hostname": "box-1.example" }
    })");
}

void collect_patterns(const Json& value, const std::string& pattern, std::set<std::string>& out) {
    if (value.is_object() && pattern != "/env/set") {
        for (const auto& [key, member] : value.items()) {
            out.insert(pattern + "/" + key);
            collect_patterns(member, pattern + "/" + key, out);
        }
    } else if (value.is_array()) {
        for (const auto& item : value) {
            collect_patterns(item, pattern + "/*", out);
        }
    }
}

// --- the document as a whole ---

TEST(ConfigParse, EmptyDocumentGivesDefaults) {
    EXPECT_EQ(parse_ok(Json::object()), default_config());
}

TEST(ConfigParse, NullSectionsAndKeysAreAbsent) {
    const Json doc = {{"limits", nullptr},
                      {"filesystem", {{"cwd", nullptr}, {"mounts", nullptr}}},
                      {"network", {{"mode", nullptr}, {"tcp_connect", nullptr}}},
                      {"syscalls", {{"action", nullptr}}},
                      {"capabilities", nullptr},
                      {"env", {{"clear", nullptr}, {"set", {{"FOO", nullptr}}}}},
                      {"identity", {{"uid", nullptr}}},
                      {"extends", nullptr}};
    EXPECT_EQ(parse_ok(doc), default_config());
}

TEST(ConfigParse, RootMustBeAnObject) {
    expect_error(Json::array(), "", "must be an object, got an array");
    expect_error(Json(nullptr), "", "must be an object, got null");
    expect_error(Json("x"), "", "must be an object, got \"x\"");
}

TEST(ConfigParse, IgnoredTopLevelKeysMustBeStrings) {
    EXPECT_EQ(parse_ok({{"$schema", "x"}, {"description", "y"}, {"extends", "z"}}),
              default_config());
    expect_error({{"$schema", 1}}, "/$schema", "must be a string, got 1");
    expect_error({{"description", true}}, "/description", "must be a string");
    expect_error({{"extends", Json::array()}}, "/extends", "must be a string, got an array");
}

TEST(ConfigParse, FullExample) {
    const Config config = parse_ok(full_document());
    EXPECT_EQ(config.limits.memory_bytes, 268435456u);
    EXPECT_EQ(config.limits.cpu_cores, 0.5);
    EXPECT_EQ(config.limits.file_size_bytes, 16777216u);
    ASSERT_EQ(config.filesystem.mounts.size(), 2u);
    EXPECT_EQ(config.filesystem.mounts[1],
              (BindMount{"/job", "/srv/job", Access::rw, true, Ownership::directory}));
    EXPECT_EQ(config.filesystem.tmpfs, (std::vector<TmpfsMount>{{"/tmp", 16777216, 5000}}));
    EXPECT_EQ(config.filesystem.cwd, "/tmp");
    EXPECT_EQ(config.network.mode, NetworkMode::loopback);
    EXPECT_EQ(config.network.tcp_connect, (std::vector<std::uint16_t>{443, 80}));
    EXPECT_EQ(config.network.tcp_bind, std::vector<std::uint16_t>{});
    EXPECT_EQ(config.syscalls.policy, SyscallPolicy::none);
    EXPECT_EQ(config.syscalls.deny, (std::vector<std::string>{"ptrace", "mount"}));
    EXPECT_EQ(config.syscalls.allow, std::vector<std::string>{"kexec_load"});
    EXPECT_EQ(config.syscalls.action, SyscallAction::errno_eperm);
    EXPECT_EQ(config.capabilities, (std::vector<std::string>{"CAP_NET_BIND_SERVICE", "CAP_CHOWN"}));
    EXPECT_FALSE(config.env.clear);
    EXPECT_EQ(config.env.keep, (std::vector<std::string>{"HOME", "LANG"}));
    EXPECT_EQ(config.env.set,
              (std::map<std::string, std::string>{{"PATH", "/usr/bin:/bin"}, {"A", ""}}));
    EXPECT_EQ(config.identity, (Identity{1000, 100, "box-1.example"}));
}

TEST(ConfigParse, UnknownKeysAreRefusedAtEveryLevel) {
    expect_error({{"limit", Json::object()}}, "/limit", "unknown key; expected one of: $schema");
    expect_error(at("limits", "memory", 1), "/limits/memory", "expected one of: memory_bytes");
    expect_error(at("filesystem", "mount", Json::array()), "/filesystem/mount");
    expect_error(at("filesystem", "mounts", {{{"path", "/a"}, {"readonly", true}}}),
                 "/filesystem/mounts/0/readonly", "expected one of: path, source, access");
    expect_error(at("filesystem", "tmpfs", {{{"path", "/a"}, {"size_bytes", 4096}, {"size", 1}}}),
                 "/filesystem/tmpfs/0/size");
    expect_error(at("network", "sctp_connect", Json::array()), "/network/sctp_connect");
    expect_error(at("syscalls", "kill", true), "/syscalls/kill");
    expect_error(at("env", "unset", Json::array()), "/env/unset");
    expect_error(at("identity", "user", "x"), "/identity/user");
    // An unknown key is refused even when null, and names with '/' or '~' are escaped.
    expect_error({{"a/b~c", nullptr}}, "/a~1b~0c", "unknown key");
}

TEST(ConfigParse, SectionsMustBeObjects) {
    for (const char* section : {"limits", "filesystem", "network", "syscalls", "env", "identity"}) {
        expect_error({{section, Json::array()}}, std::string("/") + section,
                     "must be an object, got an array");
    }
    expect_error({{"capabilities", Json::object()}}, "/capabilities", "must be an array");
}

TEST(ConfigParse, AllErrorsAreReportedInDocumentOrder) {
    const Json doc = Json::parse(R"({
      "limits": { "processes": 0, "memory_bytes": 5 },
      "identity": { "uid": -1 },
      "filesystem": { "mounts": [ {"path": "/a"}, {"path": "/b"}, {"path": "x"}, {"path": "/c"},
                                  {"path": "/d"}, {"path": "/e"}, {"path": "/f"}, {"path": "/g"},
                                  {"path": "/h"}, {"path": "/i"}, {"path": "y"} ] },
      "typo": 1
    })");
    const auto errors = parse_errors(doc);
    std::vector<std::string> pointers;
    for (const auto& error : errors) {
        pointers.push_back(error.pointer);
    }
    EXPECT_EQ(pointers,
              (std::vector<std::string>{"/filesystem/mounts/2/path", "/filesystem/mounts/10/path",
                                        "/identity/uid", "/limits/memory_bytes",
                                        "/limits/processes", "/typo"}));
}

TEST(ConfigParse, FormatNamesSourcePointerAndMessage) {
    EXPECT_EQ(format(ConfigError{"a.json", "/limits/processes", "must be ..."}),
              "a.json: /limits/processes: must be ...");
    EXPECT_EQ(format(ConfigError{"a.json", "", "must be an object, got null"}),
              "a.json: must be an object, got null");
}

// --- limits ---

struct IntegerLimit {
    const char* key;
    std::uint64_t min;
    std::uint64_t max;
};

constexpr std::uint64_t kU64Max = std::numeric_limits<std::uint64_t>::max();

class ConfigIntegerLimit : public testing::TestWithParam<IntegerLimit> {};

TEST_P(ConfigIntegerLimit, AcceptsItsRangeOnly) {
    const auto [key, min, max] = GetParam();
    const std::string pointer = std::string("/limits/") + key;
    const std::string range =
        "must be an integer between " + std::to_string(min) + " and " + std::to_string(max);
    const Json at_min = to_json(parse_ok(at("limits", key, min)));
    EXPECT_EQ(at_min["limits"][key], min);
    const Json at_max = to_json(parse_ok(at("limits", key, max)));
    EXPECT_EQ(at_max["limits"][key], max);
    if (min > 0) {
        expect_error(at("limits", key, min - 1), pointer,
                     range + ", got " + std::to_string(min - 1));
    }
    if (max < kU64Max) {
        expect_error(at("limits", key, max + 1), pointer, range);
    } else {
        expect_error(
            Json::parse(R"({"limits": {")" + std::string(key) + R"(": 18446744073709551616}})"),
            pointer, range);
    }
    expect_error(at("limits", key, -5), pointer, range + ", got -5");
    expect_error(at("limits", key, 1048576.5), pointer, range + ", got 1048576.5");
    expect_error(Json::parse(R"({"limits": {")" + std::string(key) + R"(": 2097152.0}})"), pointer,
                 range);
    expect_error(at("limits", key, true), pointer, range + ", got true");
    expect_error(at("limits", key, "100"), pointer, range + ", got \"100\"");
    expect_error(at("limits", key, Json::object()), pointer, range + ", got an object");
}

INSTANTIATE_TEST_SUITE_P(Limits, ConfigIntegerLimit,
                         testing::Values(IntegerLimit{"memory_bytes", 1048576, kU64Max},
                                         IntegerLimit{"cpu_time_ms", 1, kU64Max},
                                         IntegerLimit{"wall_time_ms", 1, kU64Max},
                                         IntegerLimit{"processes", 1, 4194304},
                                         IntegerLimit{"open_files", 3, 1048576},
                                         IntegerLimit{"file_size_bytes", 0, kU64Max}),
                         [](const testing::TestParamInfo<IntegerLimit>& limit) {
                             return std::string(limit.param.key);
                         });

TEST(ConfigParse, LimitsAreAbsentByDefault) {
    EXPECT_EQ(parse_ok({{"limits", Json::object()}}).limits, Limits{});
}

TEST(ConfigParse, CpuCoresIsAnyNumberInRange) {
    for (double cores : {0.01, 0.5, 1.0, 4096.0}) {
        EXPECT_EQ(parse_ok(at("limits", "cpu_cores", cores)).limits.cpu_cores, cores);
    }
    EXPECT_EQ(parse_ok(at("limits", "cpu_cores", 2)).limits.cpu_cores, 2.0);
    const std::string range = "must be a number between 0.01 and 4096";
    expect_error(at("limits", "cpu_cores", 0.0099), "/limits/cpu_cores", range + ", got 0.0099");
    expect_error(at("limits", "cpu_cores", 0), "/limits/cpu_cores", range + ", got 0");
    expect_error(at("limits", "cpu_cores", 4096.5), "/limits/cpu_cores", range);
    expect_error(at("limits", "cpu_cores", -1), "/limits/cpu_cores", range);
    expect_error(at("limits", "cpu_cores", "1"), "/limits/cpu_cores", range);
    expect_error(at("limits", "cpu_cores", false), "/limits/cpu_cores", range);
}

// --- filesystem ---

Json mounts(const Json& items) {
    return at("filesystem", "mounts", items);
}
Json tmpfs(const Json& items) {
    return at("filesystem", "tmpfs", items);
}

TEST(ConfigParse, MountDefaults) {
    const Config config = parse_ok(mounts({{{"path", "/usr"}}}));
    EXPECT_EQ(config.filesystem.mounts,
              (std::vector<BindMount>{{"/usr", "/usr", Access::ro, false}}));
    EXPECT_EQ(parse_ok(Json::object()).filesystem, Filesystem{});
    EXPECT_EQ(Filesystem{}.cwd, "/");
}

TEST(ConfigParse, MountFields) {
    const Config config = parse_ok(
        mounts({{{"path", "/"}, {"source", "/srv/root"}, {"access", "rw"}, {"optional", true}}}));
    EXPECT_EQ(config.filesystem.mounts,
              (std::vector<BindMount>{{"/", "/srv/root", Access::rw, true}}));
    expect_error(mounts({{{"source", "/a"}}}), "/filesystem/mounts/0/path", "is required");
    expect_error(mounts({{{"path", "/a"}, {"access", "rx"}}}), "/filesystem/mounts/0/access",
                 "must be one of \"ro\", \"rw\", got \"rx\"");
    expect_error(mounts({{{"path", "/a"}, {"optional", "yes"}}}), "/filesystem/mounts/0/optional",
                 "must be true or false, got \"yes\"");
    expect_error(mounts({{{"path", "/a"}, {"source", "a"}}}), "/filesystem/mounts/0/source",
                 "must be an absolute path");
    expect_error(mounts({nullptr}), "/filesystem/mounts/0", "must be an object, got null");
    expect_error(mounts({"/usr"}), "/filesystem/mounts/0", "must be an object, got \"/usr\"");
    expect_error(mounts(Json::object()), "/filesystem/mounts", "must be an array, got an object");
}

TEST(ConfigParse, PathsMustBeAbsoluteAndNormalised) {
    for (const char* path : {"/", "/usr", "/usr/lib/x86_64-linux-gnu", "/a b/.hidden/..x/x.."}) {
        EXPECT_EQ(parse_ok(at("filesystem", "cwd", path)).filesystem.cwd, path);
    }
    const std::string pointer = "/filesystem/cwd";
    expect_error(at("filesystem", "cwd", ""), pointer, "must be an absolute path, got \"\"");
    expect_error(at("filesystem", "cwd", "tmp"), pointer, "must be an absolute path");
    expect_error(at("filesystem", "cwd", "/tmp/"), pointer, "must not end with '/'");
    expect_error(at("filesystem", "cwd", "//tmp"), pointer, "must not contain '//'");
    expect_error(at("filesystem", "cwd", "/a//b"), pointer, "must not contain '//'");
    expect_error(at("filesystem", "cwd", "/a/./b"), pointer, "normalised");
    expect_error(at("filesystem", "cwd", "/a/.."), pointer, "normalised");
    expect_error(at("filesystem", "cwd", "/."), pointer, "normalised");
    expect_error(at("filesystem", "cwd", std::string("/a\0b", 4)), pointer, "NUL");
    expect_error(at("filesystem", "cwd", "/" + std::string(4095, 'a')), pointer,
                 "must be shorter than 4096 bytes, got \"/aaa");
    EXPECT_EQ(parse_ok(at("filesystem", "cwd", "/" + std::string(4094, 'a'))).filesystem.cwd.size(),
              4095u);
    expect_error(at("filesystem", "cwd", 1), pointer, "must be a string, got 1");
}

TEST(ConfigParse, Tmpfs) {
    EXPECT_EQ(parse_ok(tmpfs({{{"path", "/tmp"}, {"size_bytes", 4096}}})).filesystem.tmpfs,
              (std::vector<TmpfsMount>{{"/tmp", 4096, {}}}));
    expect_error(tmpfs({{{"path", "/tmp"}}}), "/filesystem/tmpfs/0/size_bytes", "is required");
    expect_error(tmpfs({{{"size_bytes", 4096}}}), "/filesystem/tmpfs/0/path", "is required");
    expect_error(tmpfs({{{"path", "/tmp"}, {"size_bytes", 4095}}}),
                 "/filesystem/tmpfs/0/size_bytes",
                 "must be an integer between 4096 and 18446744073709551615, got 4095");
    expect_error(tmpfs({{{"path", "tmp"}, {"size_bytes", 4096}}}), "/filesystem/tmpfs/0/path",
                 "must be an absolute path");
    EXPECT_EQ(parse_ok(tmpfs({{{"path", "/tmp"}, {"size_bytes", 4096}, {"inodes", 10}}}))
                  .filesystem.tmpfs,
              (std::vector<TmpfsMount>{{"/tmp", 4096, 10}}));
    expect_error(tmpfs({{{"path", "/tmp"}, {"size_bytes", 4096}, {"inodes", 0}}}),
                 "/filesystem/tmpfs/0/inodes",
                 "must be an integer between 1 and 18446744073709551614, got 0");
}

TEST(ConfigParse, AMountPointAppearsOnce) {
    const Json doc = {{"filesystem",
                       {{"mounts", {{{"path", "/a"}}, {{"path", "/b"}}, {{"path", "/a"}}}},
                        {"tmpfs", {{{"path", "/b"}, {"size_bytes", 4096}}}}}}};
    const auto errors = parse_errors(doc);
    ASSERT_EQ(errors.size(), 2u);
    EXPECT_EQ(errors[0].pointer, "/filesystem/mounts/2/path");
    EXPECT_EQ(errors[0].message,
              "must not repeat the mount point of /filesystem/mounts/0/path, got \"/a\"");
    EXPECT_EQ(errors[1].pointer, "/filesystem/tmpfs/0/path");
    EXPECT_NE(errors[1].message.find("/filesystem/mounts/1/path"), std::string::npos);
    // The same source may be mounted at two places.
    EXPECT_EQ(
        parse_ok(mounts({{{"path", "/a"}, {"source", "/s"}}, {{"path", "/b"}, {"source", "/s"}}}))
            .filesystem.mounts.size(),
        2u);
}

// --- network ---

TEST(ConfigParse, NetworkMode) {
    EXPECT_EQ(parse_ok(Json::object()).network.mode, NetworkMode::none);
    EXPECT_EQ(parse_ok(at("network", "mode", "none")).network.mode, NetworkMode::none);
    EXPECT_EQ(parse_ok(at("network", "mode", "loopback")).network.mode, NetworkMode::loopback);
    EXPECT_EQ(parse_ok(at("network", "mode", "host")).network.mode, NetworkMode::host);
    expect_error(at("network", "mode", "Host"), "/network/mode",
                 "must be one of \"none\", \"loopback\", \"host\", got \"Host\"");
    expect_error(at("network", "mode", 0), "/network/mode", "must be a string, got 0");
}

TEST(ConfigParse, PortLists) {
    for (const char* key : {"tcp_connect", "tcp_bind", "udp_connect", "udp_bind"}) {
        const std::string pointer = std::string("/network/") + key;
        const auto ports = [&](const Config& c) {
            const std::string name = key;
            return name == "tcp_bind"      ? c.network.tcp_bind
                   : name == "udp_connect" ? c.network.udp_connect
                   : name == "udp_bind"    ? c.network.udp_bind
                                           : c.network.tcp_connect;
        };
        EXPECT_EQ(ports(parse_ok(Json::object())), std::nullopt);
        EXPECT_EQ(ports(parse_ok(at("network", key, nullptr))), std::nullopt);
        EXPECT_EQ(ports(parse_ok(at("network", key, Json::array()))), std::vector<std::uint16_t>{});
        EXPECT_EQ(ports(parse_ok(at("network", key, {1, 443, 65535}))),
                  (std::vector<std::uint16_t>{1, 443, 65535}));
        expect_error(at("network", key, {0}), pointer + "/0",
                     "must be an integer between 1 and 65535, got 0");
        expect_error(at("network", key, {80, 65536}), pointer + "/1", "got 65536");
        expect_error(at("network", key, {"80"}), pointer + "/0", "got \"80\"");
        expect_error(at("network", key, {80, 443, 80}), pointer + "/2",
                     "duplicates " + pointer + "/0");
        expect_error(at("network", key, 80), pointer, "must be an array, got 80");
        // Any one list puts the allowlist in force.
        EXPECT_TRUE(parse_ok(at("network", key, Json::array())).network.has_port_allowlist());
    }
    EXPECT_FALSE(parse_ok(Json::object()).network.has_port_allowlist());
}

// --- syscalls ---

TEST(ConfigParse, SyscallDefaults) {
    const Syscalls syscalls = parse_ok(Json::object()).syscalls;
    EXPECT_EQ(syscalls.policy, SyscallPolicy::default_policy);
    EXPECT_EQ(syscalls.action, SyscallAction::kill);
    EXPECT_TRUE(syscalls.deny.empty());
    EXPECT_TRUE(syscalls.allow.empty());
}

TEST(ConfigParse, SyscallPolicyAndAction) {
    EXPECT_EQ(parse_ok(at("syscalls", "policy", "default")).syscalls.policy,
              SyscallPolicy::default_policy);
    EXPECT_EQ(parse_ok(at("syscalls", "policy", "none")).syscalls.policy, SyscallPolicy::none);
    expect_error(at("syscalls", "policy", "strict"), "/syscalls/policy",
                 "must be one of \"default\", \"none\"");
    EXPECT_EQ(parse_ok(at("syscalls", "action", "kill")).syscalls.action, SyscallAction::kill);
    EXPECT_EQ(parse_ok(at("syscalls", "action", "errno")).syscalls.action,
              SyscallAction::errno_eperm);
    EXPECT_EQ(parse_ok(at("syscalls", "action", "log")).syscalls.action, SyscallAction::log);
    expect_error(at("syscalls", "action", "trap"), "/syscalls/action",
                 "must be one of \"kill\", \"errno\", \"log\", got \"trap\"");
}

TEST(ConfigParse, SyscallNames) {
    for (const char* key : {"deny", "allow"}) {
        const std::string pointer = std::string("/syscalls/") + key;
        expect_error(at("syscalls", key, {"ptrace", "foo"}), pointer + "/1",
                     "unknown syscall 'foo'");
        expect_error(at("syscalls", key, {"PTRACE"}), pointer + "/0", "unknown syscall 'PTRACE'");
        expect_error(at("syscalls", key, {""}), pointer + "/0", "unknown syscall ''");
        expect_error(at("syscalls", key, {std::string("ptrace\0x", 8)}), pointer + "/0",
                     "unknown syscall 'ptrace\\u0000x'");
        expect_error(at("syscalls", key, {101}), pointer + "/0", "must be a string, got 101");
        expect_error(at("syscalls", key, {"read", "write", "read"}), pointer + "/2",
                     "duplicates " + pointer + "/0");
    }
}

TEST(ConfigParse, ASyscallCannotBeBothAllowedAndDenied) {
    expect_error({{"syscalls", {{"deny", {"mount", "ptrace"}}, {"allow", {"ptrace"}}}}},
                 "/syscalls/deny/1", "'ptrace' is also allowed by /syscalls/allow/0");
}

// --- capabilities ---

TEST(ConfigParse, CapabilitiesAreCaseInsensitiveAndStoredUpperCase) {
    EXPECT_EQ(parse_ok({{"capabilities", {"cap_net_bind_service", "CAP_CHOWN", "Cap_Kill"}}})
                  .capabilities,
              (std::vector<std::string>{"CAP_NET_BIND_SERVICE", "CAP_CHOWN", "CAP_KILL"}));
    EXPECT_TRUE(parse_ok(Json::object()).capabilities.empty());
}

TEST(ConfigParse, UnknownCapabilitiesAreRefused) {
    for (const char* name :
         {"CAP_FOO", "NET_BIND_SERVICE", "12", "cap_chown,cap_kill", "all", ""}) {
        expect_error({{"capabilities", {name}}}, "/capabilities/0",
                     std::string("unknown capability '") + name + "'");
    }
    expect_error({{"capabilities", {"cap_chown", "CAP_CHOWN"}}}, "/capabilities/1",
                 "duplicates /capabilities/0");
    expect_error({{"capabilities", {nullptr}}}, "/capabilities/0", "must be a string, got null");
}

// --- env ---

TEST(ConfigParse, EnvDefaultsClearWithDefaultPath) {
    const Env env = parse_ok(Json::object()).env;
    EXPECT_TRUE(env.clear);
    EXPECT_TRUE(env.keep.empty());
    EXPECT_EQ(env.set, (std::map<std::string, std::string>{{"PATH", kDefaultPath}}));
}

TEST(ConfigParse, DefaultPathOnlyWhenClearingWithoutAPath) {
    EXPECT_EQ(parse_ok(at("env", "set", {{"PATH", "/bin"}})).env.set,
              (std::map<std::string, std::string>{{"PATH", "/bin"}}));
    EXPECT_TRUE(parse_ok(at("env", "clear", false)).env.set.empty());
    EXPECT_TRUE(parse_ok(at("env", "keep", {"PATH"})).env.set.empty());
    EXPECT_EQ(parse_ok(at("env", "set", {{"HOME", "/tmp"}})).env.set,
              (std::map<std::string, std::string>{{"HOME", "/tmp"}, {"PATH", kDefaultPath}}));
}

TEST(ConfigParse, EnvFields) {
    expect_error(at("env", "clear", "yes"), "/env/clear", "must be true or false");
    expect_error(at("env", "keep", {"HOME", "A=B"}), "/env/keep/1", "without '='");
    expect_error(at("env", "keep", {""}), "/env/keep/0", "non-empty");
    expect_error(at("env", "keep", {"HOME", "HOME"}), "/env/keep/1", "duplicates /env/keep/0");
    expect_error(at("env", "set", {{"A=B", "x"}}), "/env/set/A=B", "variable name must be");
    expect_error(at("env", "set", {{"", "x"}}), "/env/set/", "variable name must be");
    expect_error(at("env", "set", {{"A/B", 1}}), "/env/set/A~1B", "must be a string, got 1");
    expect_error(at("env", "set", {{"A", std::string("x\0y", 3)}}), "/env/set/A", "NUL");
    expect_error(at("env", "set", Json::array()), "/env/set", "must be an object");
    // Any name without '=' or NUL, including ones a shell could not use.
    EXPECT_EQ(parse_ok(at("env", "set", {{"my var.1", "v"}})).env.set.at("my var.1"), "v");
}

// --- identity ---

TEST(ConfigParse, IdentityDefaultsToNobody) {
    EXPECT_EQ(parse_ok(Json::object()).identity, (Identity{65534, 65534, "sandbox"}));
}

TEST(ConfigParse, UidAndGid) {
    for (const char* key : {"uid", "gid"}) {
        const std::string pointer = std::string("/identity/") + key;
        EXPECT_EQ(to_json(parse_ok(at("identity", key, 0)))["identity"][key], 0);
        EXPECT_EQ(to_json(parse_ok(at("identity", key, 4294967294u)))["identity"][key],
                  4294967294u);
        expect_error(at("identity", key, 4294967295u), pointer,
                     "must be an integer between 0 and 4294967294, got 4294967295");
        expect_error(at("identity", key, -1), pointer, "got -1");
        expect_error(at("identity", key, "root"), pointer, "got \"root\"");
    }
}

// Under root resin the sandbox's uid and gid are host ids too: one that owns other sandboxes' user
// namespaces (sandbox/namespace_owner.hpp) would let this sandbox act as their owner.
TEST(ConfigParse, UidAndGidOutsideTheRangeReservedForNamespaceOwners) {
    EXPECT_EQ(kReservedIdFirst, 2146435072u);
    EXPECT_EQ(kReservedIdLast, 2146500607u);
    for (const char* key : {"uid", "gid"}) {
        const std::string pointer = std::string("/identity/") + key;
        for (const std::uint32_t id : {kReservedIdFirst, kReservedIdFirst + 1, kReservedIdLast}) {
            expect_error(at("identity", key, id), pointer,
                         "must not be between 2146435072 and 2146500607, the host ids resin "
                         "reserves for the owners of sandboxes' namespaces, got " +
                             std::to_string(id));
        }
        for (const std::uint32_t id : {kReservedIdFirst - 1, kReservedIdLast + 1}) {
            EXPECT_EQ(to_json(parse_ok(at("identity", key, id)))["identity"][key], id);
        }
    }
    // Both reported, each at its own pointer.
    const auto errors =
        parse_errors({{"identity", {{"uid", kReservedIdFirst}, {"gid", kReservedIdLast}}}});
    ASSERT_EQ(errors.size(), 2u);
    EXPECT_EQ(errors[0].pointer, "/identity/gid");
    EXPECT_EQ(errors[1].pointer, "/identity/uid");
}

TEST(ConfigParse, Hostname) {
    for (const std::string& name :
         {std::string("a"), std::string("A-1.b"), std::string(64, 'x'), std::string("0.example")}) {
        EXPECT_EQ(parse_ok(at("identity", "hostname", name)).identity.hostname, name);
    }
    for (const std::string& name :
         {std::string(""), std::string(65, 'x'), std::string("-a"), std::string(".a"),
          std::string("a_b"), std::string("a b"), std::string("h\xc3\xa9")}) {
        expect_error(at("identity", "hostname", name), "/identity/hostname",
                     "must be 1 to 64 characters");
    }
}

// --- to_json and the key set ---

TEST(ConfigToJson, DefaultsAreComplete) {
    const Json json = to_json(default_config());
    EXPECT_EQ(json, Json::parse(R"({
      "limits": {},
      "filesystem": { "mounts": [], "tmpfs": [], "cwd": "/" },
      "network": { "mode": "none" },
      "syscalls": { "policy": "default", "deny": [], "allow": [], "action": "kill" },
      "capabilities": [],
      "env": { "clear": true, "keep": [], "set": { "PATH": "/usr/local/bin:/usr/bin:/bin" } },
      "identity": { "uid": 65534, "gid": 65534, "hostname": "sandbox" }
    })"));
}

TEST(ConfigToJson, RoundTrips) {
    for (const Json& doc : {Json::object(), full_document(), Json(at("env", "keep", {"PATH"})),
                            Json(mounts({{{"path", "/x"}}}))}) {
        const Config config = parse_ok(doc);
        EXPECT_EQ(parse_ok(to_json(config)), config) << doc.dump();
        // Through text as well, as `resin --check-config` output would travel.
        EXPECT_EQ(parse_ok(Json::parse(to_json(config).dump())), config) << doc.dump();
    }
}

// Every key the validator declares is read into the Config (the full document comes back whole),
// and the full document uses every declared key.
TEST(ConfigKeys, EveryDeclaredKeyIsParsedAndEmitted) {
    Json expected = full_document();
    expected.erase("$schema");
    expected.erase("description");
    expected.erase("extends");
    EXPECT_EQ(to_json(parse_ok(full_document())), expected);

    std::set<std::string> used;
    collect_patterns(full_document(), "", used);
    const auto declared = config_key_patterns();
    std::set<std::string> config_keys(declared.begin(), declared.end());
    // Directives of `extends` merging (mount_merge.hpp), consumed before a Config exists.
    config_keys.erase("/filesystem/mounts/*/remove");
    config_keys.erase("/filesystem/tmpfs/*/remove");
    EXPECT_EQ(used, config_keys);
}

}  // namespace
}  // namespace resin::sandbox
