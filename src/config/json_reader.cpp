#include "config/json_reader.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <stdexcept>

namespace resin::sandbox {
namespace {

constexpr std::size_t kMaxDescribedStringBytes = 64;

std::vector<std::string> split_pointer(std::string_view pointer) {
    std::vector<std::string> tokens;
    while (!pointer.empty()) {
        pointer.remove_prefix(1);  // the '/'
        const std::size_t end = std::min(pointer.find('/'), pointer.size());
        std::string token;
        for (std::size_t i = 0; i < end; ++i) {
            if (pointer[i] == '~' && i + 1 < end) {
                token += pointer[i + 1] == '1' ? '/' : '~';
                ++i;
            } else {
                token += pointer[i];
            }
        }
        tokens.push_back(std::move(token));
        pointer.remove_prefix(end);
    }
    return tokens;
}

bool is_index(const std::string& token) {
    return !token.empty() &&
           std::all_of(token.begin(), token.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Array indices compare as numbers (2 before 10), keys as nlohmann::json orders them.
bool token_less(const std::string& a, const std::string& b) {
    if (is_index(a) && is_index(b) && a.size() != b.size()) {
        return a.size() < b.size();
    }
    return a < b;
}

bool pointer_less(const std::string& a, const std::string& b) {
    const auto ta = split_pointer(a);
    const auto tb = split_pointer(b);
    return std::lexicographical_compare(ta.begin(), ta.end(), tb.begin(), tb.end(), token_less);
}

std::string join(const std::vector<std::string_view>& items) {
    std::string out;
    for (std::string_view item : items) {
        out += out.empty() ? "" : ", ";
        out += item;
    }
    return out;
}

// A missing member and a member set to null are both absent.
JsonValue member_of(const nlohmann::json& object, const std::string& key,
                    const std::string& pointer, const std::string& pattern,
                    JsonReadContext& context) {
    const auto it = object.find(key);
    const nlohmann::json* found = it == object.end() || it->is_null() ? nullptr : &*it;
    const std::string token = escape_pointer_token(key);
    return JsonValue(found, pointer + "/" + token, pattern + "/" + token, context);
}

}  // namespace

JsonReadContext::JsonReadContext(std::string source, std::span<const std::string_view> key_patterns)
    : source_(std::move(source)), key_patterns_(key_patterns) {}

void JsonReadContext::add_error(std::string pointer, std::string message) {
    errors_.push_back(ConfigError{source_, std::move(pointer), std::move(message)});
}

std::vector<ConfigError> JsonReadContext::take_errors() {
    std::stable_sort(errors_.begin(), errors_.end(),
                     [](const ConfigError& a, const ConfigError& b) {
                         return pointer_less(a.pointer, b.pointer);
                     });
    return std::move(errors_);
}

bool JsonReadContext::is_known_key(std::string_view pattern) const {
    return std::find(key_patterns_.begin(), key_patterns_.end(), pattern) != key_patterns_.end();
}

std::vector<std::string_view> JsonReadContext::keys_under(std::string_view pattern) const {
    std::vector<std::string_view> keys;
    for (std::string_view candidate : key_patterns_) {
        if (candidate.size() > pattern.size() + 1 && candidate.starts_with(pattern) &&
            candidate[pattern.size()] == '/') {
            const std::string_view rest = candidate.substr(pattern.size() + 1);
            if (rest.find('/') == std::string_view::npos) {
                keys.push_back(rest);
            }
        }
    }
    return keys;
}

JsonValue::JsonValue(const nlohmann::json* value, std::string pointer, std::string pattern,
                     JsonReadContext& context)
    : value_(value),
      pointer_(std::move(pointer)),
      pattern_(std::move(pattern)),
      context_(&context) {}

JsonValue JsonValue::root(const nlohmann::json& document, JsonReadContext& context) {
    return JsonValue(&document, "", "", context);
}

void JsonValue::fail(std::string message) const {
    context_->add_error(pointer_, std::move(message));
}

void JsonValue::reject(std::string_view requirement) const {
    fail(std::string(requirement) + ", got " + (value_ ? describe_json(*value_) : "nothing"));
}

bool JsonValue::check(bool ok, std::string_view expected) const {
    if (!ok) {
        reject(expected);
    }
    return ok;
}

std::optional<bool> JsonValue::boolean() const {
    if (!present() || !check(value_->is_boolean(), "must be true or false")) {
        return std::nullopt;
    }
    return value_->get<bool>();
}

std::optional<std::uint64_t> JsonValue::integer(std::uint64_t min, std::uint64_t max) const {
    if (!present()) {
        return std::nullopt;
    }
    // A value built in code rather than parsed may hold a non-negative integer as signed.
    const bool non_negative = value_->is_number_unsigned() ||
                              (value_->is_number_integer() && value_->get<std::int64_t>() >= 0);
    const std::uint64_t number = non_negative ? value_->get<std::uint64_t>() : 0;
    if (!check(
            non_negative && number >= min && number <= max,
            "must be an integer between " + std::to_string(min) + " and " + std::to_string(max))) {
        return std::nullopt;
    }
    return number;
}

std::optional<double> JsonValue::number(double min, double max) const {
    if (!present()) {
        return std::nullopt;
    }
    const bool in_range =
        value_->is_number() && value_->get<double>() >= min && value_->get<double>() <= max;
    if (!check(in_range,
               "must be a number between " + format_number(min) + " and " + format_number(max))) {
        return std::nullopt;
    }
    return value_->get<double>();
}

std::optional<std::string> JsonValue::string() const {
    if (!present() || !check(value_->is_string(), "must be a string")) {
        return std::nullopt;
    }
    return value_->get<std::string>();
}

std::optional<std::vector<JsonValue>> JsonValue::array() const {
    if (!present() || !check(value_->is_array(), "must be an array")) {
        return std::nullopt;
    }
    std::vector<JsonValue> items;
    items.reserve(value_->size());
    for (std::size_t i = 0; i < value_->size(); ++i) {
        items.emplace_back(&(*value_)[i], pointer_ + "/" + std::to_string(i), pattern_ + "/*",
                           *context_);
    }
    return items;
}

std::optional<JsonObject> JsonValue::object() const {
    if (!present() || !check(value_->is_object(), "must be an object")) {
        return std::nullopt;
    }
    for (const auto& [key, unused] : value_->items()) {
        const std::string token = escape_pointer_token(key);
        if (!context_->is_known_key(pattern_ + "/" + token)) {
            context_->add_error(pointer_ + "/" + token, "unknown key; expected one of: " +
                                                            join(context_->keys_under(pattern_)));
        }
    }
    return JsonObject(*value_, pointer_, pattern_, *context_);
}

std::optional<std::vector<std::pair<std::string, JsonValue>>> JsonValue::map() const {
    if (!present() || !check(value_->is_object(), "must be an object")) {
        return std::nullopt;
    }
    std::vector<std::pair<std::string, JsonValue>> members;
    for (const auto& [key, value] : value_->items()) {
        members.emplace_back(key, member_of(*value_, key, pointer_, pattern_, *context_));
    }
    return members;
}

JsonObject::JsonObject(const nlohmann::json& object, std::string pointer, std::string pattern,
                       JsonReadContext& context)
    : object_(&object),
      pointer_(std::move(pointer)),
      pattern_(std::move(pattern)),
      context_(&context) {}

JsonValue JsonObject::get(std::string_view key) const {
    const std::string token = escape_pointer_token(key);
    if (!context_->is_known_key(pattern_ + "/" + token)) {
        throw std::logic_error("the config parser reads an undeclared key: " + pattern_ + "/" +
                               token);
    }
    return member_of(*object_, std::string(key), pointer_, pattern_, *context_);
}

JsonValue JsonObject::require(std::string_view key) const {
    JsonValue value = get(key);
    if (!value.present()) {
        value.fail("is required");
    }
    return value;
}

std::string escape_pointer_token(std::string_view token) {
    std::string out;
    for (char c : token) {
        if (c == '~') {
            out += "~0";
        } else if (c == '/') {
            out += "~1";
        } else {
            out += c;
        }
    }
    return out;
}

std::string describe_json(const nlohmann::json& value) {
    using Json = nlohmann::json;
    switch (value.type()) {
        case Json::value_t::array:
            return "an array";
        case Json::value_t::object:
            return "an object";
        case Json::value_t::string: {
            const auto& text = value.get_ref<const std::string&>();
            if (text.size() > kMaxDescribedStringBytes) {
                return Json(text.substr(0, kMaxDescribedStringBytes))
                           .dump(-1, ' ', false, Json::error_handler_t::replace) +
                       " (truncated)";
            }
            return value.dump(-1, ' ', false, Json::error_handler_t::replace);
        }
        default:
            return value.dump(-1, ' ', false, Json::error_handler_t::replace);
    }
}

std::string quote_for_message(std::string_view text) {
    const std::string escaped =
        nlohmann::json(std::string(text.substr(0, kMaxDescribedStringBytes)))
            .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    const std::string_view suffix = text.size() > kMaxDescribedStringBytes ? "...'" : "'";
    return "'" + escaped.substr(1, escaped.size() - 2) + std::string(suffix);
}

std::string format_number(double value) {
    std::array<char, 32> buffer{};
    const auto result = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
    return std::string(buffer.data(), result.ptr);
}

}  // namespace resin::sandbox
