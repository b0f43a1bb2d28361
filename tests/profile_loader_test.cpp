#include "config/profile_loader.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>

namespace resin::sandbox {
namespace {

using Json = nlohmann::json;
namespace fs = std::filesystem;

// A fresh directory, removed with everything in it at the end of the test.
class TempDir {
  public:
    TempDir() {
        std::string pattern = (fs::temp_directory_path() / "resin-config-test-XXXXXX").string();
        if (mkdtemp(pattern.data()) == nullptr) {
            throw std::runtime_error("mkdtemp failed");
        }
        path_ = pattern;
    }
    ~TempDir() {
        std::error_code error;
        fs::remove_all(path_, error);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const fs::path& path() const { return path_; }

    fs::path write(const fs::path& relative, const std::string& text) const {
        const fs::path file = path_ / relative;
        fs::create_directories(file.parent_path());
        std::ofstream(file, std::ios::binary) << text;
        return file;
    }

  private:
    fs::path path_;
};

LoadedConfig load_ok(const ConfigLoadResult& result) {
    if (const auto* errors = std::get_if<std::vector<ConfigError>>(&result)) {
        for (const auto& error : *errors) {
            ADD_FAILURE() << format(error);
        }
        return {};
    }
    return std::get<LoadedConfig>(result);
}

std::vector<ConfigError> load_errors(const ConfigLoadResult& result) {
    if (std::holds_alternative<LoadedConfig>(result)) {
        ADD_FAILURE() << "loaded: " << std::get<LoadedConfig>(result).merged.dump();
        return {};
    }
    return std::get<std::vector<ConfigError>>(result);
}

void expect_contains(const std::string& text, const std::string& part) {
    EXPECT_NE(text.find(part), std::string::npos) << text << "\ndoes not contain: " << part;
}

constexpr const char* kRequest = "config field of request 7";

class ProfileLoader : public testing::Test {
  protected:
    TempDir dir;
    SearchPath search_path() const { return {{dir.path() / "first", dir.path() / "second"}}; }
};

TEST_F(ProfileLoader, AKeyRepeatedInAnObjectIsRefusedNotSilentlyOverridden) {
    // Without the check the second "mode" would win and the sandbox would get the host's network.
    const auto errors = load_errors(load_config_text(
        R"({"network": {"mode": "none", "mode": "host"}})", kRequest, search_path()));
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0].pointer, "/network/mode");
    expect_contains(errors[0].message, "twice");

    const auto nested = load_errors(load_config_text(
        R"({"filesystem": {"mounts": [{"path": "/a"}, {"path": "/b", "access": "ro", "access": "rw"}]}})",
        kRequest, search_path()));
    ASSERT_EQ(nested.size(), 1u);
    EXPECT_EQ(nested[0].pointer, "/filesystem/mounts/1/access");
}

TEST_F(ProfileLoader, TheSameKeyInDifferentObjectsIsFine) {
    load_ok(load_config_text(R"({"filesystem": {"mounts": [{"path": "/a"}, {"path": "/b"}]},
                                 "env": {"set": {"path": "x"}}})",
                             kRequest, search_path()));
}

TEST_F(ProfileLoader, FileWithoutExtends) {
    const auto file = dir.write("p.json", R"({"limits": {"processes": 4}})");
    const LoadedConfig loaded = load_ok(load_config_file(file, search_path()));
    EXPECT_EQ(loaded.config.limits.processes, 4u);
    EXPECT_EQ(loaded.merged, Json::parse(R"({"limits": {"processes": 4}})"));
}

TEST_F(ProfileLoader, ExtendsByNameUsesTheFirstDirectoryThatHasIt) {
    dir.write("first/base.json", R"({"identity": {"hostname": "first"}})");
    dir.write("second/base.json", R"({"identity": {"hostname": "second"}})");
    dir.write("second/only-2nd_x.json", R"({"identity": {"hostname": "only"}})");
    EXPECT_EQ(load_ok(load_config_text(R"({"extends": "base"})", kRequest, search_path()))
                  .config.identity.hostname,
              "first");
    EXPECT_EQ(load_ok(load_config_text(R"({"extends": "only-2nd_x"})", kRequest, search_path()))
                  .config.identity.hostname,
              "only");
}

