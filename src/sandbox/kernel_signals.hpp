// Every signal 1..64 through the kernel's own calls. glibc keeps its two internal signals, 32 and
// 33 (SIGCANCEL and SIGSETXID, below SIGRTMIN), out of sigfillset, drops them from sigprocmask's
// and sigtimedwait's sets and refuses them in sigaction (EINVAL): a mask, a reset or a drain made
// through glibc leaves those two open. Raw syscalls only, async-signal-safe: for the processes
// resin forks.
#pragma once

#include <cstdint>

namespace resin::sandbox::kernel_signals {

// The kernel's sigset_t: signal n is bit n - 1.
using SignalSet = std::uint64_t;
inline constexpr SignalSet kEverySignal = ~SignalSet{0};
inline constexpr int kLastSignal = 64;

constexpr SignalSet signal_bit(int sig) {
    return SignalSet{1} << (sig - 1);
}

// The calling thread's mask: adds `set` to it, or replaces it. SIGKILL and SIGSTOP are never
// blocked (the kernel leaves them out).
[[nodiscard]] bool block(SignalSet set);
[[nodiscard]] bool set_mask(SignalSet set);

// The disposition of every signal but SIGKILL and SIGSTOP: SIG_DFL, SIG_IGN, or a handler that runs
// with every signal blocked.
[[nodiscard]] bool set_every_disposition(void (*handler)(int));

// Drops every pending signal of the calling thread among those it blocks.
[[nodiscard]] bool discard_pending();

// The calling thread's pending signals (its own and its process's).
SignalSet pending();

// signalfd4 for `set`; -1 and errno on failure.
int open_signalfd(SignalSet set, int flags);

}  // namespace resin::sandbox::kernel_signals
