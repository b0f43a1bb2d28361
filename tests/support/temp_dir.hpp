// A temporary directory (under /tmp unless told otherwise), removed with its contents when the
// owner goes.
#pragma once

#include <sys/types.h>

#include <string>

namespace resin::test {

class TempDir {
  public:
    // `mode` is applied exactly (umask aside): a sandbox whose uid is not ours must be able to
    // reach, and for rw mounts write, what the test puts here.
    explicit TempDir(mode_t mode = 0755, const std::string& parent = "/tmp");
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    ~TempDir();

    const std::string& path() const { return path_; }
    std::string operator/(const std::string& name) const { return path_ + "/" + name; }

  private:
    std::string path_;
};

// Writes `contents` to `path`, replacing it; fails the test if it cannot.
void write_file(const std::string& path, const std::string& contents, mode_t mode = 0644);

// The contents of `path`, or "" if it cannot be read (a process that has gone, for instance).
std::string read_file(const std::string& path);

// A string no other test, process or run uses: for socket names and command lines.
std::string unique_token();

}  // namespace resin::test