TEST_F(ProfileLoader, ExtendsByRelativePathFromTheFilesDirectory) {
    dir.write("profiles/base.json", R"({"identity": {"hostname": "base"}})");
    dir.write("profiles/sub/mid.json", R"({"extends": "../base.json", "identity": {"uid": 7}})");
    const auto child = dir.write("profiles/sub/child.json", R"({"extends": "mid.json"})");
    const Config config = load_ok(load_config_file(child, search_path())).config;
    EXPECT_EQ(config.identity, (Identity{7, 65534, "base"}));
}

TEST_F(ProfileLoader, ExtendsByAbsolutePath) {
    const auto base = dir.write("elsewhere/base.json", R"({"identity": {"hostname": "abs"}})");
    const std::string text = Json{{"extends", base.string()}}.dump();
    EXPECT_EQ(load_ok(load_config_text(text, kRequest, search_path())).config.identity.hostname,
              "abs");
    const auto child = dir.write("child.json", text);
    EXPECT_EQ(load_ok(load_config_file(child, search_path())).config.identity.hostname, "abs");
}

TEST_F(ProfileLoader, MergePatchMergesObjectsReplacesListsAndNullRemoves) {
    dir.write("first/base.json", R"({
      "limits": {"memory_bytes": 1073741824, "processes": 64},
      "filesystem": {"mounts": [{"path": "/usr"}, {"path": "/lib"}], "cwd": "/work"},
      "network": {"mode": "loopback", "tcp_connect": [443], "tcp_bind": [80, 81]},
      "env": {"set": {"A": "a", "B": "b"}}
    })");
    const LoadedConfig loaded = load_ok(load_config_text(R"({
      "extends": "base",
      "limits": {"processes": 8},
      "filesystem": {"mounts": null, "cwd": null},
      "network": {"tcp_connect": null, "tcp_bind": [82]},
      "env": {"set": {"B": null, "C": "c"}}
    })",
                                                         kRequest, search_path()));
    const Config& config = loaded.config;
    EXPECT_EQ(config.limits.memory_bytes, 1073741824u);
    EXPECT_EQ(config.limits.processes, 8u);
    EXPECT_TRUE(config.filesystem.mounts.empty());
    EXPECT_EQ(config.filesystem.cwd, "/");
    EXPECT_EQ(config.network.mode, NetworkMode::loopback);
    EXPECT_EQ(config.network.tcp_connect, std::nullopt);
    EXPECT_EQ(config.network.tcp_bind, (std::vector<std::uint16_t>{82}));
    EXPECT_EQ(config.env.set,
              (std::map<std::string, std::string>{{"A", "a"}, {"C", "c"}, {"PATH", kDefaultPath}}));
    EXPECT_EQ(loaded.merged, Json::parse(R"({
      "limits": {"memory_bytes": 1073741824, "processes": 8},
      "filesystem": {},
      "network": {"mode": "loopback", "tcp_bind": [82]},
      "env": {"set": {"A": "a", "C": "c"}}
    })"));
}

