// What resin_seccomp_generate links instead of the generated filters it is about to write.
#include "sandbox/seccomp_policy.hpp"

namespace resin::sandbox {

const SeccompFilters& embedded_default_filters(SyscallAction) {
    static const SeccompFilters none;
    return none;
}

}  // namespace resin::sandbox
