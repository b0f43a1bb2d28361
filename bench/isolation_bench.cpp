// What resin's full sandbox costs a short command, against Debian's bubblewrap and against no
// sandbox at all (docs/performance.md, "Isolation: /bin/true under the default profile"). Each
// variant is one command line run to its exit, stdout and stderr to /dev/null:
//   plain     /bin/true
//   unshare   unshare(1) of the namespaces resin makes (user, pid, mount, net, ipc, uts, cgroup)
//   bwrap     bwrap --unshare-all --ro-bind / / --dev /dev --proc /proc /bin/true
//   bwrap, issue 14's line: the same with --tmpfs /tmp --new-session (a private /tmp, as resin's
//             default profile has, and no controlling terminal)
//   resin     resin --config config/default.json -- /bin/true (namespaces, a new root, cgroups,
//             Landlock, the syscall filter, dropped capabilities; resin's own start included; as
//             root, the network-namespace pool's refill after it runs on while the next variant
//             does, as it would on a busy host)
// Usage: isolation_bench [rounds]   (each round runs every variant once, in turn)
// bwrap: apt-get install -y bubblewrap (Debian's; not needed by the build or the tests).
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

extern char** environ;

namespace {

using Clock = std::chrono::steady_clock;

struct Variant {
    const char* name;
    std::vector<std::string> argv;
    std::vector<double> ms;
};

double median(std::vector<double> values) {
    std::sort(values.begin(), values.end());
    return values[values.size() / 2];
}

// Runs argv to its exit with stdout and stderr on /dev/null; the wall time in ms. A failure ends
// the benchmark: a variant that does not run /bin/true measures nothing.
double run_ms(const std::vector<std::string>& argv, int null_fd) {
    std::vector<char*> args;
    for (const auto& arg : argv) {
        args.push_back(const_cast<char*>(arg.c_str()));
    }
    args.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, null_fd, STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, null_fd, STDERR_FILENO);
    const auto start = Clock::now();
    pid_t pid = 0;
    const int rc = ::posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) {
        throw std::runtime_error(
            "cannot start " + argv[0] +
            (argv[0].find("bwrap") != std::string::npos ? " (apt-get install -y bubblewrap)" : ""));
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        throw std::runtime_error(argv[0] + " did not run /bin/true to exit 0 (run it by hand)");
    }
    return ms;
}

}  // namespace

int main(int argc, char** argv) {
    const int rounds = std::max(1, argc > 1 ? std::atoi(argv[1]) : 200);
    const int null_fd = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
    std::vector<Variant> variants = {
        {"plain /bin/true", {"/bin/true"}, {}},
        {"unshare (7 namespaces)",
         {"/usr/bin/unshare", "--user", "--map-root-user", "--pid", "--fork", "--mount", "--net",
          "--ipc", "--uts", "--cgroup", "/bin/true"},
         {}},
        {"bwrap --unshare-all",
         {"/usr/bin/bwrap", "--unshare-all", "--ro-bind", "/", "/", "--dev", "/dev", "--proc",
          "/proc", "/bin/true"},
         {}},
        {"bwrap, issue 14 line",
         {"/usr/bin/bwrap", "--unshare-all", "--ro-bind", "/", "/", "--dev", "/dev", "--proc",
          "/proc", "--tmpfs", "/tmp", "--new-session", "/bin/true"},
         {}},
        {"resin, config/default.json",
         {RESIN_BINARY, "--config", RESIN_SOURCE_DIR "/config/default.json", "--", "/bin/true"},
         {}},
    };
    try {
        for (auto& variant : variants) {  // warm the page cache and resin's network-namespace pool
            run_ms(variant.argv, null_fd);
        }
        // The box is shared: every round runs each variant in turn, so drifting load hits all
        // alike.
        for (int round = 0; round < rounds; ++round) {
            for (auto& variant : variants) {
                variant.ms.push_back(run_ms(variant.argv, null_fd));
            }
        }
    } catch (const std::exception& error) {
        std::fprintf(stderr, "isolation_bench: %s\n", error.what());
        return 1;
    }
    const auto& resin = variants[4].ms;
    const double plain = median(variants[0].ms);
    std::printf("/bin/true to exit, median of %d rounds\n", rounds);
    for (const auto& variant : variants) {
        std::printf("  %-28s %7.2f ms   %5.2fx plain\n", variant.name, median(variant.ms),
                    median(variant.ms) / plain);
    }
    // The ratio of the medians, and the median of each round's own ratio (paired: the two ran
    // back to back, under the same load).
    for (const std::size_t bwrap : {std::size_t{2}, std::size_t{3}}) {
        std::vector<double> paired;
        for (std::size_t round = 0; round < resin.size(); ++round) {
            paired.push_back(resin[round] / variants[bwrap].ms[round]);
        }
        std::printf("  resin / %-20s %7.2f of the medians, %5.2f paired (target <= %s)\n",
                    variants[bwrap].name, median(resin) / median(variants[bwrap].ms),
                    median(paired), bwrap == 2 ? "0.60" : "0.80, issue 14");
    }
    return 0;
}