TEST_F(ProfileLoader, MountsAndTmpfsMergeByMountPoint) {
    dir.write("first/base.json", R"({"filesystem": {
      "mounts": [{"path": "/usr"}, {"path": "/lib"}, {"path": "/etc/ssl", "optional": true}],
      "tmpfs": [{"path": "/tmp", "size_bytes": 65536}, {"path": "/work", "size_bytes": 65536}]
    }})");
    const LoadedConfig loaded = load_ok(load_config_text(R"({
      "extends": "base",
      "filesystem": {
        "mounts": [{"path": "/lib", "source": "/usr/lib"}, {"path": "/opt"},
                   {"path": "/work", "source": "/srv/job", "access": "rw"},
                   {"path": "/etc/ssl", "remove": true}],
        "tmpfs": [{"path": "/tmp", "size_bytes": 131072}]
      }
    })",
                                                         kRequest, search_path()));
    // /lib replaced in place, /opt added, the tmpfs at /work replaced by a bind, /etc/ssl removed,
    // /tmp resized.
    EXPECT_EQ(loaded.config.filesystem.mounts,
              (std::vector<BindMount>{{"/usr", "/usr"},
                                      {"/lib", "/usr/lib"},
                                      {"/opt", "/opt"},
                                      {"/work", "/srv/job", Access::rw}}));
    EXPECT_EQ(loaded.config.filesystem.tmpfs, (std::vector<TmpfsMount>{{"/tmp", 131072, {}}}));
}

TEST_F(ProfileLoader, MountMergeAppliesAtEveryLevelOfAChain) {
    dir.write("first/a.json", R"({"filesystem": {"mounts": [{"path": "/usr"}, {"path": "/a"}]}})");
    dir.write(
        "first/b.json",
        R"({"extends": "a", "filesystem": {"mounts": [{"path": "/b"}, {"path": "/a", "remove": true}]}})");
    const LoadedConfig loaded = load_ok(load_config_text(
        R"({"extends": "b", "filesystem": {"mounts": [{"path": "/c", "access": "rw"}]}})", kRequest,
        search_path()));
    EXPECT_EQ(loaded.config.filesystem.mounts,
              (std::vector<BindMount>{{"/usr", "/usr"}, {"/b", "/b"}, {"/c", "/c", Access::rw}}));
    EXPECT_EQ(loaded.merged["filesystem"]["mounts"].size(), 3u);
}

TEST_F(ProfileLoader, RemovingAMountPointNothingDefinesIsAnErrorAtThatEntry) {
    dir.write("first/base.json", R"({"filesystem": {"mounts": [{"path": "/usr"}]}})");
    const auto errors = load_errors(load_config_text(
        R"({"extends": "base", "filesystem": {"mounts": [{"path": "/usr"}], "tmpfs": [{"path": "/usrr", "remove": true}]}})",
        kRequest, search_path()));
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0].pointer, "/filesystem/tmpfs/0");
    expect_contains(errors[0].message, "no inherited mount or tmpfs at /usrr");
}

TEST_F(ProfileLoader, ARemovalNamesOnlyItsPath) {
    const auto errors = load_errors(load_config_text(
        R"({"filesystem": {"mounts": [{"path": "/usr", "remove": true, "access": "rw"}]}})",
        kRequest, search_path()));
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0].pointer, "/filesystem/mounts/0/access");
    expect_contains(errors[0].message, "must not be given with \"remove\": true");
}

TEST_F(ProfileLoader, NullsVanishFromTheRootMostDocument) {
    const LoadedConfig loaded = load_ok(load_config_text(
        R"({"limits": null, "env": {"set": {"X": null}}, "extends": null})", kRequest, {}));
    EXPECT_EQ(loaded.merged, Json::parse(R"({"env": {"set": {}}})"));
}

TEST_F(ProfileLoader, ChainOfThree) {
    dir.write("first/a.json", R"({"identity": {"uid": 1, "gid": 1, "hostname": "a"}})");
    dir.write("first/b.json", R"({"extends": "a", "identity": {"gid": 2, "hostname": "b"}})");
    dir.write("second/c.json", R"({"extends": "b", "identity": {"hostname": "c"}})");
    EXPECT_EQ(
        load_ok(load_config_text(R"({"extends": "c"})", kRequest, search_path())).config.identity,
        (Identity{1, 2, "c"}));
}

TEST_F(ProfileLoader, CycleIsRefusedWithTheChain) {
    const auto a = dir.write("a.json", R"({"extends": "./b.json"})");
    const auto b = dir.write("b.json", R"({"extends": "./a.json"})");
    const auto errors = load_errors(load_config_file(a, search_path()));
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0].source, b.string());
    EXPECT_EQ(errors[0].pointer, "/extends");
    EXPECT_EQ(errors[0].message,
              "extends cycle: " + a.string() + " -> " + b.string() + " -> " + a.string());
}

