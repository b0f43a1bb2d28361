// The common toolchains found on the host run under the shipped profiles as written, each producing
// its expected output: what a user hands a sandbox first. A toolchain the host lacks is skipped.
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>

#include "support/command_runner.hpp"

namespace resin::test {
namespace {

constexpr std::chrono::milliseconds kToolchainTimeout(120000);

bool installed(const std::string& tool) {
    for (const char* dir : {"/usr/local/bin/", "/usr/bin/", "/bin/"}) {
        if (::access((dir + tool).c_str(), X_OK) == 0) {
            return true;
        }
    }
    return false;
}

std::string profile(const std::string& name) {
    return std::string(RESIN_SOURCE_DIR) + "/config/" + name + ".json";
}

// `script` under `sh -c` in the shipped profile `name`; its stdout when it exits 0.
void expect_output(const std::string& tool, const std::string& name, const std::string& script,
                   const std::string& expected) {
    if (!installed(tool)) {
        GTEST_SKIP() << tool << " is not installed on this host";
    }
    const auto result =
        run_resin({"--config", profile(name), "--", "/bin/sh", "-c", script}, kToolchainTimeout);
    EXPECT_EQ(result.exit_code, 0) << result.err;
    EXPECT_EQ(result.out, expected) << result.err;
}

TEST(Toolchains, Python3UnderDefault) {
    expect_output("python3", "default", "python3 -c 'print(sum(range(10)))'", "45\n");
}

TEST(Toolchains, NodeWithWorkerThreadsUnderDefault) {
    expect_output("node", "default",
                  "node -e 'const {Worker} = require(\"worker_threads\");"
                  " new Worker(\"require(`worker_threads`).parentPort.postMessage(6 * 7)\","
                  " {eval: true}).on(\"message\", (m) => console.log(m))'",
                  "42\n");
}

TEST(Toolchains, JavaSourceLauncherUnderDefault) {
    expect_output("java", "default",
                  "cd /tmp && echo 'class H { public static void main(String[] a) {"
                  " System.out.println(\"java \" + 6 * 7); } }' > H.java && java H.java",
                  "java 42\n");
}

TEST(Toolchains, GccUnderBuild) {
    expect_output("gcc", "build",
                  "printf '#include <stdio.h>\\nint main(void) { puts(\"c 42\"); }\\n' > h.c &&"
                  " gcc -O2 -o h h.c && ./h",
                  "c 42\n");
}

TEST(Toolchains, ClangUnderBuild) {
    expect_output("clang", "build",
                  "printf '#include <stdio.h>\\nint main(void) { puts(\"clang 42\"); }\\n' > h.c"
                  " && clang -O2 -o h h.c && ./h",
                  "clang 42\n");
}

TEST(Toolchains, MakeWithParallelJobsUnderBuild) {
    expect_output("make", "build",
                  "printf 'all: a b\\n\\t@echo done\\na b:\\n\\t@touch $@\\n' > Makefile &&"
                  " make -s -j4 && ls a b | wc -l",
                  "done\n2\n");
}

TEST(Toolchains, GitUnderBuild) {
    expect_output("git", "build",
                  "git init -q repo && cd repo && echo hi > f && git add f &&"
                  " git -c user.name=n -c user.email=n@example.org commit -q -m first &&"
                  " git log --format=%s",
                  "first\n");
}

TEST(Toolchains, Sqlite3UnderDefault) {
    expect_output("sqlite3", "default",
                  "sqlite3 /tmp/db 'create table t(x); insert into t values (6), (7);"
                  " select x * 7 from t order by x;'",
                  "42\n49\n");
}

TEST(Toolchains, TarXzRoundTripUnderDefault) {
    expect_output("xz", "default",
                  "cd /tmp && seq 100000 > f && sum=$(cksum < f) && tar -cJf f.tar.xz f && rm f &&"
                  " tar -xJf f.tar.xz && test \"$(cksum < f)\" = \"$sum\" && wc -l < f",
                  "100000\n");
}

TEST(Toolchains, TarZstdRoundTripUnderDefault) {
    expect_output("zstd", "default",
                  "cd /tmp && seq 100000 > f && tar --zstd -cf f.tar.zst f && rm f &&"
                  " tar --zstd -xf f.tar.zst && wc -l < f",
                  "100000\n");
}

}  // namespace
}  // namespace resin::test
