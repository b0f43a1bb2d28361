#include "config/profile_loader.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <fstream>
#include <functional>
#include <optional>
#include <set>

#include "config/config_parse.hpp"
#include "config/json_reader.hpp"
#include "config/mount_merge.hpp"

namespace resin::sandbox {
namespace {

using Json = nlohmann::json;
namespace fs = std::filesystem;

using ParsedDocument = std::variant<Json, ConfigError>;

struct Profile {
    std::string source;            // names the document in errors
    std::optional<fs::path> file;  // absent for a document from the protocol
    Json document;
};

// A profile being resolved; `identity` (its canonical path) is what a cycle repeats.
struct ChainLink {
    std::string source;
    std::optional<fs::path> identity;
};
using Chain = std::vector<ChainLink>;

// Finds a key repeated within one JSON object: nlohmann::json would keep the last value silently,
// so a second "mode" could quietly override the first.
class DuplicateKeyFinder {
  public:
    bool operator()(int, Json::parse_event_t event, Json& parsed) {
        switch (event) {
            case Json::parse_event_t::object_start:
            case Json::parse_event_t::array_start:
                frames_.push_back(
                    Frame{child_pointer(), event == Json::parse_event_t::array_start, 0, {}, {}});
                break;
            case Json::parse_event_t::key: {
                Frame& frame = frames_.back();
                frame.key = parsed.get<std::string>();
                if (!frame.keys.insert(frame.key).second && !duplicate_) {
                    duplicate_ = frame.pointer + "/" + escape_pointer_token(frame.key);
                }
                break;
            }
            case Json::parse_event_t::object_end:
            case Json::parse_event_t::array_end:
                frames_.pop_back();
                next_array_item();
                break;
            case Json::parse_event_t::value:
                next_array_item();
                break;
        }
        return true;
    }

    const std::optional<std::string>& duplicate() const { return duplicate_; }

  private:
    struct Frame {
        std::string pointer;
        bool array = false;
        std::size_t index = 0;
        std::set<std::string> keys;
        std::string key;
    };

    std::string child_pointer() const {
        if (frames_.empty()) {
            return "";
        }
        const Frame& frame = frames_.back();
        return frame.pointer + "/" +
               (frame.array ? std::to_string(frame.index) : escape_pointer_token(frame.key));
    }

    void next_array_item() {
        if (!frames_.empty() && frames_.back().array) {
            ++frames_.back().index;
        }
    }

    std::vector<Frame> frames_;
    std::optional<std::string> duplicate_;
};

ParsedDocument parse_json_text(std::string_view text, const std::string& source) {
    try {
        DuplicateKeyFinder finder;
        Json document = Json::parse(text, std::ref(finder));
        if (finder.duplicate()) {
            return ConfigError{source, *finder.duplicate(),
                               "this key appears twice in the same object; say it once"};
        }
        return document;
    } catch (const Json::parse_error& error) {
        // what() is "[json.exception.parse_error.101] parse error at line 3, column 5: ...".
        std::string_view message = error.what();
        if (const auto prefix_end = message.find("] "); prefix_end != std::string_view::npos) {
            message.remove_prefix(prefix_end + 2);
        }
        return ConfigError{source, "", "invalid JSON: " + std::string(message)};
    }
}

ParsedDocument read_json_file(const fs::path& path) {
    const std::string source = path.string();
    std::error_code error;
    const fs::file_status status = fs::status(path, error);
    if (error) {
        return ConfigError{source, "", "cannot read: " + error.message()};
    }
    if (!fs::is_regular_file(status)) {
        return ConfigError{source, "", "cannot read: not a regular file"};
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        return ConfigError{source, "", std::string("cannot read: ") + std::strerror(errno)};
    }
    // In chunks, not one buffer of the maximum size: zeroing and faulting in a megabyte would
    // cost every resin start more than parsing the profile.
    std::string text;
    std::array<char, 16384> chunk;
    while (text.size() <= kMaxProfileBytes && in) {
        in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
        text.append(chunk.data(), static_cast<std::size_t>(in.gcount()));
    }
    if (in.bad()) {
        return ConfigError{source, "", std::string("cannot read: ") + std::strerror(errno)};
    }
    if (text.size() > kMaxProfileBytes) {
        return ConfigError{
            source, "", "cannot read: larger than " + std::to_string(kMaxProfileBytes) + " bytes"};
    }
    return parse_json_text(text, source);
}

fs::path identity_of(const fs::path& file) {
    std::error_code error;
    fs::path canonical = fs::weakly_canonical(file, error);
    return error ? fs::absolute(file, error).lexically_normal() : canonical;
}

bool is_profile_name(std::string_view text) {
    const auto allowed = [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    };
    return !text.empty() && text.front() != '_' && text.front() != '-' &&
           std::all_of(text.begin(), text.end(), allowed);
}

bool is_profile_path(std::string_view text) {
    return text.find('/') != std::string_view::npos || text.ends_with(".json");
}

std::string describe_chain(const Chain& chain, const std::string& last) {
    std::string text;
    for (const ChainLink& link : chain) {
        text += link.source + " -> ";
    }
    return text + last;
}

// Follows `extends` from document to parent, validating each on its own and collecting errors.
class ExtendsResolver {
  public:
    explicit ExtendsResolver(const SearchPath& search_path) : search_path_(search_path) {}

