#include "support/sandbox_run.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "sandbox/host_probe.hpp"
#include "sandbox/plan.hpp"

namespace resin::test {
namespace {

using sandbox::UniqueFd;

int remaining_ms(Clock::time_point deadline) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    return left.count() > 0 ? static_cast<int>(left.count()) : 0;
}

// Reads both descriptors to end-of-file. False if the deadline came first.
bool read_to_eof(int out_fd, int err_fd, std::string& out, std::string& err,
                 Clock::time_point deadline) {
    std::array<pollfd, 2> fds{pollfd{out_fd, POLLIN, 0}, pollfd{err_fd, POLLIN, 0}};
    std::array<std::string*, 2> sinks{&out, &err};
    while (fds[0].fd >= 0 || fds[1].fd >= 0) {
        const int ready = ::poll(fds.data(), fds.size(), remaining_ms(deadline));
        if (ready < 0 && errno == EINTR) {
            continue;
        }
        if (ready <= 0) {
            return false;
        }
        for (std::size_t i = 0; i < fds.size(); ++i) {
            if (fds[i].revents == 0) {
                continue;
            }
            char buffer[4096];
            const ssize_t got = ::read(fds[i].fd, buffer, sizeof buffer);
            if (got > 0) {
                sinks[i]->append(buffer, static_cast<std::size_t>(got));
            } else if (got == 0 || errno != EINTR) {
                fds[i].fd = -1;  // poll ignores negative descriptors
            }
        }
    }
    return true;
}

bool wait_readable(int fd, Clock::time_point deadline) {
    pollfd pfd{fd, POLLIN, 0};
    int ready;
    do {
        ready = ::poll(&pfd, 1, remaining_ms(deadline));
    } while (ready < 0 && errno == EINTR);
    return ready > 0;
}

sandbox::Result<std::array<UniqueFd, 2>> make_pipe() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
        return sandbox::system_error(sandbox::ErrorKind::internal, "pipe2", errno);
    }
    return std::array<UniqueFd, 2>{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

}  // namespace

sandbox::Config runnable_config() {
    sandbox::Config config;
    const std::pair<const char*, bool> system_paths[] = {
        {"/usr", false},
        {"/bin", false},
        {"/lib", true},
        {"/lib64", true},
        {"/etc/ld.so.cache", true},
        {"/etc/alternatives", true},
        {"/etc/passwd", true},
        {"/etc/group", true},
    };
    for (const auto& [path, optional] : system_paths) {
        sandbox::BindMount mount;
        mount.path = path;
        mount.optional = optional;
        config.filesystem.mounts.push_back(mount);
    }
    config.filesystem.tmpfs.push_back({"/tmp", 16 << 20, {}});
    config.syscalls.policy = sandbox::SyscallPolicy::none;
    config.env.set["PATH"] = sandbox::kDefaultPath;
    return config;
}

bool privileged() {
    return sandbox::probe_host().privileged;
}

sandbox::Result<Launched> launch(const sandbox::Config& config, const Argv& argv) {
    return launch(config, argv, sandbox::probe_host());
}

namespace {

sandbox::Result<Launched> launch_reading(const sandbox::Config& config, const Argv& argv,
                                         const sandbox::HostCapabilities& host, int in) {
    RESIN_TRY(const sandbox::Plan plan, sandbox::make_plan(config, host));
    RESIN_TRY(auto out, make_pipe());
    RESIN_TRY(auto err, make_pipe());
    const sandbox::Command command{argv.at(0), Argv(argv.begin() + 1, argv.end())};
    const sandbox::Stdio stdio{in, out[1].get(), err[1].get()};
    RESIN_TRY(auto running, sandbox::Sandbox::launch(plan, command, stdio));
    return Launched{std::move(running), std::move(out[0]), std::move(err[0])};
}

}  // namespace

sandbox::Result<Launched> launch(const sandbox::Config& config, const Argv& argv,
                                 const sandbox::HostCapabilities& host) {
    UniqueFd null(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    return launch_reading(config, argv, host, null.get());
}

sandbox::Result<Launched> launch_with_stdin(const sandbox::Config& config, const Argv& argv,
                                            int in) {
    return launch_reading(config, argv, sandbox::probe_host(), in);
}

RunResult finish(Launched& launched, Clock::time_point deadline) {
    RunResult run;
    const bool complete =
        read_to_eof(launched.out.get(), launched.err.get(), run.out, run.err, deadline) &&
        wait_readable(launched.sandbox->exit_fd(), deadline);
    if (!complete) {
        ADD_FAILURE() << "the sandbox did not end in time; killing it";
        launched.sandbox->terminate(sandbox::EndCause::killed);
    }
    run.report = launched.sandbox->reap();
    run.signal = run.report.signal;
    run.exit_code = run.signal == 0 ? run.report.exit_code : -1;
    return run;
}

sandbox::Result<RunResult> try_run_sandboxed(const sandbox::Config& config, const Argv& argv) {
    RESIN_TRY(Launched launched, launch(config, argv));
    return finish(launched);
}

RunResult run_sandboxed(const sandbox::Config& config, const Argv& argv) {
    auto run = try_run_sandboxed(config, argv);
    if (!run) {
        ADD_FAILURE() << "launching " << argv.at(0) << ": " << run.error().message << " ("
                      << run.error().pointer << ")";
        return RunResult{};
    }
    return std::move(run).value();
}

pid_t spawn_on_host(const Argv& argv, const std::function<void()>& in_child) {
    std::vector<char*> args;
    for (const auto& arg : argv) {
        args.push_back(const_cast<char*>(arg.c_str()));
    }
    args.push_back(nullptr);
    const pid_t pid = ::fork();
    if (pid == 0) {
        if (in_child) {
            in_child();
        }
        ::execv(args[0], args.data());
        ::_exit(127);
    }
    if (pid < 0) {
        ADD_FAILURE() << "fork: " << std::strerror(errno);
    }
    return pid;
}

RunResult run_on_host(const Argv& argv, const std::function<void()>& in_child) {
    RunResult run;
    auto out = make_pipe();
    auto err = make_pipe();
    if (!out || !err) {
        ADD_FAILURE() << "pipe2: " << std::strerror(errno);
        return run;
    }
    const pid_t pid = spawn_on_host(argv, [&] {
        const int null = ::open("/dev/null", O_RDONLY);
        if (null < 0 || ::dup2(null, 0) < 0 || ::dup2(out.value()[1].get(), 1) < 0 ||
            ::dup2(err.value()[1].get(), 2) < 0) {
            ::_exit(126);
        }
        if (in_child) {
            in_child();
        }
    });
    out.value()[1].reset();
    err.value()[1].reset();
    if (pid < 0) {
        return run;
    }
    if (!read_to_eof(out.value()[0].get(), err.value()[0].get(), run.out, run.err,
                     Clock::now() + kRunTimeout)) {
        ADD_FAILURE() << argv[0] << " did not end in time on the host; killing it";
        ::kill(pid, SIGKILL);
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFEXITED(status)) {
        run.exit_code = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
        run.signal = WTERMSIG(status);
    }
    return run;
}

}  // namespace resin::test
