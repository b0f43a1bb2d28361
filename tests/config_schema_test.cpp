// config/resin-config.schema.json must describe exactly what the validator accepts.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <set>

#include "config/config_keys.hpp"
#include "config/config_names.hpp"
#include "config/config_parse.hpp"
#include "config/reserved_ids.hpp"

namespace resin::sandbox {
namespace {

using Json = nlohmann::json;

Json load_schema() {
    std::ifstream in(RESIN_SOURCE_DIR "/config/resin-config.schema.json");
    return Json::parse(in);
}

// Visits every (sub)schema with the JSON pointer pattern of the value it describes, following
// $ref into $defs and the alternatives of anyOf/oneOf/allOf.
template <typename Visit>
void walk(const Json& node, const Json& root, const std::string& pattern, const Visit& visit) {
    visit(node, pattern);
    if (node.contains("$ref")) {
        const std::string ref = node["$ref"];
        walk(root.at(Json::json_pointer(ref.substr(1))), root, pattern, visit);
    }
    for (const char* keyword : {"anyOf", "oneOf", "allOf"}) {
        for (const Json& alternative : node.value(keyword, Json::array())) {
            walk(alternative, root, pattern, visit);
        }
    }
    const Json properties = node.value("properties", Json::object());
    for (const auto& [name, property] : properties.items()) {
        walk(property, root, pattern + "/" + name, visit);
    }
    if (node.contains("items")) {
        walk(node["items"], root, pattern + "/*", visit);
    }
}

std::set<std::string> schema_key_patterns(const Json& schema) {
    std::set<std::string> keys;
    walk(schema, schema, "", [&](const Json& node, const std::string& pattern) {
        const Json properties = node.value("properties", Json::object());
        for (const auto& [name, unused] : properties.items()) {
            keys.insert(pattern + "/" + name);
        }
    });
    return keys;
}

// The schema facts about each key pattern: bounds and enumerations, merged over $ref/anyOf.
std::map<std::string, Json> schema_facts(const Json& schema) {
    std::map<std::string, Json> facts;
    walk(schema, schema, "", [&](const Json& node, const std::string& pattern) {
        for (const char* keyword : {"minimum", "maximum", "enum", "type"}) {
            if (node.contains(keyword)) {
                facts[pattern][keyword] = node[keyword];
            }
        }
    });
    return facts;
}

bool accepted(const std::string& pattern, const Json& value) {
    Json doc;
    doc[Json::json_pointer(pattern)] = value;
    return std::holds_alternative<Config>(parse_config(doc, "schema test"));
}

TEST(ConfigSchema, IsDraft202012) {
    EXPECT_EQ(load_schema()["$schema"], "https://json-schema.org/draft/2020-12/schema");
}

TEST(ConfigSchema, DescribesExactlyTheValidatorsKeys) {
    const auto declared = config_key_patterns();
    EXPECT_EQ(schema_key_patterns(load_schema()),
              std::set<std::string>(declared.begin(), declared.end()));
}

TEST(ConfigSchema, EveryObjectRefusesAdditionalProperties) {
    const Json schema = load_schema();
    walk(schema, schema, "", [](const Json& node, const std::string& pattern) {
        if (node.contains("properties")) {
            EXPECT_EQ(node.value("additionalProperties", Json()), false) << pattern;
        }
    });
}

TEST(ConfigSchema, EnumerationsMatchTheValidator) {
    const auto facts = schema_facts(load_schema());
    const auto names = [](auto table) {
        Json list = Json::array();
        for (const auto& entry : table) {
            list.push_back(entry.name);
        }
        list.push_back(nullptr);
        return list;
    };
    EXPECT_EQ(facts.at("/filesystem/mounts/*/access")["enum"], names(kAccessNames));
    EXPECT_EQ(facts.at("/filesystem/mounts/*/ownership")["enum"], names(kOwnershipNames));
    EXPECT_EQ(facts.at("/network/mode")["enum"], names(kNetworkModeNames));
    EXPECT_EQ(facts.at("/syscalls/policy")["enum"], names(kSyscallPolicyNames));
    EXPECT_EQ(facts.at("/syscalls/action")["enum"], names(kSyscallActionNames));
}

// For the keys outside arrays: the schema's bounds are the validator's.
TEST(ConfigSchema, BoundsMatchTheValidator) {
    std::size_t checked = 0;
    for (const auto& [pattern, fact] : schema_facts(load_schema())) {
        if (!fact.contains("minimum") || pattern.find('*') != std::string::npos) {
            continue;
        }
        ++checked;
        const Json& min = fact["minimum"];
        const Json& max = fact["maximum"];
        EXPECT_TRUE(accepted(pattern, min)) << pattern;
        EXPECT_TRUE(accepted(pattern, max)) << pattern;
        if (min.is_number_integer()) {
            EXPECT_FALSE(accepted(pattern, min.get<std::int64_t>() - 1)) << pattern;
        } else {
            EXPECT_FALSE(accepted(pattern, min.get<double>() * 0.99)) << pattern;
        }
        if (max == std::numeric_limits<std::uint64_t>::max()) {
            EXPECT_FALSE(accepted(pattern, Json::parse("18446744073709551616"))) << pattern;
        } else {
            EXPECT_FALSE(accepted(pattern, max.get<double>() + 1)) << pattern;
            if (max.is_number_integer()) {
                EXPECT_FALSE(accepted(pattern, max.get<std::uint64_t>() + 1)) << pattern;
            }
        }
    }
    EXPECT_EQ(checked, 9u);  // seven limits, uid and gid
}

// The ids reserved for namespace owners, which the schema excludes with "not": the validator's.
TEST(ConfigSchema, ExcludesTheIdsReservedForNamespaceOwners) {
    const Json schema = load_schema();
    for (const char* key : {"uid", "gid"}) {
        const std::string pattern = std::string("/identity/") + key;
        const Json& excluded = schema["properties"]["identity"]["properties"][key]["not"];
        EXPECT_EQ(excluded["type"], "integer") << pattern;
        EXPECT_EQ(excluded["minimum"], kReservedIdFirst) << pattern;
        EXPECT_EQ(excluded["maximum"], kReservedIdLast) << pattern;
        EXPECT_FALSE(accepted(pattern, kReservedIdFirst)) << pattern;
        EXPECT_FALSE(accepted(pattern, kReservedIdLast)) << pattern;
        EXPECT_TRUE(accepted(pattern, kReservedIdFirst - 1)) << pattern;
        EXPECT_TRUE(accepted(pattern, kReservedIdLast + 1)) << pattern;
    }
}

}  // namespace
}  // namespace resin::sandbox
