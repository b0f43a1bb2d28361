// The caller's terminal: resin's CLI run from one hands it to the command as stdin, stdout and
// stderr. A pseudo-terminal stands for it here, and the test holds its master as a terminal
// emulator would. Whatever the command does to it, the terminal is as it was once resin has exited.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/tty.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "config/config_to_json.hpp"
#include "security/attack_run.hpp"
#include "support/temp_dir.hpp"

namespace resin::test {
namespace {

struct Terminal {
    sandbox::UniqueFd master;
    sandbox::UniqueFd slave;
};

Terminal open_terminal() {
    Terminal terminal;
    terminal.master.reset(::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC));
    if (!terminal.master || ::grantpt(terminal.master.get()) != 0 ||
        ::unlockpt(terminal.master.get()) != 0) {
        ADD_FAILURE() << "posix_openpt: " << std::strerror(errno);
        return terminal;
    }
    terminal.slave.reset(::open(::ptsname(terminal.master.get()), O_RDWR | O_NOCTTY | O_CLOEXEC));
    EXPECT_TRUE(terminal.slave) << std::strerror(errno);
    return terminal;
}

// What the command may try to leave behind.
struct TerminalSnapshot {
    bool modes_readable = false;
    termios modes{};
    int status_flags = 0;
    int line_discipline = -1;
    int exclusive = -1;
    bool output_flows = false;
};

TerminalSnapshot snapshot(const Terminal& terminal) {
    // Each left at its "unknown" value if it cannot be read (N_NULL answers no termios request).
    TerminalSnapshot state;
    state.modes_readable = ::tcgetattr(terminal.slave.get(), &state.modes) == 0;
    state.status_flags = ::fcntl(terminal.slave.get(), F_GETFL);
    ::ioctl(terminal.slave.get(), TIOCGETD, &state.line_discipline);
    ::ioctl(terminal.slave.get(), TIOCGEXCL, &state.exclusive);
    // Stopped output makes a non-blocking write fail with EAGAIN. Opened anew, which an exclusive
    // terminal refuses to anyone but root.
    sandbox::UniqueFd writer(
        ::open(::ptsname(terminal.master.get()), O_WRONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC));
    state.output_flows = writer && ::write(writer.get(), "\n", 1) == 1;
    return state;
}

bool same_modes(const termios& a, const termios& b) {
    return a.c_iflag == b.c_iflag && a.c_oflag == b.c_oflag && a.c_cflag == b.c_cflag &&
           a.c_lflag == b.c_lflag && std::memcmp(a.c_cc, b.c_cc, sizeof a.c_cc) == 0;
}

void expect_unchanged(const TerminalSnapshot& before, const TerminalSnapshot& after) {
    ASSERT_TRUE(before.modes_readable);
    EXPECT_TRUE(after.modes_readable);
    EXPECT_TRUE(same_modes(before.modes, after.modes)) << "termios changed";
    EXPECT_EQ(after.status_flags, before.status_flags) << "file status flags changed";
    EXPECT_EQ(after.line_discipline, before.line_discipline);
    EXPECT_EQ(after.exclusive, before.exclusive);
    EXPECT_TRUE(after.output_flows) << "output left stopped";
}

// What the master has to read now (the terminal's screen).
std::string screen(const Terminal& terminal) {
    std::string text;
    char buffer[4096];
    pollfd pfd{terminal.master.get(), POLLIN, 0};
    while (::poll(&pfd, 1, 0) > 0 && (pfd.revents & POLLIN) != 0) {
        const ssize_t got = ::read(terminal.master.get(), buffer, sizeof buffer);
        if (got <= 0) {
            break;
        }
        text.append(buffer, static_cast<std::size_t>(got));
    }
    return text;
}

// Runs `argv` with the terminal as stdin, stdout and stderr; returns its exit code (128 + signal).
int run_on_terminal(const Argv& argv, const Terminal& terminal) {
    const int slave = terminal.slave.get();
    const pid_t pid = spawn_on_host(argv, [slave] {
        if (::dup2(slave, 0) < 0 || ::dup2(slave, 1) < 0 || ::dup2(slave, 2) < 0) {
            ::_exit(126);
        }
    });
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

class CallersTerminal : public testing::Test {
  protected:
    // resin --config (the default profile with the attack programs) --report FILE /attacks/NAME.
    int run_resin_on(const Terminal& terminal, const std::string& mode) {
        std::ofstream(dir_ / "config.json") << sandbox::to_json(default_profile()).dump();
        return run_on_terminal(
            {RESIN_BINARY, "--config", dir_ / "config.json", "--report", dir_ / "report.json",
             std::string(kAttacksInSandbox) + "/terminal_state", mode},
            terminal);
    }
    nlohmann::json report() {
        std::ifstream file(dir_ / "report.json");
        return nlohmann::json::parse(file, nullptr, false);
    }
    TempDir dir_{0755};
};

TEST_F(CallersTerminal, KeepsItsLineDiscipline) {
    const Terminal control = open_terminal();
    const int code =
        run_on_terminal({std::string(RESIN_ATTACKS_DIR) + "/terminal_state", "ldisc"}, control);
    if (code != 0 && !privileged()) {
        GTEST_SKIP() << "control: this user may not load N_NULL: " << screen(control);
    }
    ASSERT_EQ(code, 0) << screen(control);
    ASSERT_EQ(snapshot(control).line_discipline, N_NULL) << "control: the host lets it";

    const Terminal terminal = open_terminal();
    const TerminalSnapshot before = snapshot(terminal);
    EXPECT_EQ(run_resin_on(terminal, "ldisc"), 128 + SIGKILL) << screen(terminal);
    EXPECT_EQ(report()["reason"], "seccomp") << report();
    EXPECT_EQ(report()["detail"], "ioctl") << report();
    expect_unchanged(before, snapshot(terminal));
}

TEST_F(CallersTerminal, IsRestoredWhenTheCommandEnds) {
    const Terminal control = open_terminal();
    const TerminalSnapshot initial = snapshot(control);
    ASSERT_EQ(
        run_on_terminal({std::string(RESIN_ATTACKS_DIR) + "/terminal_state", "modes"}, control), 0)
        << screen(control);
    const TerminalSnapshot altered = snapshot(control);
    ASSERT_FALSE(same_modes(initial.modes, altered.modes)) << "control: termios changed";
    ASSERT_NE(altered.status_flags & O_NONBLOCK, 0) << "control: left non-blocking";
    ASSERT_EQ(altered.exclusive, 1) << "control: left exclusive";
    ASSERT_FALSE(altered.output_flows) << "control: output left stopped";

    const Terminal terminal = open_terminal();
    const TerminalSnapshot before = snapshot(terminal);
    EXPECT_EQ(run_resin_on(terminal, "modes"), 0);
    EXPECT_NE(screen(terminal).find("ATTACK terminal_state SUCCEEDED"), std::string::npos)
        << "the command made its changes";
    EXPECT_EQ(report()["reason"], "exited") << report();
    expect_unchanged(before, snapshot(terminal));
}

}  // namespace
}  // namespace resin::test
