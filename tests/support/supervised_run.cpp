#include "support/supervised_run.hpp"

#include <gtest/gtest.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>

namespace resin::test {
namespace {

using std::chrono::milliseconds;

// Milliseconds until the earliest of `times`, rounded up so poll() never wakes before it.
int poll_timeout(std::initializer_list<std::optional<Clock::time_point>> times) {
    std::optional<Clock::time_point> earliest;
    for (const auto& time : times) {
        if (time && (!earliest || *time < *earliest)) {
            earliest = time;
        }
    }
    if (!earliest) {
        return -1;
    }
    const auto left = *earliest - Clock::now();
    if (left <= Clock::duration::zero()) {
        return 0;
    }
    return static_cast<int>(std::chrono::ceil<milliseconds>(left).count());
}

bool due(const std::optional<Clock::time_point>& time) {
    return time && Clock::now() >= *time;
}

// Appends what `fd` has to `sink`; closes our interest in it (-1) at end-of-file.
void drain(int& fd, std::string& sink) {
    char buffer[4096];
    const ssize_t got = ::read(fd, buffer, sizeof buffer);
    if (got > 0) {
        sink.append(buffer, static_cast<std::size_t>(got));
    } else if (got == 0 || errno != EINTR) {
        fd = -1;  // poll ignores negative descriptors
    }
}

}  // namespace

RunResult supervise(Launched& launched, const sandbox::Limits& limits, Clock::time_point deadline) {
    sandbox::Sandbox& sandbox = *launched.sandbox;
    RunResult run;
    int out = launched.out.get();
    int err = launched.err.get();

    std::optional<Clock::time_point> wall_limit;
    if (limits.wall_time_ms) {
        wall_limit = Clock::now() + milliseconds(*limits.wall_time_ms);
    }
    std::optional<Clock::time_point> cpu_check;
    auto schedule_cpu_check = [&] {
        const auto delay = sandbox.check_cpu_time();
        cpu_check = delay ? std::optional(Clock::now() + *delay) : std::nullopt;
    };
    schedule_cpu_check();
    std::optional<Clock::time_point> give_up = deadline;

    for (;;) {
        pollfd fds[] = {{sandbox.exit_fd(), POLLIN, 0},
                        {sandbox.oom_event_fd(), POLLIN, 0},
                        {out, POLLIN, 0},
                        {err, POLLIN, 0}};
        const int ready =
            ::poll(fds, std::size(fds), poll_timeout({wall_limit, cpu_check, give_up}));
        if (ready < 0 && errno != EINTR) {
            ADD_FAILURE() << "poll: " << std::strerror(errno);
            sandbox.terminate(sandbox::EndCause::killed);
            break;
        }
        if (ready > 0 && fds[0].revents != 0) {
            break;
        }
        if (ready > 0 && fds[1].revents != 0) {
            sandbox.on_oom_event();
        }
        if (ready > 0 && fds[2].revents != 0) {
            drain(out, run.out);
        }
        if (ready > 0 && fds[3].revents != 0) {
            drain(err, run.err);
        }
        if (due(cpu_check)) {
            schedule_cpu_check();
        }
        if (due(wall_limit)) {
            sandbox.terminate(sandbox::EndCause::wall_time_limit);
            wall_limit.reset();
        }
        if (due(give_up)) {
            ADD_FAILURE() << "the sandbox did not end in time; killing it";
            sandbox.terminate(sandbox::EndCause::killed);
            give_up.reset();
        }
    }
    // The tree is gone: what it wrote is in the pipes, followed by end-of-file.
    while (out >= 0) {
        drain(out, run.out);
    }
    while (err >= 0) {
        drain(err, run.err);
    }
    run.report = sandbox.reap();
    run.signal = run.report.signal;
    run.exit_code = run.signal == 0 ? run.report.exit_code : -1;
    return run;
}

sandbox::Result<RunResult> try_run_supervised(const sandbox::Config& config, const Argv& argv) {
    RESIN_TRY(Launched launched, launch(config, argv));
    return supervise(launched, config.limits);
}

RunResult run_supervised(const sandbox::Config& config, const Argv& argv) {
    auto run = try_run_supervised(config, argv);
    if (!run) {
        ADD_FAILURE() << "launching " << argv.at(0) << ": " << run.error().message << " ("
                      << run.error().pointer << ")";
        return RunResult{};
    }
    return std::move(run).value();
}

std::string read_line(int fd, Clock::time_point deadline) {
    std::string line;
    while (line.empty() || line.back() != '\n') {
        const auto left = std::chrono::ceil<milliseconds>(deadline - Clock::now()).count();
        pollfd pfd{fd, POLLIN, 0};
        const int ready = ::poll(&pfd, 1, static_cast<int>(std::max<long>(left, 0)));
        if (ready < 0 && errno == EINTR) {
            continue;
        }
        if (ready <= 0) {
            return "";
        }
        char c = 0;
        const ssize_t got = ::read(fd, &c, 1);  // one byte: what follows the line stays unread
        if (got <= 0) {
            break;
        }
        line += c;
    }
    return line;
}

}  // namespace resin::test
