#include "sandbox/kernel_signals.hpp"

#include <signal.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>

namespace resin::sandbox::kernel_signals {
namespace {

// The kernel's struct sigaction on x86_64 and aarch64 (not glibc's, whose mask is 128 bytes).
struct KernelSigaction {
    void (*handler)(int);
    unsigned long flags;
    void (*restorer)();
    SignalSet mask;
};
static_assert(sizeof(KernelSigaction) == 32);

// A handler returns to the restorer, which asks the kernel to restore the interrupted context.
// glibc's is private; x86_64 requires one (without it, a handler's return is a SIGSEGV).
constexpr unsigned long kSaRestorer = 0x04000000;

#define RESIN_STRINGIFY_(x) #x
#define RESIN_STRINGIFY(x) RESIN_STRINGIFY_(x)
#if defined(__x86_64__)
asm(".pushsection .text\n"
    ".globl resin_signal_return\n"
    ".hidden resin_signal_return\n"
    ".type resin_signal_return, @function\n"
    "resin_signal_return:\n"
    "    mov $" RESIN_STRINGIFY(SYS_rt_sigreturn) ", %rax\n"
    "    syscall\n"
    ".size resin_signal_return, . - resin_signal_return\n"
    ".popsection\n");
#elif defined(__aarch64__)
asm(".pushsection .text\n"
    ".globl resin_signal_return\n"
    ".hidden resin_signal_return\n"
    ".type resin_signal_return, %function\n"
    "resin_signal_return:\n"
    "    mov x8, #" RESIN_STRINGIFY(SYS_rt_sigreturn) "\n"
    "    svc #0\n"
    ".size resin_signal_return, . - resin_signal_return\n"
    ".popsection\n");
#else
#error "kernel_signals.cpp: the kernel's struct sigaction and rt_sigreturn of this architecture"
#endif
#undef RESIN_STRINGIFY
#undef RESIN_STRINGIFY_

extern "C" void resin_signal_return();

bool change_mask(int how, SignalSet set) {
    return ::syscall(SYS_rt_sigprocmask, how, &set, nullptr, sizeof set) == 0;
}

}  // namespace

bool block(SignalSet set) {
    return change_mask(SIG_BLOCK, set);
}

bool set_mask(SignalSet set) {
    return change_mask(SIG_SETMASK, set);
}

bool set_every_disposition(void (*handler)(int)) {
    KernelSigaction action{};
    action.handler = handler;
    if (handler != SIG_DFL && handler != SIG_IGN) {
        action.flags = kSaRestorer;
        action.restorer = resin_signal_return;
        action.mask = kEverySignal;
    }
    for (int sig = 1; sig <= kLastSignal; ++sig) {
        if (sig == SIGKILL || sig == SIGSTOP) {
            continue;
        }
        if (::syscall(SYS_rt_sigaction, sig, &action, nullptr, sizeof action.mask) != 0) {
            return false;
        }
    }
    return true;
}

bool discard_pending() {
    const SignalSet every = kEverySignal;
    const timespec now{};
    for (;;) {
        if (::syscall(SYS_rt_sigtimedwait, &every, nullptr, &now, sizeof every) < 0 &&
            errno != EINTR) {
            return errno == EAGAIN;  // none left
        }
    }
}

SignalSet pending() {
    SignalSet set = 0;
    ::syscall(SYS_rt_sigpending, &set, sizeof set);
    return set;
}

int open_signalfd(SignalSet set, int flags) {
    return static_cast<int>(::syscall(SYS_signalfd4, -1, &set, sizeof set, flags));
}

}  // namespace resin::sandbox::kernel_signals
