// A fresh directory under /tmp, removed with everything in it when the test ends.
#pragma once

#include <filesystem>
#include <string>

namespace resin::test {

class TempDir {
  public:
    // World-readable (0755), so a sandboxed command running as nobody can use what is in it.
    TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    ~TempDir();

    const std::filesystem::path& path() const { return path_; }
    // Writes `contents` to `name` in the directory with `mode`; returns the file's path.
    std::string write_file(const std::string& name, const std::string& contents,
                           std::filesystem::perms mode = std::filesystem::perms(0644));

  private:
    std::filesystem::path path_;
};

}  // namespace resin::test
