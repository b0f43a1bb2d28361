#include "sandbox/cgroup.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <sstream>
#include <string_view>
#include <unordered_map>

#include "sandbox/cgroup_files.hpp"
#include "sandbox/cgroup_v1.hpp"
#include "sandbox/cgroup_v2.hpp"

namespace resin::sandbox {

Result<CgroupJoin> CgroupJoin::open(const SandboxCgroup* cgroup, int v2_cgroup) {
    CgroupJoin join;
    auto add = [&join](int fd, const std::string& name) -> Result<void> {
        if (fd < 0) {
            return system_error(ErrorKind::spawn_failed, "opening " + name, errno);
        }
        join.files_.emplace_back(fd);
        join.names_.push_back(name);
        return success();
    };
    for (const auto& file : cgroup ? cgroup->self_join_files() : std::vector<std::string>{}) {
        RESIN_TRYV(add(::open(file.c_str(), O_WRONLY | O_CLOEXEC), file));
    }
    if (v2_cgroup >= 0) {
        RESIN_TRYV(add(::openat(v2_cgroup, "cgroup.procs", O_WRONLY | O_CLOEXEC),
                       "the sandbox's v2 cgroup.procs"));
    }
    return join;
}

StepResult CgroupJoin::join_self() const {
    for (std::size_t i = 0; i < files_.size(); ++i) {
        if (::write(files_[i].get(), "0", 1) != 1) {
            return step_failed(errno, "",
                               {"joining the sandbox's cgroup (", names_[i].c_str(), ")"});
        }
    }
    return step_done();
}
namespace {

constexpr const char* kPrefix = "resin-";

// Field 22 of /proc/<pid>/stat (a pid): when the process started, in clock ticks since boot. ""
// when the process is gone; nullopt when that cannot be told (EMFILE, ENOMEM, a /proc that hides
// it): a sweep must not take a process it cannot read for a dead one. A /proc mounted with
// hidepid=invisible answers ENOENT for another user's live process, so only kill(2)'s ESRCH says
// gone. Plain reads: a sweep calls this once per alive sandbox's owner.
std::optional<std::string> start_time_of(const std::string& pid) {
    const std::string path = "/proc/" + pid + "/stat";
    UniqueFd stat(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    char line[1024];
    const ssize_t size = stat ? ::read(stat.get(), line, sizeof line - 1) : -1;
    if (size < 0 && (errno == ENOENT || errno == ESRCH)) {
        // Signal 0 only checks; a pid out of range asks about a group or all, which exist.
        const pid_t process =
            pid == "self" ? ::getpid() : static_cast<pid_t>(std::strtol(pid.c_str(), nullptr, 10));
        const bool gone = ::kill(process, 0) != 0 && errno == ESRCH;
        return gone ? std::optional<std::string>(std::string()) : std::nullopt;
    }
    if (size <= 0) {
        return std::nullopt;
    }
    const std::string_view text(line, static_cast<std::size_t>(size));
    std::size_t at = text.rfind(')');
    // After ") ": field 3 onwards, space-separated.
    for (int field = 3; at != std::string_view::npos && field <= 22; ++field) {
        at = text.find(' ', at + 1);
    }
    if (at == std::string_view::npos) {
        return std::nullopt;
    }
    const std::size_t end = text.find(' ', at + 1);
    return std::string(text.substr(at + 1, end == std::string_view::npos ? end : end - at - 1));
}

// A pid names a process only within its pid namespace: the names carry the namespace's inode.
std::string own_pid_namespace() {
    struct stat info {};
    return ::stat("/proc/self/ns/pid", &info) == 0 ? std::to_string(info.st_ino) : std::string();
}

// /proc/<pid>/stat gives the start time through the reader's time namespace (its boottime offset),
// so the names carry that too: the one this process reads through, not the one its children get
// (time_for_children). "0" on a kernel without time namespaces, where every reader shares one
// clock.
std::string own_time_namespace() {
    struct stat info {};
    if (::stat("/proc/self/ns/time", &info) == 0) {
        return std::to_string(info.st_ino);
    }
    return errno == ENOENT ? "0" : std::string();
}

// Whether /proc numbers processes as this process's pid namespace does (not a parent's /proc,
// kept after an unshare): only then does /proc/<pid> mean the pid in a name.
bool proc_is_own() {
    char self[32];
    const ssize_t size = ::readlink("/proc/self", self, sizeof self);
    return size > 0 &&
           std::string_view(self, static_cast<std::size_t>(size)) == std::to_string(::getpid());
}

bool all_digits(const std::string& text) {
    return !text.empty() &&
           std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

CgroupSupport probe_cgroup_v1(const CgroupLayout& layout) {
    CgroupSupport support;
    support.version = layout.version;
    auto usable = [&layout](const char* controller) {
        auto it = layout.v1_own.find(controller);
        return it != layout.v1_own.end() && ::access(it->second.c_str(), W_OK) == 0;
    };
    support.memory = usable("memory");
    support.cpu = usable("cpu");
    support.cpu_time = usable("cpuacct");
    support.pids = usable("pids");
    support.kill = usable("freezer");
    if (!support.any()) {
        support.why_not = "resin may not create cgroups under its own (no write access)";
    }
    return support;
}

}  // namespace

CgroupSupport probe_cgroup_support(const CgroupLayout& layout) {
    switch (layout.version) {
        case CgroupVersion::v1:
        case CgroupVersion::hybrid:
            return probe_cgroup_v1(layout);
        case CgroupVersion::v2:
            return probe_cgroup_v2(layout);
        case CgroupVersion::none:
            break;
    }
    CgroupSupport none;
    none.why_not = "no cgroup hierarchy is mounted";
    return none;
}

Result<std::unique_ptr<SandboxCgroup>> create_sandbox_cgroup(const CgroupLayout& layout,
                                                             const CgroupSupport& support,
                                                             const CgroupLimits& limits) {
    if (layout.version == CgroupVersion::v2) {
        return create_cgroup_v2(layout, support, limits);
    }
    return create_cgroup_v1(layout, support, limits);
}

std::string own_sandbox_cgroup_prefix() {
    // Read once per process: the reaper is given this prefix and removes the cgroups named with
    // it, so a read failing once (EMFILE) must not make a name the reaper cannot recognise.
    static std::mutex mutex;
    static pid_t read_by = 0;
    static std::string prefix;
    const std::lock_guard lock(mutex);
    if (read_by != ::getpid()) {
        read_by = ::getpid();
        prefix = kPrefix + own_pid_namespace() + "-" + own_time_namespace() + "-" +
                 std::to_string(read_by) + "-" + start_time_of("self").value_or("") + "-";
    }
    return prefix;
}

std::string sandbox_cgroup_name() {
    // One resin runs one sandbox at a time, but a failed start may be retried and the library may
    // run several: the sequence number keeps their names apart.
    static std::atomic<unsigned> sequence{0};
    return own_sandbox_cgroup_prefix() + std::to_string(sequence++);
}

std::vector<std::string> sandbox_cgroups_named(const std::string& directory,
                                               const std::string& prefix) {
    std::vector<std::string> found;
    DIR* dir = ::opendir(directory.c_str());
    if (dir == nullptr) {
        return found;
    }
    while (const dirent* entry = ::readdir(dir)) {
        const std::string name = entry->d_name;
        if (name.rfind(prefix, 0) == 0 && all_digits(name.substr(prefix.size()))) {
            found.push_back(directory + "/" + name);
        }
    }
    ::closedir(dir);
    return found;
}

std::vector<CgroupDirectory> sandbox_cgroup_parents(const CgroupLayout& layout,
                                                    const CgroupSupport& support,
                                                    bool port_allowlist) {
    std::vector<CgroupDirectory> parents;
    if (layout.version == CgroupVersion::v2) {
        std::string why_not;
        if (auto base = cgroup_v2_base(layout, why_not); support.any() && !base.empty()) {
            parents.push_back({CgroupVersion::v2, base});
        }
        return parents;  // the allowlist attaches to the sandbox's own cgroup
    }
    for (const auto& [controller, usable] :
         {std::pair{"freezer", support.kill}, std::pair{"memory", support.memory},
          std::pair{"cpu", support.cpu}, std::pair{"cpuacct", support.cpu_time},
          std::pair{"pids", support.pids}}) {
        if (auto it = layout.v1_own.find(controller); usable && it != layout.v1_own.end()) {
            parents.push_back({CgroupVersion::v1, it->second});
        }
    }
    if (port_allowlist && layout.version == CgroupVersion::hybrid) {
        parents.push_back({CgroupVersion::v2, layout.unified_own});
    }
    return parents;
}

bool kill_and_remove_sandbox_cgroup(const CgroupDirectory& cgroup) {
    return cgroup.version == CgroupVersion::v2 ? kill_and_remove_cgroup_v2(cgroup.path)
                                               : kill_and_remove_cgroup_v1(cgroup.path);
}

std::vector<CgroupDirectory> stale_sandbox_cgroups(const std::vector<CgroupDirectory>& parents) {
    std::vector<CgroupDirectory> stale;
    const std::string pid_namespace = own_pid_namespace();
    const std::string time_namespace = own_time_namespace();
    if (pid_namespace.empty() || time_namespace.empty() || !proc_is_own()) {
        return stale;  // no owner could be told alive or dead
    }
    std::unordered_map<std::string, std::optional<std::string>> start_times;
    for (const CgroupDirectory& parent : parents) {
        DIR* dir = ::opendir(parent.path.c_str());
        if (dir == nullptr) {
            continue;
        }
        while (const dirent* entry = ::readdir(dir)) {
            const std::string name = entry->d_name;
            if (name.rfind(kPrefix, 0) != 0) {
                continue;
            }
            // Only resin-<pid namespace>-<time namespace>-<pid>-<start time>-<sequence>, all
            // digits, is a sandbox cgroup, or an older resin's resin-<pid namespace>-<pid>-<start
            // time>-<sequence>: anything else beside them (someone's "resin-web-1.service") is not
            // judged.
            std::vector<std::string> parts;
            std::istringstream fields(name.substr(std::string(kPrefix).size()));
            for (std::string part; std::getline(fields, part, '-');) {
                parts.push_back(part);
            }
            if ((parts.size() != 5 && parts.size() != 4) ||
                !std::all_of(parts.begin(), parts.end(), all_digits) || parts[0] != pid_namespace) {
                continue;  // another pid namespace's resin: its pids mean nothing here
            }
            // An older name does not say through which time namespace its start time was read:
            // its owner is dead only if its pid is gone, and a reused pid keeps it.
            const bool names_time_namespace = parts.size() == 5;
            if (names_time_namespace && parts[1] != time_namespace) {
                continue;  // its start time is not the one read here
            }
            const std::string& owner = parts[names_time_namespace ? 2 : 1];
            const std::string& started = parts[names_time_namespace ? 3 : 2];
            auto [known, added] = start_times.try_emplace(owner);
            if (added) {
                known->second = start_time_of(owner);
            }
            const bool owner_gone =
                known->second &&
                (names_time_namespace ? *known->second != started : known->second->empty());
            if (owner_gone) {
                stale.push_back({parent.version, parent.path + "/" + name});
            }
        }
        ::closedir(dir);
    }
    return stale;
}

// One marker per set of parents: resins under one cgroup sweep on their own schedule, not on that
// of resins elsewhere, which sweep other directories. FNV-1a, stable across builds.
std::string cgroup_sweep_marker(const std::vector<CgroupDirectory>& parents) {
    std::uint64_t hash = 14695981039346656037ull;
    for (const CgroupDirectory& parent : parents) {
        for (const char c : parent.path + '\n') {
            hash = (hash ^ static_cast<unsigned char>(c)) * 1099511628211ull;
        }
    }
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(hash));
    return std::string("/run/resin/cgroup-sweep-") + hex;
}

bool cgroup_sweep_due(const std::vector<CgroupDirectory>& parents) {
    const std::string path = cgroup_sweep_marker(parents);
    ::mkdir("/run/resin", 0755);  // as NamespaceOwner does; fails unprivileged
    constexpr int flags = O_RDONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC;
    UniqueFd marker(::open(path.c_str(), flags | O_EXCL, 0600));
    bool due = static_cast<bool>(marker);  // no marker yet: never swept
    if (!marker) {
        marker.reset(::open(path.c_str(), flags, 0600));
    }
    if (!marker) {
        return true;  // nowhere to keep a marker: sweep every time, as an unprivileged resin does
    }
    struct stat info {};
    if (!due && ::fstat(marker.get(), &info) == 0) {
        timespec now{};
        ::clock_gettime(CLOCK_REALTIME, &now);
        const auto since = now.tv_sec - info.st_mtim.tv_sec;
        due = since >= kCgroupSweepIntervalSeconds || since < 0;
    }
    // One resin sweeps; the others go on (the lock goes with the descriptor, at the end of this
    // call: the new mtime then keeps them away).
    if (!due || ::flock(marker.get(), LOCK_EX | LOCK_NB) != 0) {
        return false;
    }
    return ::futimens(marker.get(), nullptr) == 0;
}

void sweep_stale_sandbox_cgroups(const CgroupLayout& layout, const CgroupSupport& support,
                                 bool port_allowlist) {
    const auto parents = sandbox_cgroup_parents(layout, support, port_allowlist);
    if (parents.empty() || !cgroup_sweep_due(parents)) {
        return;
    }
    // Never a kill: a stale sandbox cgroup is empty (the sandbox's init dies with its resin and
    // takes its pid namespace along), and one that is not may be alive after all.
    for (const auto& stale : stale_sandbox_cgroups(parents)) {
        remove_cgroup_directory(stale.path);
    }
}

}  // namespace resin::sandbox
