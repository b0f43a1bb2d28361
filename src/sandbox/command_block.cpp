#include "sandbox/command_block.hpp"

#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <unordered_map>

namespace resin::sandbox {
namespace {

// u64 argc, u64 envc, u64 cwd offset; then argc + 1 + envc + 1 u64 slots, each a string's offset
// from the block's start (0 in the two terminating slots); then the strings, each NUL-terminated.
struct BlockHeader {
    std::uint64_t argc;
    std::uint64_t envc;
    std::uint64_t cwd_offset;
};
static_assert(sizeof(char*) == sizeof(std::uint64_t), "the slots become pointers in place");

std::string_view name_of(std::string_view entry) {
    return entry.substr(0, entry.find('='));
}

}  // namespace

std::vector<std::string> apply_environment_changes(std::vector<std::string> base,
                                                   const std::vector<std::string>& changes) {
    // Linear: a Start may carry a hundred thousand changes, and resin applies them as root,
    // outside every limit of the sandbox.
    std::unordered_map<std::string, std::size_t> index;
    std::vector<bool> removed(base.size(), false);
    for (std::size_t i = 0; i < base.size(); ++i) {
        index.insert_or_assign(std::string(name_of(base[i])), i);
    }
    for (const std::string& change : changes) {
        const std::string_view name = name_of(change);
        const bool sets = change.size() > name.size();
        if (auto it = index.find(std::string(name)); it != index.end() && !removed[it->second]) {
            if (sets) {
                base[it->second] = change;
            } else {
                removed[it->second] = true;
            }
        } else if (sets) {
            base.push_back(change);
            removed.push_back(false);
            index.insert_or_assign(std::string(name), base.size() - 1);
        }
    }
    std::vector<std::string> result;
    result.reserve(base.size());
    for (std::size_t i = 0; i < base.size(); ++i) {
        if (!removed[i]) {
            result.push_back(std::move(base[i]));
        }
    }
    return result;
}

Result<void> write_command_block(int memfd, const std::vector<std::string>& argv,
                                 const std::vector<std::string>& envp, const std::string& cwd) {
    const std::size_t slots = argv.size() + 1 + envp.size() + 1;
    std::vector<std::uint64_t> index(slots, 0);
    std::string strings;
    std::uint64_t next = sizeof(BlockHeader) + slots * sizeof(std::uint64_t);
    const auto add = [&](const std::string& text) {
        const std::uint64_t offset = next + strings.size();
        strings.append(text).push_back('\0');
        return offset;
    };
    BlockHeader header{argv.size(), envp.size(), add(cwd)};
    for (std::size_t i = 0; i < argv.size(); ++i) {
        index[i] = add(argv[i]);
    }
    for (std::size_t i = 0; i < envp.size(); ++i) {
        index[argv.size() + 1 + i] = add(envp[i]);
    }
    std::string block(reinterpret_cast<const char*>(&header), sizeof header);
    block.append(reinterpret_cast<const char*>(index.data()), slots * sizeof(std::uint64_t));
    block += strings;
    std::size_t written = 0;
    while (written < block.size()) {
        const ssize_t n = ::pwrite(memfd, block.data() + written, block.size() - written,
                                   static_cast<off_t>(written));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return system_error(ErrorKind::internal, "handing the command to the sandbox", errno);
        }
        written += static_cast<std::size_t>(n);
    }
    return success();
}

bool map_command_block(int memfd, CommandView& view) {
    struct stat st {};
    if (::fstat(memfd, &st) != 0 || st.st_size < static_cast<off_t>(sizeof(BlockHeader))) {
        return false;
    }
    const auto size = static_cast<std::uint64_t>(st.st_size);
    void* mapped = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, memfd, 0);
    if (mapped == MAP_FAILED) {
        return false;
    }
    auto* bytes = static_cast<char*>(mapped);
    BlockHeader header{};
    std::memcpy(&header, bytes, sizeof header);
    const std::uint64_t most_slots = size / sizeof(std::uint64_t);
    if (header.argc == 0 || header.argc >= most_slots || header.envc >= most_slots ||
        header.argc + header.envc + 2 > most_slots) {
        return false;
    }
    const std::uint64_t slots = header.argc + header.envc + 2;
    const std::uint64_t strings_start = sizeof header + slots * sizeof(std::uint64_t);
    // Every string ends before the block does, so a valid offset is a terminated string.
    const auto valid = [&](std::uint64_t offset) {
        return offset >= strings_start && offset < size;
    };
    if (strings_start >= size || bytes[size - 1] != '\0' || !valid(header.cwd_offset)) {
        return false;
    }
    char* const slots_start = bytes + sizeof header;
    for (std::uint64_t i = 0; i < slots; ++i) {
        std::uint64_t offset = 0;
        std::memcpy(&offset, slots_start + i * sizeof offset, sizeof offset);
        const bool terminator = i == header.argc || i == slots - 1;
        if (terminator ? offset != 0 : !valid(offset)) {
            return false;
        }
        char* const pointer = terminator ? nullptr : bytes + offset;
        std::memcpy(slots_start + i * sizeof offset, &pointer, sizeof pointer);
    }
    auto** const pointers = reinterpret_cast<char**>(slots_start);
    view.argv = pointers;
    view.envp = pointers + header.argc + 1;
    view.cwd = bytes + header.cwd_offset;
    return true;
}

}  // namespace resin::sandbox
