// The profiles in config/, loaded as resin loads them: default (for untrusted commands) is finite
// in every resource a command could exhaust the host with, the profiles extending it stay finite,
// and trusted has no limits.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <variant>

#include "config/profile_loader.hpp"

namespace resin::sandbox {
namespace {

Config shipped(const std::string& name) {
    const std::string dir = std::string(RESIN_SOURCE_DIR) + "/config";
    auto loaded =
        load_config_file(dir + "/" + name + ".json", make_search_path("", std::nullopt, dir));
    if (const auto* errors = std::get_if<std::vector<ConfigError>>(&loaded)) {
        ADD_FAILURE() << name << ".json: " << errors->front().message;
        return {};
    }
    return std::get<LoadedConfig>(loaded).config;
}

bool finite(const std::optional<std::uint64_t>& limit) {
    return limit && *limit > 0 && *limit < std::numeric_limits<std::uint64_t>::max();
}

void expect_finite_limits(const std::string& name) {
    const Limits limits = shipped(name).limits;
    EXPECT_TRUE(finite(limits.memory_bytes)) << name << ": memory_bytes";
    EXPECT_TRUE(finite(limits.processes)) << name << ": processes";
    EXPECT_TRUE(finite(limits.wall_time_ms)) << name << ": wall_time_ms";
    EXPECT_TRUE(finite(limits.cpu_time_ms)) << name << ": cpu_time_ms";
}

TEST(ShippedProfiles, DefaultLimitsMemoryProcessesWallAndCpuTime) {
    expect_finite_limits("default");
    const Limits limits = shipped("default").limits;
    // What a typical compiler, interpreter or converter run fits in (README.md, docs/config.md).
    EXPECT_EQ(limits.memory_bytes, 1024u * 1024 * 1024);
    EXPECT_EQ(limits.processes, 256u);
    EXPECT_EQ(limits.wall_time_ms, 10u * 60 * 1000);
    EXPECT_EQ(limits.cpu_time_ms, 10u * 60 * 1000);
}

TEST(ShippedProfiles, ProfilesExtendingDefaultKeepFiniteLimitsNoSmaller) {
    const Limits base = shipped("default").limits;
    for (const char* name : {"build", "network-client"}) {
        expect_finite_limits(name);
        const Limits limits = shipped(name).limits;
        EXPECT_GE(*limits.memory_bytes, *base.memory_bytes) << name;
        EXPECT_GE(*limits.processes, *base.processes) << name;
        EXPECT_GE(*limits.wall_time_ms, *base.wall_time_ms) << name;
        EXPECT_GE(*limits.cpu_time_ms, *base.cpu_time_ms) << name;
    }
    // build's /work and /tmp tmpfs count against its memory limit: they must fit in it.
    const Config build = shipped("build");
    std::uint64_t tmpfs_bytes = 0;
    for (const auto& tmpfs : build.filesystem.tmpfs) {
        tmpfs_bytes += tmpfs.size_bytes;
    }
    EXPECT_LT(tmpfs_bytes, *build.limits.memory_bytes);
}

TEST(ShippedProfiles, TrustedHasNoLimits) {
    EXPECT_EQ(shipped("trusted").limits, Limits{});
}

}  // namespace
}  // namespace resin::sandbox
