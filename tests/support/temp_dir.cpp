#include "support/temp_dir.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>

namespace resin::test {

TempDir::TempDir(mode_t mode, const std::string& parent) {
    std::string pattern = parent + "/resin-test-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr || ::chmod(pattern.c_str(), mode) != 0) {
        ADD_FAILURE() << "creating " << pattern << ": " << std::strerror(errno);
    }
    path_ = pattern;
}

TempDir::~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
}

void write_file(const std::string& path, const std::string& contents, mode_t mode) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    const bool written =
        fd >= 0 &&
        ::write(fd, contents.data(), contents.size()) == static_cast<ssize_t>(contents.size()) &&
        ::fchmod(fd, mode) == 0;
    if (!written) {
        ADD_FAILURE() << "writing " << path << ": " << std::strerror(errno);
    }
    if (fd >= 0) {
        ::close(fd);
    }
}

std::string read_file(const std::string& path) {
    std::string contents;
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return contents;
    }
    char buffer[4096];
    ssize_t got;
    while ((got = ::read(fd, buffer, sizeof buffer)) > 0) {
        contents.append(buffer, static_cast<std::size_t>(got));
    }
    ::close(fd);
    return contents;
}

std::string unique_token() {
    static std::atomic<unsigned> counter{0};
    timespec now{};
    ::clock_gettime(CLOCK_REALTIME, &now);
    return std::to_string(::getpid()) + std::to_string(now.tv_nsec) +
           std::to_string(counter.fetch_add(1));
}

}  // namespace resin::test
