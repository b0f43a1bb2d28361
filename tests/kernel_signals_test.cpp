// glibc keeps its own two signals, 32 and 33 (SIGCANCEL and SIGSETXID, below SIGRTMIN), out of
// sigfillset, sigprocmask and sigaction: a process that blocks "every signal" the libc way still
// dies of signal 32, and one that resets every disposition the libc way still ignores 33 if it
// inherited that. The sandbox's init and the command's process block, drain and reset every signal
// 1..64 through the kernel's calls instead (kernel_signals.hpp): shown here in plain forked
// children, each first the libc way.
#include "sandbox/kernel_signals.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <vector>

#include "sandbox/sandbox_init.hpp"

namespace resin::test {
namespace {

namespace kernel_signals = sandbox::kernel_signals;

// glibc's two, the first and last real-time signals and a common one.
std::vector<int> sample_signals() {
    return {SIGTERM, 32, 33, SIGRTMIN, SIGRTMIN + 10, SIGRTMAX};
}

kernel_signals::SignalSet set_of(const std::vector<int>& signals) {
    kernel_signals::SignalSet set = 0;
    for (int sig : signals) {
        set |= kernel_signals::signal_bit(sig);
    }
    return set;
}

// Forks a child that runs `prepare`, then waits while this process sends it `signals`, then exits
// with what `after` returns. The child's wait status.
int wait_status_of_child(const std::function<void()>& prepare, const std::vector<int>& signals,
                         const std::function<int()>& after) {
    int ready[2];
    int go[2];  // a socket: the go to a child that died already is an error, not a SIGPIPE
    if (::pipe2(ready, O_CLOEXEC) != 0 ||
        ::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, go) != 0) {
        ADD_FAILURE() << "pipe2, socketpair: " << errno;
        return -1;
    }
    const pid_t child = ::fork();
    if (child == 0) {
        prepare();
        char byte = 'r';
        if (::write(ready[1], &byte, 1) != 1 || ::read(go[0], &byte, 1) != 1) {
            ::_exit(100);
        }
        ::_exit(after());
    }
    ::close(ready[1]);
    ::close(go[0]);
    char byte = 0;
    EXPECT_EQ(::read(ready[0], &byte, 1), 1);
    for (int sig : signals) {
        EXPECT_EQ(::kill(child, sig), 0) << sig;  // pending in the child when kill returns
    }
    ::send(go[1], "g", 1, MSG_NOSIGNAL);
    int status = 0;
    EXPECT_EQ(::waitpid(child, &status, 0), child);
    ::close(ready[0]);
    ::close(go[1]);
    return status;
}

void default_dispositions() {
    if (!kernel_signals::set_every_disposition(SIG_DFL)) {
        ::_exit(101);
    }
}

TEST(KernelSignals, ALibcMaskOfEverySignalLeavesGlibcsOwnSignalsOpen) {
    for (int sig : {32, 33}) {
        SCOPED_TRACE(sig);
        const int status = wait_status_of_child(
            [] {
                default_dispositions();
                sigset_t all;
                ::sigfillset(&all);
                ::sigprocmask(SIG_BLOCK, &all, nullptr);
            },
            {sig}, [] { return 0; });
        ASSERT_TRUE(WIFSIGNALED(status)) << status;
        EXPECT_EQ(WTERMSIG(status), sig);
    }
}

// What the sandbox's processes do: the init blocks every signal before it forks the command's
// process, which resets its dispositions and waits; at the start it drops what it was sent and
// unblocks. Nothing sent meanwhile survives the start, glibc's own signals included.
TEST(KernelSignals, TheInitsMaskHoldsEverySignalUntilTheStartDropsThem) {
    const std::vector<int> signals = sample_signals();
    const kernel_signals::SignalSet sent = set_of(signals);
    const int status = wait_status_of_child(
        [] {
            if (!sandbox::prepare_init_signals() || !sandbox::reset_signal_dispositions()) {
                ::_exit(101);
            }
        },
        signals,
        [sent] {
            if ((kernel_signals::pending() & sent) != sent) {
                return 1;  // not all held
            }
            if (!sandbox::discard_pending_then_unblock_signals()) {
                return 2;
            }
            return kernel_signals::pending() == 0 ? 0 : 3;
        });
    ASSERT_TRUE(WIFEXITED(status)) << "killed by signal " << WTERMSIG(status);
    EXPECT_EQ(WEXITSTATUS(status), 0);
}

// The signals a signalfd for `set` reads, without waiting.
kernel_signals::SignalSet read_signalfd(kernel_signals::SignalSet set) {
    const int fd = kernel_signals::open_signalfd(set, SFD_CLOEXEC | SFD_NONBLOCK);
    kernel_signals::SignalSet read = 0;
    signalfd_siginfo info{};
    while (::read(fd, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
        read |= kernel_signals::signal_bit(static_cast<int>(info.ssi_signo));
    }
    ::close(fd);
    return read;
}

// The init forwards what its signalfd reads: one for libc's full set reads neither 32 nor 33.
TEST(KernelSignals, TheInitsSignalfdReadsGlibcsOwnSignals) {
    const std::vector<int> signals = sample_signals();
    const kernel_signals::SignalSet sent = set_of(signals);
    const kernel_signals::SignalSet glibcs = set_of({32, 33});
    const int status = wait_status_of_child(
        [] {
            if (!sandbox::prepare_init_signals()) {
                ::_exit(101);
            }
        },
        signals,
        [sent, glibcs] {
            sigset_t libc_all;
            ::sigfillset(&libc_all);
            kernel_signals::SignalSet libc_set = 0;
            static_assert(sizeof libc_all >= sizeof libc_set);
            std::memcpy(&libc_set, &libc_all, sizeof libc_set);
            if (read_signalfd(libc_set) != (sent & ~glibcs)) {
                return 1;  // libc's full set is not what glibc says it is
            }
            return read_signalfd(kernel_signals::kEverySignal) == glibcs ? 0 : 2;
        });
    ASSERT_TRUE(WIFEXITED(status)) << "killed by signal " << WTERMSIG(status);
    EXPECT_EQ(WEXITSTATUS(status), 0);
}

volatile sig_atomic_t handled = 0;

void count_signal(int) {
    handled = handled + 1;
}

// The init's handlers never run (it keeps every signal blocked), but one that did must return to
// where the signal came: through the restorer kernel_signals gives the kernel.
TEST(KernelSignals, AHandlerInstalledThroughTheKernelReturns) {
    const int status = wait_status_of_child(
        [] {
            if (!kernel_signals::set_every_disposition(count_signal) ||
                !kernel_signals::set_mask(0)) {
                ::_exit(101);
            }
        },
        {},
        [] {
            for (int sig : {SIGUSR1, 32, 33, SIGRTMAX}) {
                ::kill(::getpid(), sig);  // handled before kill returns
            }
            return handled;
        });
    ASSERT_TRUE(WIFEXITED(status)) << "killed by signal " << WTERMSIG(status);
    EXPECT_EQ(WEXITSTATUS(status), 4);
}

// An ignored disposition survives exec: resin resets every one in the processes it forks.
TEST(KernelSignals, ALibcResetLeavesGlibcsOwnSignalsIgnoredTheKernelsDoesNot) {
    struct sigaction reset {};
    reset.sa_handler = SIG_DFL;
    EXPECT_EQ(::sigaction(32, &reset, nullptr), -1);
    EXPECT_EQ(errno, EINVAL);
    // The libc way: 32 and 33 stay ignored, SIGRTMIN is reset and ends the child.
    const int libc = wait_status_of_child(
        [] {
            if (!kernel_signals::set_every_disposition(SIG_IGN)) {
                ::_exit(101);
            }
            struct sigaction default_action {};
            default_action.sa_handler = SIG_DFL;
            for (int sig = 1; sig < NSIG; ++sig) {
                ::sigaction(sig, &default_action, nullptr);  // resin's reset until now
            }
        },
        {},
        [] {
            ::kill(::getpid(), 32);
            ::kill(::getpid(), 33);
            ::kill(::getpid(), SIGRTMIN);
            return 0;
        });
    ASSERT_TRUE(WIFSIGNALED(libc)) << libc;
    EXPECT_EQ(WTERMSIG(libc), SIGRTMIN);
    for (int sig : {32, 33}) {
        SCOPED_TRACE(sig);
        const int status = wait_status_of_child(
            [] {
                if (!kernel_signals::set_every_disposition(SIG_IGN) ||
                    !sandbox::restore_default_signals()) {
                    ::_exit(101);
                }
            },
            {},
            [sig] {
                ::kill(::getpid(), sig);
                return 0;
            });
        ASSERT_TRUE(WIFSIGNALED(status)) << status;
        EXPECT_EQ(WTERMSIG(status), sig);
    }
}

}  // namespace
}  // namespace resin::test
