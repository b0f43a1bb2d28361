#include "sandbox/rlimits.hpp"

#include <sys/resource.h>

#include <cerrno>
#include <optional>

namespace resin::sandbox {
namespace {

int set_limit(int resource, rlim_t value) {
    // RLIMIT_CPU too: soft and hard alike, so the kernel's verdict is SIGKILL at the limit, which
    // the command can neither catch nor ignore. (SIGXCPU, which the command can also send itself,
    // would prove nothing: resin judges by the command's CPU time.)
    const rlimit limit{value, value};
    return ::setrlimit(resource, &limit) == 0 ? 0 : errno;
}

}  // namespace

StepResult apply_rlimits(const RlimitsPart& rlimits) {
    struct Step {
        const char* name;
        int resource;
        std::optional<std::uint64_t> value;
    };
    const Step steps[] = {
        {"RLIMIT_CORE", RLIMIT_CORE, rlimits.core},
        {"RLIMIT_NOFILE", RLIMIT_NOFILE, rlimits.open_files},
        {"RLIMIT_FSIZE", RLIMIT_FSIZE, rlimits.file_size_bytes},
        {"RLIMIT_AS", RLIMIT_AS, rlimits.address_space},
        {"RLIMIT_CPU", RLIMIT_CPU, rlimits.cpu_seconds},
        {"RLIMIT_NPROC", RLIMIT_NPROC, rlimits.processes},
    };
    for (const auto& step : steps) {
        if (!step.value) {
            continue;
        }
        if (int err = set_limit(step.resource, static_cast<rlim_t>(*step.value)); err != 0) {
            return step_failed(err, "/limits", {"setting ", step.name});
        }
    }
    return step_done();
}

}  // namespace resin::sandbox
