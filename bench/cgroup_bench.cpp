// What a sandbox's own cgroup costs (docs/performance.md, "Limits: cgroup cost"), measured in one
// run, the variants interleaved round by round so a noisy host slows them alike:
//   (a) spawn-to-exit latency of /bin/true in a sandbox (Sandbox::launch until reap() returns)
//       planned for this host (with its cgroups), with its cgroups and every cgroup limit set, and
//       planned as if the host had no usable cgroups (the same plan otherwise); each after 50 ms
//       without a spawn, and one with cgroups right after another;
//   (b) of that, reap(), which reads the cgroup's usage, kills what is left and removes it;
//   (c) a bare SandboxCgroup: creating it (with every limit), a process moving itself in (as the
//       sandbox's init does on v1; v2 clones it in), and destroying it after the process died (the
//       destructor's kill and rmdir in each hierarchy). The move is timed right after the spawns
//       and after 50 ms without any: moving *another* process takes the kernel's
//       cgroup_threadgroup_rwsem for writing, which waits for an RCU grace period unless another
//       move did so moments before; a task moving itself does not take it.
// Usage: cgroup_bench [rounds]   (as root: unprivileged there is no cgroup to measure)
#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "sandbox/cgroup_files.hpp"
#include "sandbox/host_probe.hpp"
#include "sandbox/plan.hpp"
#include "sandbox/sandbox.hpp"

namespace {

using namespace resin;
using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point start) {
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

struct Samples {
    std::vector<double> ms;
    double quantile(double q) const {
        std::vector<double> sorted = ms;
        std::sort(sorted.begin(), sorted.end());
        return sorted[static_cast<std::size_t>(q * static_cast<double>(sorted.size() - 1))];
    }
    double median() const { return quantile(0.5); }
    double mean() const {
        double sum = 0;
        for (double value : ms) {
            sum += value;
        }
        return sum / static_cast<double>(ms.size());
    }
};

sandbox::Plan plan_for(const sandbox::Config& config, const sandbox::HostCapabilities& host) {
    auto plan = sandbox::make_plan(config, host);
    if (!plan) {
        throw std::runtime_error("planning: " + plan.error().message);
    }
    return std::move(plan).value();
}

// /bin/true's needs, read-only, and no syscall filter: the variants differ in their cgroups only.
sandbox::Config true_config() {
    sandbox::Config config;
    for (const char* path : {"/usr", "/bin", "/lib", "/lib64"}) {
        sandbox::BindMount mount;
        mount.path = path;
        mount.optional = true;
        config.filesystem.mounts.push_back(mount);
    }
    config.syscalls.policy = sandbox::SyscallPolicy::none;
    return config;
}

sandbox::Limits every_cgroup_limit() {
    sandbox::Limits limits;
    limits.memory_bytes = 256u << 20;
    limits.processes = 64;
    limits.cpu_cores = 1.0;
    limits.cpu_time_ms = 10000;
    return limits;
}

// One /bin/true from launch() until reap() returns; `reap_ms` gets reap()'s share.
double spawn_to_exit(const sandbox::Plan& plan, int null, double& reap_ms) {
    const auto start = Clock::now();
    auto launched = sandbox::Sandbox::launch(plan, {"/bin/true", {}}, {null, null, null});
    if (!launched) {
        throw std::runtime_error("launching: " + launched.error().message);
    }
    auto& sandbox = *launched.value();
    pollfd exit{sandbox.exit_fd(), POLLIN, 0};
    while (::poll(&exit, 1, -1) != 1) {
    }
    const auto reap_start = Clock::now();
    const sandbox::ExitReport report = sandbox.reap();
    reap_ms = ms_since(reap_start);
    const double total = ms_since(start);
    if (report.reason != sandbox::ExitReason::exited || report.exit_code != 0) {
        throw std::runtime_error("/bin/true did not exit 0");
    }
    return total;
}

// A SandboxCgroup with every limit, a process that lives and dies in it, and its destruction. On v1
// the process moves itself in, as the sandbox's init does (`attach_ms`: how long that took it); on
// v2 clone3 creates it inside (no move: `attach_ms` is 0).
void cgroup_lifecycle(const sandbox::HostCapabilities& host, std::chrono::milliseconds idle,
                      double& create_ms, double& attach_ms, double& destroy_ms) {
    const sandbox::Limits limits = every_cgroup_limit();
    auto start = Clock::now();
    auto cgroup =
        sandbox::create_sandbox_cgroup(host.cgroup_layout, host.cgroups,
                                       {limits.memory_bytes, limits.cpu_cores, limits.processes});
    create_ms = ms_since(start);
    if (!cgroup) {
        throw std::runtime_error("creating the cgroup: " + cgroup.error().message);
    }
    const std::vector<std::string> join_files = cgroup.value()->self_join_files();
    int result[2];
    if (::pipe(result) != 0) {
        throw std::runtime_error("pipe");
    }
    std::this_thread::sleep_for(idle);
    clone_args args{};
    args.exit_signal = SIGCHLD;
    if (cgroup.value()->clone_into() >= 0) {
        args.flags = CLONE_INTO_CGROUP;
        args.cgroup = static_cast<std::uint64_t>(cgroup.value()->clone_into());
    }
    const long child = ::syscall(SYS_clone3, &args, sizeof args);
    if (child == 0) {
        const auto joining = Clock::now();
        const char* failed = "";
        const int err = sandbox::join_cgroups_self(join_files, &failed);
        const double joined_ms = ms_since(joining);
        ::_exit(err == 0 && ::write(result[1], &joined_ms, sizeof joined_ms) ==
                                static_cast<ssize_t>(sizeof joined_ms)
                    ? 0
                    : 1);
    }
    ::close(result[1]);
    if (child < 0 || ::read(result[0], &attach_ms, sizeof attach_ms) != sizeof attach_ms) {
        throw std::runtime_error("a process could not join the cgroup");
    }
    ::close(result[0]);
    while (::waitpid(static_cast<pid_t>(child), nullptr, 0) < 0) {
    }
    start = Clock::now();
    cgroup.value().reset();
    destroy_ms = ms_since(start);
}

void print_row(const char* name, const Samples& samples) {
    std::printf("  %-50s %8.3f %8.3f %8.3f %8.3f\n", name, samples.median(), samples.quantile(0.1),
                samples.quantile(0.9), samples.mean());
}

}  // namespace

