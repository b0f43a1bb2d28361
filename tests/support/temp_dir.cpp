#include "support/temp_dir.hpp"

#include <stdlib.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>

namespace resin::test {

TempDir::TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "resin-test-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
        throw std::runtime_error(std::string("mkdtemp: ") + std::strerror(errno));
    }
    path_ = pattern;
    std::filesystem::permissions(path_, std::filesystem::perms(0755));
}

TempDir::~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
}

std::string TempDir::write_file(const std::string& name, const std::string& contents,
                                std::filesystem::perms mode) {
    const auto file = path_ / name;
    std::ofstream(file, std::ios::binary) << contents;
    std::filesystem::permissions(file, mode);
    return file.string();
}

}  // namespace resin::test
