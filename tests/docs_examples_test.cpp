// Every JSON profile shown in README.md and docs/config.md loads as written: a reader who copies
// one gets a working profile, not a validation error.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <regex>
#include <sstream>

#include "config/profile_loader.hpp"

namespace resin::sandbox {
namespace {

namespace fs = std::filesystem;

class ScratchDir {
  public:
    ScratchDir() {
        std::string pattern = (fs::temp_directory_path() / "resin-docs-test-XXXXXX").string();
        if (mkdtemp(pattern.data()) == nullptr) {
            throw std::runtime_error("mkdtemp failed");
        }
        path_ = pattern;
    }
    ~ScratchDir() {
        std::error_code error;
        fs::remove_all(path_, error);
    }
    ScratchDir(const ScratchDir&) = delete;
    ScratchDir& operator=(const ScratchDir&) = delete;
    const fs::path& path() const { return path_; }

  private:
    fs::path path_;
};

struct Example {
    std::string file;  // the name the text gives it (`<!-- file: base.json -->`), or a made-up one
    std::string json;
    int line = 0;
};

std::vector<Example> json_examples(const std::string& document) {
    std::ifstream in(std::string(RESIN_SOURCE_DIR) + "/" + document);
    std::vector<Example> examples;
    std::string line;
    std::string previous;
    std::optional<Example> open;
    const std::regex named(R"(<!-- file: ([A-Za-z0-9_.-]+) -->)");
    for (int number = 1; std::getline(in, line); ++number) {
        if (open) {
            if (line.starts_with("```")) {
                examples.push_back(std::move(*open));
                open.reset();
            } else {
                open->json += line + "\n";
            }
        } else if (line == "```json") {
            std::smatch match;
            open = Example{std::regex_search(previous, match, named)
                               ? match[1].str()
                               : "example-" + std::to_string(number) + ".json",
                           "", number};
        }
        if (!line.empty()) {
            previous = line;
        }
    }
    return examples;
}

void expect_every_example_loads(const std::string& document) {
    const auto examples = json_examples(document);
    ASSERT_FALSE(examples.empty()) << document << " has no ```json example";
    ScratchDir dir;
    for (const Example& example : examples) {
        std::ofstream(dir.path() / example.file) << example.json;
    }
    const SearchPath search_path{{dir.path(), std::string(RESIN_SOURCE_DIR) + "/config"}};
    for (const Example& example : examples) {
        const auto result = load_config_file(dir.path() / example.file, search_path);
        if (const auto* errors = std::get_if<std::vector<ConfigError>>(&result)) {
            for (const auto& error : *errors) {
                ADD_FAILURE() << document << ":" << example.line << ": " << format(error);
            }
        }
    }
}

TEST(DocsExamples, EveryProfileInTheReadmeLoads) {
    expect_every_example_loads("README.md");
}

TEST(DocsExamples, EveryProfileInConfigMdLoads) {
    expect_every_example_loads("docs/config.md");
}

}  // namespace
}  // namespace resin::sandbox
