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

int apply_rlimits(const Plan& plan, const char** failed_resource) {
    struct Step {
        const char* name;
        int resource;
        std::optional<std::uint64_t> value;
    };
    const auto& limits = plan.config.limits;
    const Step steps[] = {
        {"RLIMIT_CORE", RLIMIT_CORE, plan.rlimit_core},
        {"RLIMIT_NOFILE", RLIMIT_NOFILE, limits.open_files},
        {"RLIMIT_FSIZE", RLIMIT_FSIZE, limits.file_size_bytes},
        {"RLIMIT_AS", RLIMIT_AS, plan.rlimit_address_space},
        {"RLIMIT_CPU", RLIMIT_CPU, plan.rlimit_cpu_seconds},
        {"RLIMIT_NPROC", RLIMIT_NPROC, plan.rlimit_processes},
    };
    for (const auto& step : steps) {
        if (!step.value) {
            continue;
        }
        if (int err = set_limit(step.resource, static_cast<rlim_t>(*step.value)); err != 0) {
            *failed_resource = step.name;
            return err;
        }
    }
    return 0;
}

}  // namespace resin::sandbox
