#include "sandbox/socket_allowlist.hpp"

#include <fcntl.h>
#include <linux/bpf.h>
#include <sys/capability.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "sandbox/cgroup_files.hpp"
#include "sandbox/cgroup_reaper.hpp"
#include "sandbox/socket_allowlist_programs.hpp"
#include "sandbox/unique_fd.hpp"

namespace resin::sandbox {
namespace {

// Only for helpers a GPL-only restriction would matter to; these programs call none.
constexpr char kLicense[] = "resin";

long bpf(int command, bpf_attr& attr) {
    return ::syscall(SYS_bpf, command, &attr, sizeof attr);
}

// The verifier's log, kept short, for the error message when a program is refused.
UniqueFd load(const SocketBpfProgram& program, std::string* log) {
    bpf_attr attr{};
    attr.prog_type = program.type;
    attr.expected_attach_type = program.attach;
    attr.insns = reinterpret_cast<std::uintptr_t>(program.instructions.data());
    attr.insn_cnt = static_cast<std::uint32_t>(program.instructions.size());
    attr.license = reinterpret_cast<std::uintptr_t>(kLicense);
    UniqueFd fd(static_cast<int>(bpf(BPF_PROG_LOAD, attr)));
    if (!fd && log != nullptr) {
        const int err = errno;
        std::string buffer(4096, '\0');
        attr.log_buf = reinterpret_cast<std::uintptr_t>(buffer.data());
        attr.log_size = static_cast<std::uint32_t>(buffer.size());
        attr.log_level = 1;
        (void)bpf(BPF_PROG_LOAD, attr);
        *log = buffer.c_str();
        if (log->size() > 300) {
            *log = "..." + log->substr(log->size() - 300);
        }
        errno = err;
    }
    return fd;
}

bool has_effective(cap_t caps, cap_value_t cap) {
    cap_flag_value_t value = CAP_CLEAR;
    return cap_get_flag(caps, cap, CAP_EFFECTIVE, &value) == 0 && value == CAP_SET;
}

bool may_load_network_bpf() {
    cap_t caps = cap_get_proc();
    if (caps == nullptr) {
        return false;
    }
    const bool result = has_effective(caps, CAP_NET_ADMIN) &&
                        (has_effective(caps, CAP_BPF) || has_effective(caps, CAP_SYS_ADMIN));
    cap_free(caps);
    return result;
}

}  // namespace

std::string socket_bpf_unavailable_because(const CgroupLayout& layout,
                                           const CgroupSupport& cgroups) {
    if (!may_load_network_bpf()) {
        return "resin lacks CAP_NET_ADMIN and CAP_BPF (run it as root)";
    }
    if (layout.version == CgroupVersion::v2) {
        if (!cgroups.any()) {
            return "resin has no cgroup v2 of its own to attach cgroup BPF programs to (" +
                   cgroups.why_not + ")";
        }
    } else if (layout.version == CgroupVersion::hybrid) {
        if (::access(layout.unified_own.c_str(), W_OK) != 0) {
            return "resin may not create cgroups under its cgroup v2 " + layout.unified_own;
        }
    } else {
        return "no cgroup v2 hierarchy is mounted to attach cgroup BPF programs to";
    }
    // A kernel without CONFIG_CGROUP_BPF knows no such program type.
    const auto programs = socket_allowlist_programs(Network{});
    if (programs.empty() || !load(programs.front(), nullptr)) {
        return std::string("the kernel refuses cgroup BPF programs: ") + std::strerror(errno);
    }
    return {};
}

Result<std::unique_ptr<SocketAllowlist>> SocketAllowlist::attach(
    const Network& network, const CgroupLayout& layout, const SandboxCgroup* sandbox_cgroup) {
    const auto programs = socket_allowlist_programs(network);
    if (programs.empty()) {
        return Error{ErrorKind::unsupported_config,
                     "the port lists have too many disjoint ranges for the BPF programs",
                     "/network", 0};
    }
    std::unique_ptr<SocketAllowlist> allowlist(new SocketAllowlist());
    UniqueFd target;
    if (layout.version == CgroupVersion::v2) {
        if (sandbox_cgroup == nullptr || sandbox_cgroup->clone_into() < 0) {
            return Error{ErrorKind::spawn_failed,
                         "the sandbox has no cgroup v2 for the port allowlist", "/network", 0};
        }
        target.reset(::fcntl(sandbox_cgroup->clone_into(), F_DUPFD_CLOEXEC, 0));
    } else {
        cgroup_reaper_watch(layout.unified_own);
        const std::string directory = layout.unified_own + "/" + sandbox_cgroup_name();
        if (::mkdir(directory.c_str(), 0755) != 0) {
            const int err = errno;
            return system_error(ErrorKind::spawn_failed, "creating the cgroup " + directory, err);
        }
        allowlist->made_directory_ = directory;
        allowlist->made_directory_fd_.reset(
            ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        target.reset(::fcntl(allowlist->made_directory_fd_.get(), F_DUPFD_CLOEXEC, 0));
    }
    if (!target) {
        return system_error(ErrorKind::spawn_failed, "opening the sandbox's cgroup v2", errno);
    }
    for (const auto& program : programs) {
        std::string log;
        const UniqueFd fd = load(program, &log);
        if (!fd) {
            const int err = errno;
            return system_error(ErrorKind::spawn_failed,
                                std::string("loading the port allowlist's BPF program for ") +
                                    program.hook + " (" + log + ")",
                                err);
        }
        bpf_attr attr{};
        attr.target_fd = static_cast<std::uint32_t>(target.get());
        attr.attach_bpf_fd = static_cast<std::uint32_t>(fd.get());
        attr.attach_type = program.attach;
        attr.attach_flags = BPF_F_ALLOW_MULTI;  // beside, not instead of, the ancestors' programs
        if (bpf(BPF_PROG_ATTACH, attr) != 0) {
            const int err = errno;
            return system_error(
                ErrorKind::spawn_failed,
                std::string("attaching the port allowlist's BPF program for ") + program.hook, err);
        }
    }
    return allowlist;
}

SocketAllowlist::~SocketAllowlist() {
    if (!made_directory_.empty()) {
        (void)write_cgroup_file(made_directory_ + "/cgroup.kill", "1");
        remove_cgroup_directory(made_directory_);
    }
}

}  // namespace resin::sandbox
