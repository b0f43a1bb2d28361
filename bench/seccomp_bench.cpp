// The syscall filter's cost, in one run: spawning /bin/true under config/default.json without a
// filter (syscalls.policy "none"), with the smallest filter resin installs (one deny rule: the
// floor any filter costs) and with the default filter, interleaved; then a loop of syscalls timed
// inside the sandbox under each (getpid, which the kernel's seccomp cache lets through without
// running the filter, and ioctl, whose verdict depends on its arguments so the filter runs every
// time). Prints medians, minima and the median ratio to "no filter" of back-to-back rounds.
// docs/performance.md records the numbers.
//
//   seccomp_bench [--spawns N] [--loops N] [--syscalls N]
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <variant>
#include <vector>

#include "config/profile_loader.hpp"
#include "sandbox/host_probe.hpp"
#include "sandbox/plan.hpp"
#include "sandbox/sandbox.hpp"

namespace resin::bench {
namespace {

using namespace resin::sandbox;
using Clock = std::chrono::steady_clock;

constexpr const char* kBenchInSandbox = "/bench";

struct Options {
    int spawns = 200;
    int loops = 15;
    long syscalls = 1000000;
};

Options parse_options(int argc, char** argv) {
    Options options;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string flag = argv[i];
        const long value = std::atol(argv[i + 1]);
        if (flag == "--spawns") {
            options.spawns = static_cast<int>(value);
        } else if (flag == "--loops") {
            options.loops = static_cast<int>(value);
        } else if (flag == "--syscalls") {
            options.syscalls = value;
        } else {
            std::fprintf(stderr, "usage: %s [--spawns N] [--loops N] [--syscalls N]\n", argv[0]);
            std::exit(2);
        }
    }
    return options;
}

[[noreturn]] void fail(const std::string& what) {
    std::fprintf(stderr, "seccomp_bench: %s\n", what.c_str());
    std::exit(1);
}

// config/default.json as resin loads it, with the bench's programs bound read-only at /bench.
Config default_profile(SyscallPolicy policy) {
    const std::string config_dir = std::string(RESIN_SOURCE_DIR) + "/config";
    auto loaded =
        load_config_file(config_dir + "/default.json", make_search_path("", {}, config_dir));
    if (const auto* errors = std::get_if<std::vector<ConfigError>>(&loaded)) {
        fail("config/default.json: " + errors->front().message);
    }
    Config config = std::get<LoadedConfig>(loaded).config;
    BindMount bench;
    bench.path = kBenchInSandbox;
    bench.source = RESIN_BENCH_DIR;
    config.filesystem.mounts.push_back(bench);
    config.syscalls.policy = policy;
    return config;
}

struct Spawn {
    double wall_us = 0;
    std::string out;
};

// One spawn as resin does it: plan, launch, read the output to its end, wait, reap.
Spawn spawn(const Config& config, const HostCapabilities& host,
            const std::vector<std::string>& argv) {
    const auto start = Clock::now();
    auto plan = make_plan(config, host);
    if (!plan) {
        fail("make_plan: " + plan.error().message);
    }
    int out[2];
    if (::pipe2(out, O_CLOEXEC) != 0) {
        fail("pipe2");
    }
    UniqueFd null(::open("/dev/null", O_RDWR | O_CLOEXEC));
    const Command command{argv.front(), std::vector<std::string>(argv.begin() + 1, argv.end())};
    auto sandbox = Sandbox::launch(plan.value(), command, Stdio{null.get(), out[1], null.get()});
    ::close(out[1]);
    UniqueFd reader(out[0]);
    if (!sandbox) {
        fail("launch: " + sandbox.error().message);
    }
    Spawn result;
    char buffer[4096];
    ssize_t got;
    while ((got = ::read(reader.get(), buffer, sizeof buffer)) > 0) {
        result.out.append(buffer, static_cast<std::size_t>(got));
    }
    pollfd exited{sandbox.value()->exit_fd(), POLLIN, 0};
    ::poll(&exited, 1, -1);
    const ExitReport report = sandbox.value()->reap();
    if (report.reason != ExitReason::exited || report.exit_code != 0) {
        fail(argv.front() + " did not exit 0: " + to_string(report.reason) + " " + report.detail);
    }
    result.wall_us = std::chrono::duration<double, std::micro>(Clock::now() - start).count();
    return result;
}

// The "<count> <syscall> <ns>" line of syscall_loop.
double ns_per_syscall(const std::string& out) {
    double ns = 0;
    if (std::sscanf(out.c_str(), "%*d %*s %lf", &ns) != 1) {
        fail("syscall_loop printed: " + out);
    }
    return ns;
}

double median(std::vector<double> values) {
    std::sort(values.begin(), values.end());
    const std::size_t middle = values.size() / 2;
    return values.size() % 2 == 1 ? values[middle] : (values[middle - 1] + values[middle]) / 2;
}

struct Variant {
    const char* name;
    Config config;
    std::vector<double> samples;
};

// Runs every variant once per round, rotating which goes first, so that drifting load touches all
// alike; `measure` turns one spawn into a sample.
void sample_rounds(std::vector<Variant>& variants, const HostCapabilities& host,
                   const std::vector<std::string>& argv, int rounds,
                   double (*measure)(const Spawn&)) {
    for (int round = 0; round < rounds; ++round) {
        for (std::size_t k = 0; k < variants.size(); ++k) {
            Variant& variant = variants[(static_cast<std::size_t>(round) + k) % variants.size()];
            variant.samples.push_back(measure(spawn(variant.config, host, argv)));
        }
    }
}

// Samples of one round ran back to back, so their ratio is little affected by the machine's load
// drifting over the run: the median of those ratios, against the first variant, is the figure to
// read.
void print_comparison(const std::string& what, const char* unit,
                      const std::vector<Variant>& variants) {
    std::printf("%s\n", what.c_str());
    const auto& base = variants.front().samples;
    for (const auto& variant : variants) {
        std::vector<double> ratios;
        for (std::size_t i = 0; i < base.size(); ++i) {
            ratios.push_back(variant.samples[i] / base[i]);
        }
        const double ratio = median(ratios);
        std::printf("  %-26s median %9.1f %s  min %9.1f  paired ratio %.3f (%+.1f%%)\n",
                    variant.name, median(variant.samples), unit,
                    *std::min_element(variant.samples.begin(), variant.samples.end()), ratio,
                    (ratio - 1) * 100);
    }
}

double wall_us(const Spawn& spawn) {
    return spawn.wall_us;
}

double loop_ns(const Spawn& spawn) {
    return ns_per_syscall(spawn.out);
}

}  // namespace

