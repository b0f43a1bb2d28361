// Reads a JSON document value by value: every value knows its JSON pointer, and every problem is
// recorded instead of stopping at the first, so one pass reports all errors of a document.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/config_error.hpp"

namespace resin::sandbox {

// What all values of one document share: the keys it may contain and the errors found so far.
class JsonReadContext {
  public:
    // `key_patterns`: JSON pointers of the accepted keys, "*" standing for any array index.
    JsonReadContext(std::string source, std::span<const std::string_view> key_patterns);

    void add_error(std::string pointer, std::string message);
    bool has_errors() const { return !errors_.empty(); }
    // In document order: by pointer (object keys in nlohmann::json's order, array items by index),
    // errors at the same pointer in the order they were found.
    std::vector<ConfigError> take_errors();

    bool is_known_key(std::string_view pattern) const;
    std::vector<std::string_view> keys_under(std::string_view pattern) const;

  private:
    std::string source_;
    std::span<const std::string_view> key_patterns_;
    std::vector<ConfigError> errors_;
};

class JsonObject;

// A value at a known place of the document. A missing key, or one set to null, is absent: reading
// it yields nullopt without an error. A wrong type or value is recorded and also yields nullopt.
class JsonValue {
  public:
    // `pattern` is `pointer` with array indices replaced by "*".
    JsonValue(const nlohmann::json* value, std::string pointer, std::string pattern,
              JsonReadContext& context);

    static JsonValue root(const nlohmann::json& document, JsonReadContext& context);

    bool present() const { return value_ != nullptr; }
    const std::string& pointer() const { return pointer_; }

    // Records an error at this value.
    void fail(std::string message) const;
    // Records "<requirement>, got <the value>" at this value, e.g. "must be a string, got 5".
    void reject(std::string_view requirement) const;

    std::optional<bool> boolean() const;
    // A JSON integer (not 1.0, not a boolean) in [min, max].
    std::optional<std::uint64_t> integer(std::uint64_t min, std::uint64_t max) const;
    // Any JSON number in [min, max].
    std::optional<double> number(double min, double max) const;
    std::optional<std::string> string() const;
    // The items; a null item is an error when read, not an absent value.
    std::optional<std::vector<JsonValue>> array() const;
    // An object whose keys must all be known; each unknown key is recorded.
    std::optional<JsonObject> object() const;
    // An object with free-form keys (a map such as env.set).
    std::optional<std::vector<std::pair<std::string, JsonValue>>> map() const;

  private:
    bool check(bool ok, std::string_view expected) const;

    const nlohmann::json* value_;  // nullptr when absent
    std::string pointer_;
    std::string pattern_;
    JsonReadContext* context_;
};

class JsonObject {
  public:
    JsonObject(const nlohmann::json& object, std::string pointer, std::string pattern,
               JsonReadContext& context);

    // `key` must be one of the known keys here (a programming error otherwise: std::logic_error).
    JsonValue get(std::string_view key) const;
    // As get(), but an absent value is recorded as an error.
    JsonValue require(std::string_view key) const;

  private:
    const nlohmann::json* object_;
    std::string pointer_;
    std::string pattern_;
    JsonReadContext* context_;
};

// "a/b~c" -> "a~1b~0c" (RFC 6901).
std::string escape_pointer_token(std::string_view token);
// A short rendering of a value for messages; arrays and objects are not dumped.
std::string describe_json(const nlohmann::json& value);
// 'text' for a message: JSON escapes, truncated, in single quotes.
std::string quote_for_message(std::string_view text);
// The shortest decimal form that reads back as `value`: 0.01, 4096.
std::string format_number(double value);

}  // namespace resin::sandbox