    // The profile merged onto its ancestors, without `extends`; nullopt after recording errors.
    std::optional<Json> resolve(const Profile& profile, Chain chain) {
        bool valid = true;
        auto own = parse_config(profile.document, profile.source);
        if (auto* errors = std::get_if<std::vector<ConfigError>>(&own)) {
            errors_.insert(errors_.end(), errors->begin(), errors->end());
            valid = false;
        }
        chain.push_back({profile.source,
                         profile.file ? std::optional(identity_of(*profile.file)) : std::nullopt});
        Json merged = Json::object();
        const auto extends = profile.document.is_object() ? profile.document.find("extends")
                                                          : profile.document.end();
        if (extends != profile.document.end() && extends->is_string()) {
            auto parent = load_parent(profile, extends->get<std::string>(), chain);
            auto parent_merged = parent ? resolve(*parent, chain) : std::nullopt;
            valid = valid && parent_merged.has_value();
            if (parent_merged) {
                merged = std::move(*parent_merged);
            }
        }
        if (!valid) {
            return std::nullopt;
        }
        Json patch = profile.document;
        auto merge_errors = merge_mount_lists(merged, patch, profile.source);
        if (!merge_errors.empty()) {
            errors_.insert(errors_.end(), merge_errors.begin(), merge_errors.end());
            return std::nullopt;
        }
        merged.merge_patch(patch);
        merged.erase("extends");
        return merged;
    }

    std::vector<ConfigError> take_errors() { return std::move(errors_); }

    // The source to name the merged document by: the loaded one and every profile it extends.
    std::string merged_source(const std::string& top) const {
        if (ancestors_.empty()) {
            return top;
        }
        std::string text = top + " (merged with ";
        for (std::size_t i = 0; i < ancestors_.size(); ++i) {
            text += (i == 0 ? "" : ", ") + ancestors_[i];
        }
        return text + ")";
    }

  private:
    void fail(const Profile& profile, std::string message) {
        errors_.push_back(ConfigError{profile.source, "/extends", std::move(message)});
    }

    std::optional<fs::path> locate(const Profile& profile, const std::string& extends) {
        if (extends.find('\0') != std::string::npos) {
            fail(profile, "must not contain a NUL byte");
            return std::nullopt;
        }
        if (is_profile_path(extends)) {
            const fs::path path(extends);
            if (path.is_absolute()) {
                return path;
            }
            if (!profile.file) {
                fail(profile,
                     "a relative path cannot be resolved here (the config did not come "
                     "from a file): use a profile name or an absolute path, got " +
                         describe_json(extends));
                return std::nullopt;
            }
            // Lexically, as written: "../base.json" is next to the file's directory.
            return (profile.file->parent_path() / path).lexically_normal();
        }
        if (!is_profile_name(extends)) {
            fail(profile,
                 "must be a profile name ([a-z0-9][a-z0-9_-]*) or a path (containing '/' or "
                 "ending in .json), got " +
                     describe_json(extends));
            return std::nullopt;
        }
        if (auto found = find_profile(search_path_, extends)) {
            return found;
        }
        std::string searched;
        for (const auto& dir : search_path_.dirs) {
            searched += (searched.empty() ? "" : ", ") + dir.string();
        }
        fail(profile, "profile " + describe_json(extends) + " not found; searched: " +
                          (searched.empty() ? "(no directories)" : searched));
        return std::nullopt;
    }

    std::optional<Profile> load_parent(const Profile& profile, const std::string& extends,
                                       const Chain& chain) {
        const auto path = locate(profile, extends);
        if (!path) {
            return std::nullopt;
        }
        const fs::path identity = identity_of(*path);
        const bool cycle = std::any_of(chain.begin(), chain.end(), [&](const ChainLink& link) {
            return link.identity == identity;
        });
        if (cycle) {
            fail(profile, "extends cycle: " + describe_chain(chain, path->string()));
            return std::nullopt;
        }
        if (chain.size() > kMaxExtendsDepth) {
            fail(profile, "more than " + std::to_string(kMaxExtendsDepth) +
                              " nested extends: " + describe_chain(chain, path->string()));
            return std::nullopt;
        }
        ancestors_.push_back(path->string());
        auto parsed = read_json_file(*path);
        if (auto* error = std::get_if<ConfigError>(&parsed)) {
            errors_.push_back(std::move(*error));
            return std::nullopt;
        }
        return Profile{path->string(), *path, std::get<Json>(std::move(parsed))};
    }

    const SearchPath& search_path_;
    std::vector<ConfigError> errors_;
    std::vector<std::string> ancestors_;
};

ConfigLoadResult load_profile(const Profile& profile, const SearchPath& search_path) {
    ExtendsResolver resolver(search_path);
    auto merged = resolver.resolve(profile, {});
    if (!merged) {
        return resolver.take_errors();
    }
    auto parsed = parse_config(*merged, resolver.merged_source(profile.source));
    if (auto* errors = std::get_if<std::vector<ConfigError>>(&parsed)) {
        return std::move(*errors);
    }
    return LoadedConfig{std::get<Config>(std::move(parsed)), std::move(*merged)};
}

}  // namespace

ConfigLoadResult load_config_file(const fs::path& path, const SearchPath& search_path) {
    auto parsed = read_json_file(path);
    if (auto* error = std::get_if<ConfigError>(&parsed)) {
        return std::vector<ConfigError>{std::move(*error)};
    }
    return load_profile(Profile{path.string(), path, std::get<Json>(std::move(parsed))},
                        search_path);
}

ConfigLoadResult load_config_text(std::string_view json_text, const std::string& source,
                                  const SearchPath& search_path) {
    auto parsed = parse_json_text(json_text, source);
    if (auto* error = std::get_if<ConfigError>(&parsed)) {
        return std::vector<ConfigError>{std::move(*error)};
    }
    return load_profile(Profile{source, std::nullopt, std::get<Json>(std::move(parsed))},
                        search_path);
}

}  // namespace resin::sandbox
