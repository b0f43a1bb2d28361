#include "sandbox/landlock.hpp"

#include <fcntl.h>
#include <linux/landlock.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

#include "sandbox/unique_fd.hpp"

namespace resin::sandbox {
namespace {

// UAPI newer than Debian 12's <linux/landlock.h> (kernel 6.1 headers).
constexpr std::uint64_t kAccessFsTruncate = 1ULL << 14;  // ABI 3
constexpr std::uint64_t kAccessFsIoctlDev = 1ULL << 15;  // ABI 5
constexpr std::uint64_t kAccessNetBindTcp = 1ULL << 0;   // ABI 4
constexpr std::uint64_t kAccessNetConnectTcp = 1ULL << 1;
constexpr std::uint64_t kScopeAbstractUnixSocket = 1ULL << 0;  // ABI 6
constexpr std::uint64_t kScopeSignal = 1ULL << 1;
constexpr int kRuleNetPort = 2;

struct RulesetAttr {
    std::uint64_t handled_access_fs;
    std::uint64_t handled_access_net;
    std::uint64_t scoped;
};

struct NetPortAttr {
    std::uint64_t allowed_access;
    std::uint64_t port;
};

constexpr std::uint64_t kRead =
    LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR | LANDLOCK_ACCESS_FS_EXECUTE;
constexpr std::uint64_t kFileRights = LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE |
                                      LANDLOCK_ACCESS_FS_READ_FILE | kAccessFsTruncate |
                                      kAccessFsIoctlDev;

std::uint64_t fs_rights_of_abi(int abi) {
    std::uint64_t rights = (LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1;  // ABI 1
    if (abi >= 2) {
        rights |= LANDLOCK_ACCESS_FS_REFER;
    }
    if (abi >= 3) {
        rights |= kAccessFsTruncate;
    }
    if (abi >= 5) {
        rights |= kAccessFsIoctlDev;
    }
    return rights;
}

class Ruleset {
  public:
    explicit Ruleset(int abi) : abi_(abi), handled_fs_(fs_rights_of_abi(abi)) {}

    bool create(const LandlockPart& landlock) {
        RulesetAttr attr{};
        attr.handled_access_fs = handled_fs_;
        if (landlock.restrict_tcp) {
            attr.handled_access_net = kAccessNetConnectTcp | kAccessNetBindTcp;
        }
        if (landlock.scope_signals) {
            attr.scoped |= kScopeSignal;
        }
        if (landlock.scope_abstract_unix_sockets) {
            attr.scoped |= kScopeAbstractUnixSocket;
        }
        fd_.reset(static_cast<int>(::syscall(SYS_landlock_create_ruleset, &attr, sizeof attr, 0)));
        return static_cast<bool>(fd_);
    }

    // Grants `rights` (as far as this ABI handles them) beneath `path`, a path inside the sandbox.
    bool allow_path(const std::string& path, std::uint64_t rights) {
        UniqueFd target(::open(path.c_str(), O_PATH | O_CLOEXEC));
        if (!target) {
            return false;
        }
        struct stat info {};
        if (::fstat(target.get(), &info) != 0) {
            return false;
        }
        landlock_path_beneath_attr rule{};
        rule.allowed_access = rights & handled_fs_ & (S_ISDIR(info.st_mode) ? ~0ULL : kFileRights);
        rule.parent_fd = target.get();
        return rule.allowed_access == 0 || ::syscall(SYS_landlock_add_rule, fd_.get(),
                                                     LANDLOCK_RULE_PATH_BENEATH, &rule, 0) == 0;
    }

    bool allow_port(std::uint16_t port, std::uint64_t access) {
        NetPortAttr rule{access, port};
        return ::syscall(SYS_landlock_add_rule, fd_.get(), kRuleNetPort, &rule, 0) == 0;
    }

    int release() { return fd_.release(); }

    std::uint64_t all_fs_rights() const { return handled_fs_; }

  private:
    int abi_;
    std::uint64_t handled_fs_;
    UniqueFd fd_;
};

}  // namespace

StepResult build_landlock_ruleset(const LandlockPart& landlock, int& ruleset_fd) {
    ruleset_fd = -1;
    if (landlock.abi <= 0) {
        return step_done();
    }
    Ruleset ruleset(landlock.abi);
    if (!ruleset.create(landlock)) {
        return step_failed(errno, "", {"creating the Landlock ruleset"});
    }
    // Directories may be listed everywhere; what may be read, run or written is granted per mount.
    const std::uint64_t all = ruleset.all_fs_rights();
    struct PathRule {
        const char* path;
        std::uint64_t rights;
    };
    const PathRule fixed[] = {
        {"/", LANDLOCK_ACCESS_FS_READ_DIR},
        {"/proc", LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR |
                      LANDLOCK_ACCESS_FS_WRITE_FILE},
        {"/dev", LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_WRITE_FILE |
                     LANDLOCK_ACCESS_FS_READ_DIR | kAccessFsIoctlDev},
        {"/dev/shm", all},
    };
    for (const auto& rule : fixed) {
        if (!ruleset.allow_path(rule.path, rule.rights)) {
            return step_failed(errno, "", {"adding a Landlock rule for /, /proc or /dev"});
        }
    }
    for (const auto& path : landlock.paths) {
        if (!ruleset.allow_path(path.path, path.read_only ? kRead : all)) {
            return step_failed(errno, "", {"adding a Landlock rule for a mount"});
        }
    }
    for (std::uint16_t port : landlock.tcp_connect) {
        if (!ruleset.allow_port(port, kAccessNetConnectTcp)) {
            return step_failed(errno, "", {"adding a Landlock tcp_connect rule"});
        }
    }
    for (std::uint16_t port : landlock.tcp_bind) {
        if (!ruleset.allow_port(port, kAccessNetBindTcp)) {
            return step_failed(errno, "", {"adding a Landlock tcp_bind rule"});
        }
    }
    // Port 0 asks for an ephemeral port, as the BPF programs allow: what such a socket may receive
    // is their inet_ingress program's business.
    if (landlock.restrict_tcp && !ruleset.allow_port(0, kAccessNetBindTcp)) {
        return step_failed(errno, "", {"adding a Landlock tcp_bind rule"});
    }
    ruleset_fd = ruleset.release();
    return step_done();
}

StepResult enforce_landlock(int ruleset_fd) {
    if (ruleset_fd < 0) {
        return step_done();
    }
    if (::syscall(SYS_landlock_restrict_self, ruleset_fd, 0) != 0) {
        return step_failed(errno, "", {"enforcing the Landlock ruleset"});
    }
    ::close(ruleset_fd);
    return step_done();
}

}  // namespace resin::sandbox
