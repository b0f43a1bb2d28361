// The default profile against the kernel interfaces a sandboxed command has no business with: keys,
// eBPF, perf, userfaultfd, io_uring, modules, kexec, file handles, accounting, swap, reboot and the
// clocks. Where the real attack would harm the host the control run is a harmless probe (see each
// program): a call that passes the privilege check and fails only on its arguments.
#include <gtest/gtest.h>

#include "security/attack_run.hpp"

namespace resin::test {
namespace {

TEST(DefaultProfile, KeyctlIsKilled) {
    expect_default_profile_kills("keyctl", "keyctl");
}

TEST(DefaultProfile, AddKeyIsKilled) {
    expect_default_profile_kills("add_key", "add_key");
}

TEST(DefaultProfile, RequestKeyIsKilled) {
    expect_default_profile_kills("request_key", "request_key");
}

TEST(DefaultProfile, BpfIsKilled) {
    expect_default_profile_kills("bpf", "bpf");
}

TEST(DefaultProfile, PerfEventOpenIsKilled) {
    expect_default_profile_kills("perf_event_open", "perf_event_open");
}

TEST(DefaultProfile, UserfaultfdIsKilled) {
    expect_default_profile_kills("userfaultfd", "userfaultfd");
}

TEST(DefaultProfile, IoUringSetupIsKilled) {
    expect_default_profile_kills("io_uring_setup", "io_uring_setup");
}

TEST(DefaultProfile, IoUringEnterIsKilled) {
    expect_default_profile_kills("io_uring_enter", "io_uring_enter");
}

TEST(DefaultProfile, IoUringRegisterIsKilled) {
    expect_default_profile_kills("io_uring_register", "io_uring_register");
}

// Kernels built without kexec or module support answer ENOSYS on the host; the filter refuses the
// syscall before the kernel would, whatever the kernel has.
TEST(DefaultProfile, KexecLoadIsKilled) {
    expect_default_profile_kills("kexec_load", "kexec_load", {}, KernelMayLack::yes);
}

TEST(DefaultProfile, KexecFileLoadIsKilled) {
    expect_default_profile_kills("kexec_file_load", "kexec_file_load", {}, KernelMayLack::yes);
}

TEST(DefaultProfile, ModuleLoadingIsKilled) {
    expect_default_profile_kills("init_module", "init_module", {}, KernelMayLack::yes);
}

TEST(DefaultProfile, ModuleLoadingFromAFileIsKilled) {
    expect_default_profile_kills("finit_module", "finit_module", {}, KernelMayLack::yes);
}

TEST(DefaultProfile, ModuleRemovalIsKilled) {
    expect_default_profile_kills("delete_module", "delete_module", {}, KernelMayLack::yes);
}

TEST(DefaultProfile, OpenByHandleAtIsKilled) {
    expect_default_profile_kills("open_by_handle_at", "open_by_handle_at");
}

TEST(DefaultProfile, NameToHandleAtIsKilled) {
    expect_default_profile_kills("name_to_handle_at", "name_to_handle_at");
}

TEST(DefaultProfile, AcctIsKilled) {
    expect_default_profile_kills("acct", "acct");
}

TEST(DefaultProfile, SwaponIsKilled) {
    expect_default_profile_kills("swapon", "swapon");
}

TEST(DefaultProfile, SwapoffIsKilled) {
    expect_default_profile_kills("swapoff", "swapoff");
}

TEST(DefaultProfile, RebootIsKilled) {
    expect_default_profile_kills("reboot", "reboot");
}

TEST(DefaultProfile, SettimeofdayIsKilled) {
    expect_default_profile_kills("settimeofday", "settimeofday");
}

TEST(DefaultProfile, ClockSettimeIsKilled) {
    expect_default_profile_kills("clock_settime", "clock_settime");
}

TEST(DefaultProfile, AdjtimexIsKilled) {
    expect_default_profile_kills("adjtimex", "adjtimex");
}

TEST(DefaultProfile, ClockAdjtimeIsKilled) {
    expect_default_profile_kills("clock_adjtime", "clock_adjtime");
}

}  // namespace
}  // namespace resin::test
