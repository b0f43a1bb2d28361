// The default profile against attacks on other processes, on the terminal, through personality(2)
// and through another syscall ABI.
#include <gtest/gtest.h>

#include "security/attack_run.hpp"

namespace resin::test {
namespace {

TEST(DefaultProfile, PtraceIsKilled) {
    expect_default_profile_kills("ptrace_attach", "ptrace");
}

// The attacker is a child of the command, so the report names it as "a process of the command";
// the command itself sees its child killed.
TEST(DefaultProfile, PtraceOfASiblingIsKilled) {
    expect_works_on_host(attack_on_host("ptrace_sibling"));
    if (should_stop()) {
        return;
    }
    const AttackRun attack = attack_in_sandbox(default_profile(), "ptrace_sibling");
    EXPECT_EQ(attack.verdict, "DENIED") << describe(attack);
    EXPECT_EQ(attack.detail, "the attacker was killed by signal 9") << describe(attack);
    EXPECT_EQ(attack.run.report.detail, "a process of the command was killed for ptrace")
        << describe(attack);
}

TEST(DefaultProfile, ProcessVmReadvIsKilled) {
    expect_default_profile_kills("process_vm_readv", "process_vm_readv");
}

TEST(DefaultProfile, ProcessVmWritevIsKilled) {
    expect_default_profile_kills("process_vm_writev", "process_vm_writev");
}

TEST(DefaultProfile, PersonalityThatDisablesAslrIsKilled) {
    expect_default_profile_kills("personality", "personality");
}

// personality(2) takes 32 bits: ADDR_NO_RANDOMIZE with bit 32 set must not pass for a harmless
// value.
TEST(DefaultProfile, PersonalityWithHighBitsIsKilled) {
    expect_default_profile_kills("personality", "personality", {"0x100040000"});
}

TEST(DefaultProfile, HarmlessPersonalityIsAllowed) {
    for (const char* persona : {"0x0", "0x8", "0x20000", "0x100000000"}) {
        const AttackRun attack = attack_in_sandbox(default_profile(), "personality", {persona});
        EXPECT_EQ(attack.verdict, "SUCCEEDED") << persona << ": " << describe(attack);
    }
}

TEST(DefaultProfile, TiocstiIsKilled) {
    expect_default_profile_kills("tiocsti", "ioctl");
}

// CVE-2019-10063: the kernel reads the request as 32 bits, a filter comparing 64 is bypassed.
TEST(DefaultProfile, TiocstiWithHighBitsIsKilled) {
    expect_default_profile_kills("tiocsti", "ioctl", {"--high-bits"});
}

TEST(DefaultProfile, TioclinuxIsKilled) {
    expect_default_profile_kills("tioclinux", "ioctl");
}

TEST(DefaultProfile, TioclinuxWithHighBitsIsKilled) {
    expect_default_profile_kills("tioclinux", "ioctl", {"--high-bits"});
}

TEST(DefaultProfile, I386SyscallIsKilled) {
    expect_default_profile_kills("i386_syscall", "getpid (i386 ABI)");
}

// This kernel may lack x32 (ENOSYS on the host); the filter must refuse it regardless, since a
// profile cannot know the kernel it will run on.
TEST(DefaultProfile, X32SyscallIsKilled) {
    expect_default_profile_kills("x32_syscall", "getpid (x32 ABI)", {}, KernelMayLack::yes);
}

}  // namespace
}  // namespace resin::test
