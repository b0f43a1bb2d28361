// The command block resin hands a prepared sandbox's init: what init reads back is what resin
// wrote, a malformed block is refused rather than followed, and Start's environment changes apply
// in order.
#include "sandbox/command_block.hpp"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "sandbox/unique_fd.hpp"

namespace resin::sandbox {
namespace {

UniqueFd memfd_with(const std::string& bytes) {
    UniqueFd fd(::memfd_create("test-block", MFD_CLOEXEC));
    EXPECT_EQ(::write(fd.get(), bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
    return fd;
}

std::vector<std::string> strings_of(char** list) {
    std::vector<std::string> out;
    for (; *list != nullptr; ++list) {
        out.emplace_back(*list);
    }
    return out;
}

std::string contents_of(int fd) {
    std::string bytes(static_cast<std::size_t>(::lseek(fd, 0, SEEK_END)), '\0');
    EXPECT_EQ(::pread(fd, bytes.data(), bytes.size(), 0), static_cast<ssize_t>(bytes.size()));
    return bytes;
}

TEST(CommandBlock, InitReadsBackWhatResinWrote) {
    const std::vector<std::string> argv = {"/bin/sh", "-c", "echo hi", ""};
    const std::vector<std::string> envp = {"PATH=/usr/bin", "EMPTY="};
    UniqueFd fd(::memfd_create("test-block", MFD_CLOEXEC));
    ASSERT_TRUE(write_command_block(fd.get(), argv, envp, "/tmp").has_value());
    CommandView view;
    ASSERT_TRUE(map_command_block(fd.get(), view));
    EXPECT_EQ(strings_of(view.argv), argv);
    EXPECT_EQ(strings_of(view.envp), envp);
    EXPECT_STREQ(view.cwd, "/tmp");
}

TEST(CommandBlock, EveryTruncationAndEveryFlippedByteIsRefusedOrStaysInsideTheBlock) {
    UniqueFd written(::memfd_create("test-block", MFD_CLOEXEC));
    ASSERT_TRUE(write_command_block(written.get(), {"/bin/true", "a"}, {"A=1"}, "/").has_value());
    const std::string block = contents_of(written.get());
    for (std::size_t size = 0; size < block.size(); ++size) {
        CommandView view;
        EXPECT_FALSE(map_command_block(memfd_with(block.substr(0, size)).get(), view)) << size;
    }
    for (std::size_t i = 0; i < block.size(); ++i) {
        std::string flipped = block;
        flipped[i] = static_cast<char>(flipped[i] ^ 0x80);
        CommandView view;
        if (map_command_block(memfd_with(flipped).get(), view)) {
            // Accepted: every string it points at is terminated within the mapping (the last
            // byte is NUL and every pointer lies before it).
            for (char** entry = view.argv; *entry != nullptr; ++entry) {
                EXPECT_LT(std::strlen(*entry), block.size());
            }
            EXPECT_LT(std::strlen(view.cwd), block.size());
        }
    }
}

TEST(CommandBlock, EnvironmentChangesSetReplaceAndRemoveInOrder) {
    const std::vector<std::string> base = {"PATH=/bin", "HOME=/root", "LANG=C"};
    EXPECT_EQ(apply_environment_changes(base, {"A=1", "HOME", "PATH=/usr/bin", "A=2", "B=x=y"}),
              (std::vector<std::string>{"PATH=/usr/bin", "LANG=C", "A=2", "B=x=y"}));
    EXPECT_EQ(apply_environment_changes(base, {"HOME", "HOME=/tmp"}),
              (std::vector<std::string>{"PATH=/bin", "LANG=C", "HOME=/tmp"}));
    EXPECT_EQ(apply_environment_changes(base, {"NOT_SET", "LANG", "LANG"}),
              (std::vector<std::string>{"PATH=/bin", "HOME=/root"}));
    EXPECT_EQ(apply_environment_changes({}, {"EMPTY="}), (std::vector<std::string>{"EMPTY="}));
}

}  // namespace
}  // namespace resin::sandbox