TEST_F(ProfileLoader, SelfExtensionIsACycle) {
    const auto self = dir.write("first/self.json", R"({"extends": "self"})");
    const auto errors = load_errors(load_config_file(self, search_path()));
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0].message, "extends cycle: " + self.string() + " -> " + self.string());
    const auto from_text =
        load_errors(load_config_text(R"({"extends": "self"})", kRequest, search_path()));
    ASSERT_EQ(from_text.size(), 1u);
    EXPECT_EQ(from_text[0].message, std::string("extends cycle: ") + kRequest + " -> " +
                                        self.string() + " -> " + self.string());
}

TEST_F(ProfileLoader, DepthIsLimited) {
    // p0 extends p1 ... extends pN: N extends to follow.
    const auto chain = [&](std::size_t extends_count) {
        for (std::size_t i = 0; i <= extends_count; ++i) {
            const std::string name = "d" + std::to_string(extends_count) + "-" + std::to_string(i);
            dir.write("first/" + name + ".json",
                      i == extends_count ? R"({"identity": {"hostname": "end"}})"
                                         : R"({"extends": "d)" + std::to_string(extends_count) +
                                               "-" + std::to_string(i + 1) + R"("})");
        }
        return load_config_file(
            dir.path() / "first" / ("d" + std::to_string(extends_count) + "-0.json"),
            search_path());
    };
    EXPECT_EQ(load_ok(chain(kMaxExtendsDepth)).config.identity.hostname, "end");
    const auto errors = load_errors(chain(kMaxExtendsDepth + 1));
    ASSERT_EQ(errors.size(), 1u);
    expect_contains(errors[0].message, "more than 16 nested extends: ");
    expect_contains(errors[0].message, "d17-0.json -> ");
    EXPECT_EQ(errors[0].source, (dir.path() / "first" / "d17-16.json").string());
}

TEST_F(ProfileLoader, MissingNameListsTheDirectoriesSearched) {
    const auto errors =
        load_errors(load_config_text(R"({"extends": "nope"})", kRequest, search_path()));
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0].source, kRequest);
    EXPECT_EQ(errors[0].pointer, "/extends");
    EXPECT_EQ(errors[0].message,
              "profile \"nope\" not found; searched: " + (dir.path() / "first").string() + ", " +
                  (dir.path() / "second").string());
    EXPECT_EQ(load_errors(load_config_text(R"({"extends": "nope"})", kRequest, {}))[0].message,
              "profile \"nope\" not found; searched: (no directories)");
}

TEST_F(ProfileLoader, InvalidExtendsValues) {
    for (const char* extends : {"Default", "", "-x", "_x", "a b", "a.b"}) {
        const auto errors = load_errors(
            load_config_text(Json{{"extends", extends}}.dump(), kRequest, search_path()));
        ASSERT_EQ(errors.size(), 1u) << extends;
        EXPECT_EQ(errors[0].pointer, "/extends");
        expect_contains(errors[0].message, "must be a profile name");
    }
    const auto errors = load_errors(load_config_text(R"({"extends": 5})", kRequest, {}));
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0].message, "must be a string, got 5");
    expect_contains(
        load_errors(load_config_text(R"({"extends": "/a\u0000.json"})", kRequest, {}))[0].message,
        "NUL");
}

TEST_F(ProfileLoader, ErrorsNameTheFileThatHasThem) {
    const auto base = dir.write("first/base.json", R"({"limits": {"processes": 0}})");
    const auto child = dir.write("child.json", R"({"extends": "base", "network": {"mode": "x"}})");
    const auto errors = load_errors(load_config_file(child, search_path()));
    ASSERT_EQ(errors.size(), 2u);
    EXPECT_EQ(errors[0].source, child.string());
    EXPECT_EQ(errors[0].pointer, "/network/mode");
    EXPECT_EQ(errors[1].source, base.string());
    EXPECT_EQ(errors[1].pointer, "/limits/processes");
}

