#include "config/config_rules.hpp"

#include <linux/limits.h>
#include <seccomp.h>
#include <sys/capability.h>

#include <algorithm>
#include <memory>

namespace resin::sandbox {
namespace {

constexpr std::size_t kMaxHostnameLength = 64;

bool is_ascii_alnum(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

char to_lower(char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}
char to_upper(char c) {
    return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
}

struct CapFree {
    void operator()(char* text) const { cap_free(text); }
};

}  // namespace

std::optional<std::string> check_path(std::string_view path) {
    if (path.find('\0') != std::string_view::npos) {
        return "must not contain a NUL byte";
    }
    if (path.size() >= PATH_MAX) {
        return "must be shorter than " + std::to_string(PATH_MAX) + " bytes";
    }
    if (!path.starts_with('/')) {
        return "must be an absolute path";
    }
    if (path == "/") {
        return std::nullopt;
    }
    if (path.ends_with('/')) {
        return "must not end with '/'";
    }
    for (std::string_view rest = path.substr(1); !rest.empty();) {
        const std::size_t end = std::min(rest.find('/'), rest.size());
        const std::string_view component = rest.substr(0, end);
        if (component.empty()) {
            return "must not contain '//'";
        }
        if (component == "." || component == "..") {
            return "must be normalised (no '.' or '..' component)";
        }
        rest.remove_prefix(std::min(end + 1, rest.size()));
    }
    return std::nullopt;
}

std::optional<std::string> check_hostname(std::string_view hostname) {
    const bool valid_chars = std::all_of(hostname.begin(), hostname.end(), [](char c) {
        return is_ascii_alnum(c) || c == '.' || c == '-';
    });
    if (hostname.empty() || hostname.size() > kMaxHostnameLength || !valid_chars ||
        hostname.front() == '-' || hostname.front() == '.') {
        return "must be 1 to 64 characters of A-Z, a-z, 0-9, '.' and '-', not starting with '-' "
               "or '.'";
    }
    return std::nullopt;
}

std::optional<std::string> check_env_name(std::string_view name) {
    if (name.empty() || name.find('=') != std::string_view::npos ||
        name.find('\0') != std::string_view::npos) {
        return "must be non-empty and without '=' or NUL";
    }
    return std::nullopt;
}

std::optional<std::string> check_env_value(std::string_view value) {
    if (value.find('\0') != std::string_view::npos) {
        return "must not contain a NUL byte";
    }
    return std::nullopt;
}

bool is_known_syscall(std::string_view name) {
    if (name.empty() || name.find('\0') != std::string_view::npos) {
        return false;
    }
    return seccomp_syscall_resolve_name(std::string(name).c_str()) != __NR_SCMP_ERROR;
}

std::optional<std::string> canonical_capability(std::string_view name) {
    // cap_from_name() also accepts numbers and comma-separated lists; only a single name may pass.
    const bool name_shaped = name.size() > 4 && std::all_of(name.begin(), name.end(), [](char c) {
                                 return is_ascii_alnum(c) || c == '_';
                             });
    if (!name_shaped) {
        return std::nullopt;
    }
    std::string lower(name);
    std::transform(lower.begin(), lower.end(), lower.begin(), to_lower);
    if (!lower.starts_with("cap_")) {
        return std::nullopt;
    }
    cap_value_t value = 0;
    if (cap_from_name(lower.c_str(), &value) != 0) {
        return std::nullopt;
    }
    const std::unique_ptr<char, CapFree> known(cap_to_name(value));
    if (known == nullptr || lower != known.get()) {
        return std::nullopt;
    }
    std::transform(lower.begin(), lower.end(), lower.begin(), to_upper);
    return lower;
}

}  // namespace resin::sandbox
