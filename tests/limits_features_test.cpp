// What resin advertises for each limit (enforcement_features, behind `resin --features` and the
// HelloReply) names the mechanism that really enforces it here: a cgroup as root, the documented
// rlimit fallbacks (or a refusal) without usable cgroups (docs/limits.md).
#include <gtest/gtest.h>

#include <map>

#include "sandbox/enforcement.hpp"
#include "sandbox/host_probe.hpp"
#include "support/sandbox_run.hpp"

namespace resin::test {
namespace {

std::map<std::string, std::string> limit_features(const sandbox::HostCapabilities& host) {
    std::map<std::string, std::string> limits;
    for (const auto& [key, mechanism] : sandbox::enforcement_features(host)) {
        if (key.rfind("limits.", 0) == 0) {
            limits[key] = mechanism;
        }
    }
    return limits;
}

TEST(LimitFeatures, CgroupsAreUsableExactlyAsRoot) {
    const sandbox::HostCapabilities host = sandbox::probe_host();
    // As root, resin may create cgroups under its own on a v1 or hybrid host, and on a v2 host when
    // its cgroup is the root or delegated; unprivileged it may not.
    EXPECT_EQ(host.cgroups.any(), privileged()) << host.cgroups.why_not;
    EXPECT_EQ(host.cgroups.why_not.empty(), host.cgroups.any());
}

TEST(LimitFeatures, NameTheMechanismOfEachLimit) {
    const sandbox::HostCapabilities host = sandbox::probe_host();
    const std::string cgroup =
        host.cgroup_layout.version == sandbox::CgroupVersion::v2 ? "cgroup_v2" : "cgroup_v1";
    const std::map<std::string, std::string> with_cgroups = {
        {"limits.memory_bytes", cgroup},
        {"limits.cpu_cores", cgroup},
        {"limits.cpu_time_ms", cgroup},
        {"limits.processes", cgroup},
        {"limits.wall_time_ms", "host_timer"},
        {"limits.open_files", "rlimit_nofile"},
        {"limits.file_size_bytes", "rlimit_fsize"},
    };
    const std::map<std::string, std::string> without_cgroups = {
        {"limits.memory_bytes", "rlimit_as(per_process,virtual_memory)"},
        {"limits.cpu_cores", "unavailable"},
        {"limits.cpu_time_ms", "rlimit_cpu(per_process,whole_seconds)"},
        {"limits.processes", "rlimit_nproc(per_user_namespace)"},
        {"limits.wall_time_ms", "host_timer"},
        {"limits.open_files", "rlimit_nofile"},
        {"limits.file_size_bytes", "rlimit_fsize"},
    };
    EXPECT_EQ(limit_features(host), host.cgroups.any() ? with_cgroups : without_cgroups);

    // The same host with its cgroups unusable advertises the fallbacks.
    sandbox::HostCapabilities no_cgroups = host;
    no_cgroups.cgroups = sandbox::CgroupSupport{};
    EXPECT_EQ(limit_features(no_cgroups), without_cgroups);
}

}  // namespace
}  // namespace resin::test