TEST_F(ProfileLoader, ErrorsOfTheMergedDocumentNameTheWholeChain) {
    const auto base = dir.write("first/base.json", R"({"syscalls": {"deny": ["ptrace"]}})");
    const auto errors = load_errors(load_config_text(
        R"({"extends": "base", "syscalls": {"allow": ["ptrace"]}})", kRequest, search_path()));
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0].source, std::string(kRequest) + " (merged with " + base.string() + ")");
    EXPECT_EQ(errors[0].pointer, "/syscalls/deny/0");
}

TEST_F(ProfileLoader, InvalidJsonGivesThePathAndPosition) {
    const auto base = dir.write("first/base.json", "{\n  \"limits\": {,}\n}");
    const auto errors =
        load_errors(load_config_text(R"({"extends": "base"})", kRequest, search_path()));
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0].source, base.string());
    EXPECT_EQ(errors[0].pointer, "");
    expect_contains(errors[0].message, "invalid JSON: parse error at line 2, column 14");

    const auto text_errors = load_errors(load_config_text("{\"a\": ", kRequest, {}));
    ASSERT_EQ(text_errors.size(), 1u);
    EXPECT_EQ(text_errors[0].source, kRequest);
    expect_contains(text_errors[0].message, "invalid JSON: parse error at line 1, column 7");
}

TEST_F(ProfileLoader, UnreadableFiles) {
    const auto missing = dir.path() / "missing.json";
    auto errors = load_errors(load_config_file(missing, search_path()));
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(format(errors[0]), missing.string() + ": cannot read: No such file or directory");

    fs::create_directories(dir.path() / "first" / "adir.json");
    errors = load_errors(load_config_text(R"({"extends": "adir"})", kRequest, search_path()));
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0].message, "cannot read: not a regular file");

    const auto big = dir.write("big.json", "[" + std::string(kMaxProfileBytes, ' ') + "]");
    errors = load_errors(load_config_file(big, search_path()));
    ASSERT_EQ(errors.size(), 1u);
    expect_contains(errors[0].message, "larger than 1048576 bytes");
}

TEST_F(ProfileLoader, ProtocolTextMayNotUseRelativePaths) {
    dir.write("first/base.json", "{}");
    for (const char* extends : {"base.json", "../base.json", "first/base.json"}) {
        const auto errors = load_errors(
            load_config_text(Json{{"extends", extends}}.dump(), kRequest, search_path()));
        ASSERT_EQ(errors.size(), 1u);
        EXPECT_EQ(errors[0].source, kRequest);
        EXPECT_EQ(errors[0].pointer, "/extends");
        expect_contains(errors[0].message, "use a profile name or an absolute path");
    }
}

TEST(ProfileSearchPath, OrderIsEnvThenExecutableThenInstalledThenSource) {
    EXPECT_EQ(make_search_path("/a::/b:", fs::path("/opt/resin/bin/resin"), "/src/config").dirs,
              (std::vector<fs::path>{"/a", "/b", "/opt/resin/bin/config",
                                     "/opt/resin/share/resin/config", "/src/config"}));
    EXPECT_EQ(make_search_path("", std::nullopt, "/src/config").dirs,
              std::vector<fs::path>{"/src/config"});
}

TEST(ProfileSearchPath, DefaultReadsTheEnvironmentAndTheExecutable) {
    ASSERT_EQ(setenv("RESIN_PROFILE_PATH", "/x/profiles", 1), 0);
    const SearchPath search_path = default_search_path();
    unsetenv("RESIN_PROFILE_PATH");
    ASSERT_EQ(search_path.dirs.size(), 4u);
    EXPECT_EQ(search_path.dirs[0], "/x/profiles");
    EXPECT_EQ(search_path.dirs[1], fs::read_symlink("/proc/self/exe").parent_path() / "config");
}

}  // namespace
}  // namespace resin::sandbox