int run(int argc, char** argv) {
    const Options options = parse_options(argc, argv);
    const HostCapabilities host = probe_host();
    // The smallest filter resin installs (policy "none" denying one syscall nobody makes): what any
    // seccomp filter costs, whatever its rules.
    Config smallest = default_profile(SyscallPolicy::none);
    smallest.syscalls.deny = {"acct"};
    std::vector<Variant> variants = {
        {"no filter (policy none)", default_profile(SyscallPolicy::none), {}},
        {"smallest filter", smallest, {}},
        {"default filter", default_profile(SyscallPolicy::default_policy), {}},
    };
    std::printf(
        "resin seccomp bench: config/default.json with syscalls.policy \"none\", a one-rule "
        "filter, and \"default\"\n");
    std::printf("%d spawns of /bin/true and %d runs of %ld syscalls per variant, interleaved\n\n",
                options.spawns, options.loops, options.syscalls);

    sample_rounds(variants, host, {"/bin/true"}, options.spawns, wall_us);
    print_comparison("spawn /bin/true (plan, launch, wait, reap)", "us", variants);

    for (const char* syscall : {"getpid", "ioctl"}) {
        for (auto& variant : variants) {
            variant.samples.clear();
        }
        const std::vector<std::string> loop = {std::string(kBenchInSandbox) + "/syscall_loop",
                                               std::to_string(options.syscalls), syscall};
        sample_rounds(variants, host, loop, options.loops, loop_ns);
        std::printf("\n");
        print_comparison(std::string(syscall) + " loop, inside the sandbox", "ns/syscall",
                         variants);
    }
    return 0;
}

}  // namespace resin::bench

int main(int argc, char** argv) {
    return resin::bench::run(argc, argv);
}
