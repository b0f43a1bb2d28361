#include "sandbox/seccomp_install.hpp"

#include <linux/seccomp.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

namespace resin::sandbox {

StepResult install_seccomp_filters(const SeccompFilters& filters, int* listener) {
    *listener = -1;
    for (const auto& filter : filters) {
        sock_fprog program{static_cast<unsigned short>(filter.program.size()),
                           const_cast<sock_filter*>(filter.program.data())};
        const unsigned flags = filter.notify ? SECCOMP_FILTER_FLAG_NEW_LISTENER : 0;
        const long result = ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &program);
        if (result < 0) {
            return step_failed(errno, "/syscalls", {"installing the seccomp filter"});
        }
        if (filter.notify) {
            *listener = static_cast<int>(result);
        }
    }
    return step_done();
}

}  // namespace resin::sandbox
