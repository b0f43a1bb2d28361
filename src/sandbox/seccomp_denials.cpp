#include "sandbox/seccomp_denials.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <new>
#include <utility>

#include "sandbox/seccomp_policy.hpp"

namespace resin::sandbox {

void DenialLog::record(std::uint32_t arch, int number, bool by_command) {
    if (by_command && !command_killed) {
        command_killed = true;
        command_syscall = DeniedSyscall{arch, number, 1};
        return;
    }
    for (std::uint32_t i = 0; i < named && i < kNamed; ++i) {
        if (others[i].arch == arch && others[i].number == number) {
            ++others[i].count;
            return;
        }
    }
    if (named < kNamed) {
        others[named++] = DeniedSyscall{arch, number, 1};
    } else {
        ++unnamed;
    }
}

std::string describe_denials(const DenialLog& log, bool reason_is_seccomp) {
    std::string text;
    if (log.command_killed) {
        const std::string name = syscall_name(log.command_syscall.arch, log.command_syscall.number);
        text = reason_is_seccomp ? name : "the command was killed for " + name;
    }
    // resin reads what init wrote: never trust the count to index with.
    const std::uint32_t named = std::min<std::uint32_t>(log.named, DenialLog::kNamed);
    std::uint64_t total = log.unnamed;
    for (std::uint32_t i = 0; i < named; ++i) {
        total += log.others[i].count;
    }
    if (total > 0) {
        text += text.empty() ? "" : "; ";
        text += total == 1 ? "a process of the command was killed for "
                           : "processes of the command were killed for ";
        for (std::uint32_t i = 0; i < named; ++i) {
            const DeniedSyscall& denied = log.others[i];
            text += i == 0 ? "" : ", ";
            text += syscall_name(denied.arch, denied.number);
            if (denied.count > 1) {
                text += " (" + std::to_string(denied.count) + " times)";
            }
        }
        if (log.unnamed > 0) {
            text += (named == 0 ? "" : ", and ") + std::to_string(log.unnamed) +
                    (log.unnamed == 1 ? " denial" : " denials") + " of other syscalls";
        }
    }
    if (log.failure_errno != 0) {
        text += text.empty() ? "" : "; ";
        text += "the sandbox's init could not handle a denied syscall (";
        text += std::strerror(log.failure_errno);
        text += ") and ended the command";
    }
    return text;
}

Result<SharedDenialLog> SharedDenialLog::create() {
    void* memory = ::mmap(nullptr, sizeof(DenialLog), PROT_READ | PROT_WRITE,
                          MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (memory == MAP_FAILED) {
        return system_error(ErrorKind::internal, "mapping the seccomp denial log", errno);
    }
    SharedDenialLog shared;
    shared.log_ = new (memory) DenialLog();
    return shared;
}

SharedDenialLog::SharedDenialLog(SharedDenialLog&& other) noexcept
    : log_(std::exchange(other.log_, nullptr)) {}

SharedDenialLog& SharedDenialLog::operator=(SharedDenialLog&& other) noexcept {
    if (this != &other) {
        if (log_ != nullptr) {
            ::munmap(log_, sizeof(DenialLog));
        }
        log_ = std::exchange(other.log_, nullptr);
    }
    return *this;
}

SharedDenialLog::~SharedDenialLog() {
    if (log_ != nullptr) {
        ::munmap(log_, sizeof(DenialLog));
    }
}

}  // namespace resin::sandbox