int main(int argc, char** argv) {
    const int rounds = argc > 1 ? std::atoi(argv[1]) : 300;
    const sandbox::HostCapabilities host = sandbox::probe_host();
    if (!host.cgroups.any()) {
        std::fprintf(stderr, "no usable cgroups here (%s): run as root\n",
                     host.cgroups.why_not.c_str());
        return 1;
    }
    sandbox::HostCapabilities without_cgroups = host;
    without_cgroups.cgroups = sandbox::CgroupSupport{};

    const sandbox::Config config = true_config();
    sandbox::Config limited_config = config;
    limited_config.limits = every_cgroup_limit();
    const sandbox::Plan with_cgroup = plan_for(config, host);
    const sandbox::Plan with_limits = plan_for(limited_config, host);
    const sandbox::Plan without_cgroup = plan_for(config, without_cgroups);
    if (!with_cgroup.cgroup().own || without_cgroup.cgroup().own) {
        throw std::runtime_error("the plans do not differ in own_cgroup");
    }
    const int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);

    // Each spawn but the back-to-back one follows kQuiet without any cgroup move, as a launch on a
    // resin that launched nothing just before does.
    constexpr std::chrono::milliseconds kQuiet{50};
    Samples plain, cgroup, limits, back_to_back, reap_plain, reap_cgroup, reap_limits;
    Samples create, attach, attach_quiet, destroy, cost_quiet, cost_back_to_back;
    double reap_ms = 0;
    double unused = 0;
    for (int round = -10; round < rounds; ++round) {  // the first ten warm up, uncounted
        const bool counted = round >= 0;
        auto record = [counted](Samples& samples, double ms) {
            if (counted) {
                samples.ms.push_back(ms);
            }
        };
        std::this_thread::sleep_for(kQuiet);
        const double plain_ms = spawn_to_exit(without_cgroup, null, reap_ms);
        record(plain, plain_ms);
        record(reap_plain, reap_ms);
        std::this_thread::sleep_for(kQuiet);
        const double cgroup_ms = spawn_to_exit(with_cgroup, null, reap_ms);
        record(cgroup, cgroup_ms);
        record(reap_cgroup, reap_ms);
        record(cost_quiet, cgroup_ms - plain_ms);
        const double back_to_back_ms = spawn_to_exit(with_cgroup, null, unused);
        record(back_to_back, back_to_back_ms);
        record(cost_back_to_back, back_to_back_ms - plain_ms);
        std::this_thread::sleep_for(kQuiet);
        record(limits, spawn_to_exit(with_limits, null, reap_ms));
        record(reap_limits, reap_ms);
        double create_ms = 0;
        double attach_ms = 0;
        double destroy_ms = 0;
        cgroup_lifecycle(host, std::chrono::milliseconds(0), create_ms, attach_ms, destroy_ms);
        record(create, create_ms);
        record(attach, attach_ms);
        record(destroy, destroy_ms);
        cgroup_lifecycle(host, kQuiet, unused, attach_ms, unused);
        record(attach_quiet, attach_ms);
    }

    std::printf("cgroup_bench: %d rounds, cgroups %s, %ld CPUs\n", rounds,
                sandbox::to_string(host.cgroups.version), ::sysconf(_SC_NPROCESSORS_ONLN));
    std::printf("  %-50s %8s %8s %8s %8s\n", "ms", "median", "p10", "p90", "mean");
    print_row("spawn-to-exit /bin/true, no cgroup", plain);
    print_row("spawn-to-exit /bin/true, own cgroups", cgroup);
    print_row("spawn-to-exit /bin/true, own cgroups + limits", limits);
    print_row("spawn-to-exit /bin/true, own cgroups, back-to-back", back_to_back);
    print_row("  of which reap(), no cgroup", reap_plain);
    print_row("  of which reap(), own cgroups", reap_cgroup);
    print_row("  of which reap(), own cgroups + limits", reap_limits);
    print_row("SandboxCgroup created (every limit)", create);
    print_row("SandboxCgroup: a process moves in, back-to-back", attach);
    print_row("SandboxCgroup: a process moves in, after 50 ms", attach_quiet);
    print_row("SandboxCgroup destroyed (after a process)", destroy);
    // The same round's spawns paired, so a noisy moment weighs on both.
    print_row("own cgroups' cost, paired per round", cost_quiet);
    print_row("own cgroups' cost back-to-back, paired", cost_back_to_back);
    std::printf(
        "  ratio of medians to no cgroup: own cgroups x%.2f, + limits x%.2f, "
        "back-to-back x%.2f\n",
        cgroup.median() / plain.median(), limits.median() / plain.median(),
        back_to_back.median() / plain.median());
    // The cgroup's own steps, each timed alone: less noisy than a difference of spawn latencies.
    std::printf(
        "  cgroup steps (create + move in + reap's extra): %.3f ms back-to-back, "
        "%.3f ms after 50 ms\n",
        create.median() + attach.median() + reap_cgroup.median() - reap_plain.median(),
        create.median() + attach_quiet.median() + reap_cgroup.median() - reap_plain.median());
    return 0;
}
