// Build-time tool: compiles the default policy's filters for each action with the very code resin
// runs (seccomp_policy.cpp) and writes them as a C++ source, so a spawn under the default policy
// does not spend milliseconds in libseccomp.
#include <cstdio>
#include <fstream>

#include "sandbox/seccomp_policy.hpp"

namespace {

using resin::sandbox::SyscallAction;

const std::pair<SyscallAction, const char*> kActions[] = {
    {SyscallAction::kill, "kill"},
    {SyscallAction::errno_eperm, "errno_eperm"},
    {SyscallAction::log, "log"},
};

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s OUTPUT.cpp\n", argv[0]);
        return 2;
    }
    std::ofstream out(argv[1]);
    out << "// Generated at build time by resin_seccomp_generate from seccomp_policy.cpp.\n"
           "#include \"sandbox/seccomp_policy.hpp\"\n\n"
           "namespace resin::sandbox {\n\n"
           "const SeccompFilters& embedded_default_filters(SyscallAction action) {\n";
    for (const auto& [action, name] : kActions) {
        resin::sandbox::Syscalls syscalls;
        syscalls.action = action;
        auto filters = resin::sandbox::compile_seccomp_filters(syscalls);
        if (!filters) {
            std::fprintf(stderr, "resin_seccomp_generate: %s\n", filters.error().message.c_str());
            return 1;
        }
        out << "    static const SeccompFilters " << name << " = {\n";
        for (const auto& filter : filters.value()) {
            out << "        {{";
            for (const auto& insn : filter.program) {
                out << "{" << insn.code << "," << unsigned(insn.jt) << "," << unsigned(insn.jf)
                    << "," << insn.k << "u},";
            }
            out << "}, " << (filter.notify ? "true" : "false") << "},\n";
        }
        out << "    };\n";
    }
    out << "    switch (action) {\n"
           "        case SyscallAction::kill:\n            return kill;\n"
           "        case SyscallAction::errno_eperm:\n            return errno_eperm;\n"
           "        case SyscallAction::log:\n            return log;\n"
           "    }\n    return kill;\n}\n\n}  // namespace resin::sandbox\n";
    return out ? 0 : 1;
}
