// The planner's decisions as pure functions of a config and synthetic host capabilities: what a
// host without cgroups, with v1, hybrid or v2 cgroups, with each Landlock ABI, unprivileged or
// without user namespaces enforces, falls back to, or refuses (fail closed). No sandbox is started,
// so hosts this machine is not are covered too.
#include "sandbox/plan.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "config/reserved_ids.hpp"
#include "sandbox/enforcement.hpp"
#include "sandbox/host_probe.hpp"

namespace resin::sandbox {
namespace {

enum class Cgroups { none, v1, hybrid, v2, v2_without_cpu };

HostCapabilities host_with(Cgroups cgroups, int landlock_abi = 6) {
    HostCapabilities host;
    host.euid = 0;
    host.egid = 0;
    host.privileged = true;
    host.user_namespaces = true;
    host.landlock_abi = landlock_abi;
    host.seccomp = true;
    const auto version = cgroups == Cgroups::none     ? CgroupVersion::none
                         : cgroups == Cgroups::v1     ? CgroupVersion::v1
                         : cgroups == Cgroups::hybrid ? CgroupVersion::hybrid
                                                      : CgroupVersion::v2;
    host.cgroup_layout.version = version;
    host.cgroups.version = version;
    if (cgroups == Cgroups::none) {
        host.cgroups.why_not = "no cgroup hierarchy is mounted";
    } else {
        host.cgroups.memory = true;
        host.cgroups.cpu = cgroups != Cgroups::v2_without_cpu;
        host.cgroups.cpu_time = true;
        host.cgroups.pids = true;
        host.cgroups.kill = true;
    }
    return host;
}

HostCapabilities unprivileged(HostCapabilities host) {
    host.euid = 1000;
    host.egid = 1000;
    host.privileged = false;
    host.cgroups = CgroupSupport{};
    host.cgroups.why_not = "resin's cgroup is not delegated to uid 1000";
    host.socket_bpf_unavailable = "attaching cgroup BPF programs needs CAP_BPF";
    return host;
}

HostCapabilities without_seccomp() {
    auto host = host_with(Cgroups::v2);
    host.seccomp = false;
    return host;
}

Config with(std::function<void(Config&)> change) {
    Config config;
    change(config);
    return config;
}

std::string mechanism_of(const Config& config, const HostCapabilities& host,
                         const std::string& key) {
    for (const auto& [name, mechanism] : enforcement_of(config, host)) {
        if (name == key) {
            return mechanism;
        }
    }
    return "(not set)";
}

struct Refusal {
    ErrorKind kind;
    std::string pointer;
};

struct Case {
    std::string name;
    HostCapabilities host;
    Config config;
    std::optional<Refusal> refused;               // nullopt: a plan is made
    std::function<void(const Plan&)> check_plan;  // what the plan decided
};

std::vector<Case> cases() {
    const Config limited = with([](Config& c) {
        c.limits.memory_bytes = 64u << 20;
        c.limits.cpu_cores = 1.5;
        c.limits.cpu_time_ms = 1500;
        c.limits.processes = 10;
    });
    auto own_cgroup_only = [](const Plan& plan) {
        EXPECT_TRUE(plan.cgroup().own);
        EXPECT_FALSE(plan.rlimits().address_space);
        EXPECT_FALSE(plan.rlimits().cpu_seconds);
        EXPECT_FALSE(plan.rlimits().processes);
    };
    std::vector<Case> all = {
        {"no_user_namespaces",
         [] {
             auto host = host_with(Cgroups::v2);
             host.user_namespaces = false;
             return host;
         }(),
         Config{}, Refusal{ErrorKind::unsupported_config, ""}, nullptr},
        {"unprivileged_without_user_namespaces",
         [] {
             auto host = unprivileged(host_with(Cgroups::none));
             host.user_namespaces = false;
             return host;
         }(),
         Config{}, Refusal{ErrorKind::unsupported_config, ""}, nullptr},
        {"v1_limits_in_the_cgroup", host_with(Cgroups::v1), limited, std::nullopt, own_cgroup_only},
        {"hybrid_limits_in_the_cgroup", host_with(Cgroups::hybrid), limited, std::nullopt,
         own_cgroup_only},
        {"v2_limits_in_the_cgroup", host_with(Cgroups::v2), limited, std::nullopt, own_cgroup_only},
        {"no_cgroups_refuses_cpu_cores", host_with(Cgroups::none), limited,
         Refusal{ErrorKind::unsupported_config, "/limits/cpu_cores"}, nullptr},
        {"v2_without_cpu_controller_refuses_cpu_cores", host_with(Cgroups::v2_without_cpu), limited,
         Refusal{ErrorKind::unsupported_config, "/limits/cpu_cores"}, nullptr},
        {"no_cgroups_falls_back_to_rlimits", host_with(Cgroups::none), with([](Config& c) {
             c.limits.memory_bytes = 64u << 20;
             c.limits.cpu_time_ms = 1500;
             c.limits.processes = 10;
         }),
         std::nullopt,
         [](const Plan& plan) {
             EXPECT_FALSE(plan.cgroup().own);
             EXPECT_EQ(plan.rlimits().address_space, std::optional<std::uint64_t>(64u << 20));
             EXPECT_EQ(plan.rlimits().cpu_seconds, std::optional<std::uint64_t>(2));  // rounded up
             EXPECT_EQ(plan.rlimits().processes, std::optional<std::uint64_t>(11));   // + init
         }},
        {"no_cgroups_no_limits", host_with(Cgroups::none), Config{}, std::nullopt,
         [](const Plan& plan) {
             EXPECT_FALSE(plan.cgroup().own);
             EXPECT_FALSE(plan.rlimits().address_space);
             EXPECT_FALSE(plan.rlimits().cpu_seconds);
             EXPECT_FALSE(plan.rlimits().processes);
         }},
        {"unprivileged_maps_the_caller", unprivileged(host_with(Cgroups::none)), Config{},
         std::nullopt,
         [](const Plan& plan) {
             EXPECT_EQ(plan.identity().uid.inside, 65534u);
             EXPECT_EQ(plan.identity().uid.outside, 1000u);
             EXPECT_EQ(plan.identity().gid.outside, 1000u);
             EXPECT_FALSE(plan.identity().drop_supplementary_groups);
         }},
        {"root_inside_is_never_root_outside", host_with(Cgroups::v1), with([](Config& c) {
             c.identity.uid = 0;
             c.identity.gid = 1234;
         }),
         std::nullopt,
         [](const Plan& plan) {
             EXPECT_EQ(plan.identity().uid.inside, 0u);
             EXPECT_EQ(plan.identity().uid.outside, 65534u);
             EXPECT_EQ(plan.identity().gid.inside, 1234u);
             EXPECT_EQ(plan.identity().gid.outside, 1234u);
             EXPECT_TRUE(plan.identity().drop_supplementary_groups);
         }},
        {"no_seccomp_refuses_the_default_policy", without_seccomp(), Config{},
         Refusal{ErrorKind::unsupported_config, "/syscalls/policy"}, nullptr},
        {"no_seccomp_policy_none", without_seccomp(),
         with([](Config& c) { c.syscalls.policy = SyscallPolicy::none; }), std::nullopt,
         [](const Plan& plan) { EXPECT_TRUE(plan.seccomp().empty()); }},
        {"no_seccomp_refuses_a_deny_list", without_seccomp(), with([](Config& c) {
             c.syscalls.policy = SyscallPolicy::none;
             c.syscalls.deny = {"acct"};
         }),
         Refusal{ErrorKind::unsupported_config, "/syscalls/policy"}, nullptr},
        {"unprivileged_refuses_a_port_allowlist", unprivileged(host_with(Cgroups::none)),
         with([](Config& c) { c.network.tcp_connect = std::vector<std::uint16_t>{443}; }),
         Refusal{ErrorKind::unsupported_config, "/network/tcp_connect"}, nullptr},
        {"no_seccomp_refuses_udp_bind", without_seccomp(), with([](Config& c) {
             c.syscalls.policy = SyscallPolicy::none;
             c.network.udp_bind = std::vector<std::uint16_t>{53};
         }),
         Refusal{ErrorKind::unsupported_config, "/network/udp_bind"}, nullptr},
        {"port_allowlist_adds_the_socket_family_filter", host_with(Cgroups::hybrid),
         with([](Config& c) { c.network.tcp_connect = std::vector<std::uint16_t>{443}; }),
         std::nullopt, [](const Plan& plan) { EXPECT_EQ(plan.seccomp().size(), 2u); }},
        {"default_policy_one_filter", host_with(Cgroups::hybrid), Config{}, std::nullopt,
         [](const Plan& plan) { EXPECT_EQ(plan.seccomp().size(), 1u); }},
        {"piped_core_dumps",
         [] {
             auto host = host_with(Cgroups::v2);
             host.core_dumps_piped = true;
             return host;
         }(),
         Config{}, std::nullopt, [](const Plan& plan) { EXPECT_EQ(plan.rlimits().core, 1u); }},
        {"core_dumps_off", host_with(Cgroups::v2), Config{}, std::nullopt,
         [](const Plan& plan) { EXPECT_EQ(plan.rlimits().core, 0u); }},
        {"network_host_shares_the_namespace", host_with(Cgroups::v2),
         with([](Config& c) { c.network.mode = NetworkMode::host; }), std::nullopt,
         [](const Plan& plan) { EXPECT_FALSE(plan.network().new_namespace); }},
        {"network_loopback_has_its_own", host_with(Cgroups::v2),
         with([](Config& c) { c.network.mode = NetworkMode::loopback; }), std::nullopt,
         [](const Plan& plan) { EXPECT_TRUE(plan.network().new_namespace); }},
        {"mount_inside_proc_refused", host_with(Cgroups::v2), with([](Config& c) {
             c.filesystem.mounts = {BindMount{"/proc/sys", "/etc"}};
         }),
         Refusal{ErrorKind::invalid_config, "/filesystem/mounts/0/path"}, nullptr},
        {"tmpfs_inside_dev_refused", host_with(Cgroups::v2), with([](Config& c) {
             c.filesystem.tmpfs = {TmpfsMount{"/dev/shm", 1 << 20, std::nullopt}};
         }),
         Refusal{ErrorKind::invalid_config, "/filesystem/tmpfs/0/path"}, nullptr},
        {"missing_mount_source_refused", host_with(Cgroups::v2), with([](Config& c) {
             c.filesystem.mounts = {BindMount{"/usr", "/usr"},
                                    BindMount{"/data", "/nonexistent/resin-plan-test"}};
         }),
         Refusal{ErrorKind::invalid_config, "/filesystem/mounts/1/source"}, nullptr},
        {"missing_optional_mount_skipped", host_with(Cgroups::v2), with([](Config& c) {
             c.filesystem.mounts = {
                 BindMount{"/data", "/nonexistent/resin-plan-test", Access::rw, true},
                 BindMount{"/usr/share", "/usr/share"}, BindMount{"/usr", "/usr"}};
             c.filesystem.tmpfs = {TmpfsMount{"/tmp", 1 << 20, std::nullopt}};
         }),
         std::nullopt,
         [](const Plan& plan) {
             ASSERT_EQ(plan.mounts().steps.size(), 3u);
             // Parents before children, whatever the config's order.
             EXPECT_EQ(plan.mounts().steps[0].target, "/usr");
             EXPECT_EQ(plan.mounts().steps[1].target, "/tmp");
             EXPECT_EQ(plan.mounts().steps[1].kind, MountStep::Kind::tmpfs);
             EXPECT_EQ(plan.mounts().steps[1].inodes, (1u << 20) / kTmpfsBytesPerInode);
             EXPECT_EQ(plan.mounts().steps[2].target, "/usr/share");
             EXPECT_EQ(plan.mounts().steps[2].pointer, "/filesystem/mounts/1");
             EXPECT_TRUE(plan.mounts().steps[2].read_only);
         }},
    };
    return all;
}

TEST(MakePlan, DecidesOrRefusesOnEachHost) {
    for (const auto& c : cases()) {
        SCOPED_TRACE(c.name);
        const auto checked = check_enforceable(c.config, c.host);
        const auto plan = make_plan(c.config, c.host);
        if (c.refused) {
            ASSERT_FALSE(plan.has_value());
            EXPECT_EQ(plan.error().kind, c.refused->kind) << plan.error().message;
            EXPECT_EQ(plan.error().pointer, c.refused->pointer) << plan.error().message;
            if (c.refused->kind == ErrorKind::unsupported_config) {
                ASSERT_FALSE(checked.has_value());
                EXPECT_EQ(checked.error().pointer, c.refused->pointer);
            }
        } else {
            EXPECT_TRUE(checked.has_value()) << checked.error().message;
            ASSERT_TRUE(plan.has_value()) << plan.error().message;
            c.check_plan(plan.value());
        }
    }
}

// Each mechanism's part holds the decision, not the config: what Landlock handles per ABI.
TEST(MakePlan, LandlockPartPerAbi) {
    const Config ports = with([](Config& c) {
        c.network.tcp_connect = std::vector<std::uint16_t>{443};
        c.filesystem.mounts = {BindMount{"/usr", "/usr"}};
        c.filesystem.tmpfs = {TmpfsMount{"/tmp", 1 << 20, std::nullopt}};
    });
    for (const int abi : {0, 1, 3, 4, 6}) {
        SCOPED_TRACE("Landlock ABI " + std::to_string(abi));
        const auto plan = make_plan(ports, host_with(Cgroups::v2, abi));
        ASSERT_TRUE(plan.has_value()) << plan.error().message;
        const LandlockPart& landlock = plan.value().landlock();
        EXPECT_EQ(landlock.abi, abi);
        EXPECT_EQ(landlock.paths.size(), abi > 0 ? 2u : 0u);
        EXPECT_EQ(landlock.restrict_tcp, abi >= 4);
        EXPECT_EQ(landlock.tcp_connect,
                  abi >= 4 ? std::vector<std::uint16_t>{443} : std::vector<std::uint16_t>{});
        EXPECT_TRUE(landlock.tcp_bind.empty());  // absent under an allowlist: empty
        EXPECT_EQ(landlock.scope_signals, abi >= 6);
        EXPECT_EQ(landlock.scope_abstract_unix_sockets, abi >= 6);
    }
    const auto host_network = make_plan(with([](Config& c) { c.network.mode = NetworkMode::host; }),
                                        host_with(Cgroups::v2, 6));
    ASSERT_TRUE(host_network.has_value());
    EXPECT_TRUE(host_network.value().landlock().scope_signals);
    EXPECT_FALSE(host_network.value().landlock().scope_abstract_unix_sockets);
}

TEST(MakePlan, SupervisionPartFollowsTheCgroup) {
    const Config limited = with([](Config& c) {
        c.limits.cpu_time_ms = 2500;
        c.limits.cpu_cores = 1.5;
        c.limits.wall_time_ms = 9000;
    });
    const auto with_cgroup = make_plan(limited, host_with(Cgroups::v2));
    ASSERT_TRUE(with_cgroup.has_value());
    const SupervisionPart& polled = with_cgroup.value().supervision();
    EXPECT_EQ(polled.wall_time_ms, std::optional<std::uint64_t>(9000));
    EXPECT_EQ(polled.cpu_time_limit_us, std::optional<std::uint64_t>(2500000));
    EXPECT_GE(polled.cpu_parallelism, 1u);
    EXPECT_LE(polled.cpu_parallelism, 2u);  // ceil(1.5 cores)
    EXPECT_FALSE(polled.rlimit_cpu_ns);

    auto no_cpu = limited;
    no_cpu.limits.cpu_cores.reset();
    const auto without_cgroup = make_plan(no_cpu, host_with(Cgroups::none));
    ASSERT_TRUE(without_cgroup.has_value());
    const SupervisionPart& rlimited = without_cgroup.value().supervision();
    EXPECT_FALSE(rlimited.cpu_time_limit_us);
    EXPECT_EQ(rlimited.rlimit_cpu_ns, std::optional<std::uint64_t>(3000000000u));
}

TEST(MakePlan, CapabilitiesNetworkAndCommandParts) {
    const auto plan = make_plan(with([](Config& c) {
                                    c.capabilities = {"CAP_NET_RAW", "CAP_CHOWN"};
                                    c.network.mode = NetworkMode::loopback;
                                    c.filesystem.cwd = "/tmp";
                                    c.env.set = {{"A", "1"}};
                                    c.identity.hostname = "box";
                                }),
                                host_with(Cgroups::hybrid));
    ASSERT_TRUE(plan.has_value()) << plan.error().message;
    EXPECT_EQ(plan.value().capabilities().keep.size(), 2u);
    EXPECT_TRUE(plan.value().network().new_namespace);
    EXPECT_TRUE(plan.value().network().loopback_up);
    EXPECT_FALSE(plan.value().network().may_use_pool);  // a kept CAP_NET_* needs its own
    EXPECT_FALSE(plan.value().network().port_allowlist);
    EXPECT_EQ(plan.value().command().cwd, "/tmp");
    EXPECT_EQ(plan.value().identity().hostname, "box");
    const auto& environment = plan.value().command().environment;
    EXPECT_NE(std::find(environment.begin(), environment.end(), "A=1"), environment.end());
    EXPECT_NE(
        std::find(environment.begin(), environment.end(), std::string("PATH=") + kDefaultPath),
        environment.end());

    const auto plain = make_plan(Config{}, host_with(Cgroups::hybrid));
    ASSERT_TRUE(plain.has_value());
    EXPECT_TRUE(plain.value().capabilities().keep.empty());
    EXPECT_TRUE(plain.value().network().may_use_pool);
    EXPECT_FALSE(plain.value().network().loopback_up);
}

TEST(MakePlan, RefusesThePortAllowlistWithTheHostsReason) {
    const auto host = unprivileged(host_with(Cgroups::none));
    const auto plan = make_plan(
        with([](Config& c) { c.network.udp_connect = std::vector<std::uint16_t>{53}; }), host);
    ASSERT_FALSE(plan.has_value());
    EXPECT_NE(plan.error().message.find("CAP_BPF"), std::string::npos) << plan.error().message;
}

// A Config built in code skips the parser's refusal; the plan must not run a sandbox as the uid or
// gid that owns another sandbox's namespaces, on either host.
TEST(MakePlan, RefusesAReservedIdentityBuiltInCode) {
    for (const auto& host : {host_with(Cgroups::v2), unprivileged(host_with(Cgroups::none))}) {
        SCOPED_TRACE(host.privileged ? "privileged" : "unprivileged");
        for (const std::uint32_t id :
             {kReservedIdFirst, kReservedIdFirst + 4242, kReservedIdLast}) {
            SCOPED_TRACE(id);
            const auto as_uid = make_plan(with([id](Config& c) { c.identity.uid = id; }), host);
            ASSERT_FALSE(as_uid.has_value());
            EXPECT_EQ(as_uid.error().kind, ErrorKind::invalid_config);
            EXPECT_EQ(as_uid.error().pointer, "/identity/uid");
            EXPECT_NE(
                as_uid.error().message.find("reserves for the owners of sandboxes' namespaces"),
                std::string::npos)
                << as_uid.error().message;
            const auto as_gid = make_plan(with([id](Config& c) { c.identity.gid = id; }), host);
            ASSERT_FALSE(as_gid.has_value());
            EXPECT_EQ(as_gid.error().kind, ErrorKind::invalid_config);
            EXPECT_EQ(as_gid.error().pointer, "/identity/gid");
        }
        for (const std::uint32_t id : {kReservedIdFirst - 1, kReservedIdLast + 1}) {
            SCOPED_TRACE(id);
            const auto outside = make_plan(with([id](Config& c) {
                                               c.identity.uid = id;
                                               c.identity.gid = id;
                                           }),
                                           host);
            EXPECT_TRUE(outside.has_value()) << outside.error().message;
        }
    }
}

// What enforces each key on each host, as --check-config and the feature list say.
TEST(CheckEnforceable, MechanismPerLandlockAbi) {
    const Config ports =
        with([](Config& c) { c.network.tcp_connect = std::vector<std::uint16_t>{443}; });
    for (const int abi : {0, 1, 3, 4, 6}) {
        SCOPED_TRACE("Landlock ABI " + std::to_string(abi));
        const auto host = host_with(Cgroups::hybrid, abi);
        ASSERT_TRUE(check_enforceable(ports, host).has_value());
        const std::string filesystem = mechanism_of(ports, host, "filesystem");
        const std::string tcp = mechanism_of(ports, host, "network.tcp_connect");
        const std::string layer = "landlock_abi_" + std::to_string(abi);
        EXPECT_EQ(filesystem.find(layer) != std::string::npos, abi > 0) << filesystem;
        // Landlock restricts TCP ports from ABI 4 on; before, the cgroup programs alone.
        EXPECT_EQ(tcp.find(layer) != std::string::npos, abi >= 4) << tcp;
        EXPECT_NE(tcp.find("cgroup_bpf"), std::string::npos) << tcp;
        ASSERT_TRUE(make_plan(ports, host).has_value());
    }
}

TEST(CheckEnforceable, MechanismPerCgroupVersion) {
    const Config limited = with([](Config& c) {
        c.limits.memory_bytes = 1u << 30;
        c.limits.cpu_time_ms = 1000;
        c.limits.processes = 5;
    });
    struct Row {
        Cgroups cgroups;
        const char* memory;
        const char* cpu_time;
        const char* processes;
    };
    const Row rows[] = {
        {Cgroups::none, "rlimit_as(per_process,virtual_memory)",
         "rlimit_cpu(per_process,whole_seconds)", "rlimit_nproc(per_user_namespace)"},
        {Cgroups::v1, "cgroup_v1", "cgroup_v1", "cgroup_v1"},
        {Cgroups::hybrid, "cgroup_v1", "cgroup_v1", "cgroup_v1"},
        {Cgroups::v2, "cgroup_v2", "cgroup_v2", "cgroup_v2"},
    };
    for (const auto& row : rows) {
        SCOPED_TRACE(static_cast<int>(row.cgroups));
        const auto host = host_with(row.cgroups);
        EXPECT_EQ(mechanism_of(limited, host, "limits.memory_bytes"), row.memory);
        EXPECT_EQ(mechanism_of(limited, host, "limits.cpu_time_ms"), row.cpu_time);
        EXPECT_EQ(mechanism_of(limited, host, "limits.processes"), row.processes);
        EXPECT_EQ(mechanism_of(limited, host, "limits.cpu_cores"), "(not set)");
    }
}

TEST(CheckEnforceable, FeatureListWithoutUserNamespaces) {
    auto host = host_with(Cgroups::v2);
    host.user_namespaces = false;
    for (const auto& [key, mechanism] : enforcement_features(host)) {
        if (key.rfind("cgroup.", 0) != 0) {
            EXPECT_EQ(mechanism, kUnavailable) << key;
        }
    }
}

}  // namespace
}  // namespace resin::sandbox
