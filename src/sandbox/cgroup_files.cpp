#include "sandbox/cgroup_files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>
#include <thread>

#include "sandbox/unique_fd.hpp"

namespace resin::sandbox {

Result<void> write_cgroup_file(const std::string& path, const std::string& value) {
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
    if (!fd) {
        return system_error(ErrorKind::spawn_failed, "opening " + path, errno);
    }
    if (::write(fd.get(), value.data(), value.size()) != static_cast<ssize_t>(value.size())) {
        return system_error(ErrorKind::spawn_failed, "writing '" + value + "' to " + path, errno);
    }
    return success();
}

std::optional<std::string> read_cgroup_file(const std::string& path) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) {
        return std::nullopt;
    }
    std::string contents;
    char buffer[4096];
    ssize_t got;
    while ((got = ::read(fd.get(), buffer, sizeof buffer)) > 0) {
        contents.append(buffer, static_cast<std::size_t>(got));
    }
    if (got < 0) {
        return std::nullopt;
    }
    return contents;
}

std::optional<std::uint64_t> read_cgroup_u64(const std::string& path) {
    auto contents = read_cgroup_file(path);
    if (!contents) {
        return std::nullopt;
    }
    try {
        return std::stoull(*contents);
    } catch (...) {
        return std::nullopt;  // "max"
    }
}

std::optional<std::uint64_t> read_cgroup_key(const std::string& path, const std::string& key) {
    auto contents = read_cgroup_file(path);
    if (!contents) {
        return std::nullopt;
    }
    std::istringstream lines(*contents);
    std::string name;
    std::uint64_t value = 0;
    while (lines >> name >> value) {
        if (name == key) {
            return value;
        }
    }
    return std::nullopt;
}

std::vector<pid_t> read_cgroup_procs(const std::string& directory) {
    std::vector<pid_t> pids;
    std::ifstream procs(directory + "/cgroup.procs");
    for (pid_t pid; procs >> pid;) {
        // A task outside the reader's pid namespace reads as 0, and kill(0) would signal the
        // caller's own process group.
        if (pid > 0) {
            pids.push_back(pid);
        }
    }
    return pids;
}

bool path_exists(const std::string& path) {
    struct stat info {};
    return ::stat(path.c_str(), &info) == 0;
}

int join_cgroups_self(const std::vector<std::string>& files, const char** failed) {
    for (const auto& file : files) {
        UniqueFd fd(::open(file.c_str(), O_WRONLY | O_CLOEXEC));
        if (!fd || ::write(fd.get(), "0", 1) != 1) {
            *failed = file.c_str();
            return errno;
        }
    }
    return 0;
}

bool remove_cgroup_directory(const std::string& directory) {
    // Killed tasks leave the cgroup a moment after they are reaped; 200 x 1 ms bounds the wait.
    for (int attempt = 0; attempt < 200; ++attempt) {
        if (::rmdir(directory.c_str()) == 0 || errno == ENOENT) {
            return true;
        }
        if (errno != EBUSY) {
            return false;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return false;
}

}  // namespace resin::sandbox
