#include "support/programs.hpp"

#include <fstream>

namespace resin::test {
namespace {

const std::string kPython = "/usr/bin/python3";

constexpr const char* kTouchMemory = R"py(
import sys
data = bytearray(int(sys.argv[1]) << 20)
for page in range(0, len(data), 4096):
    data[page] = 1
print("touched", flush=True)
)py";

constexpr const char* kTouchMemoryInProcesses = R"py(
import os, sys
processes, mib = int(sys.argv[1]), int(sys.argv[2])
report_r, report_w = os.pipe()
hold_r, hold_w = os.pipe()
children = []
for _ in range(processes):
    pid = os.fork()
    if pid == 0:
        try:
            data = bytearray(mib << 20)
            for page in range(0, len(data), 4096):
                data[page] = 1
            os.write(report_w, b"1")
        except MemoryError:
            os.write(report_w, b"0")
        os.read(hold_r, 1)
        os._exit(0)
    children.append(pid)
reports = b""
while len(reports) < processes:
    reports += os.read(report_r, processes)
print("refused" if b"0" in reports else f"held {processes * mib}", flush=True)
for pid in children:
    os.kill(pid, 9)
    os.waitpid(pid, 0)
)py";

// Exits at once, without the interpreter's clean-up, which would add CPU time of its own (tens of
// milliseconds under emulation).
constexpr const char* kBurnCpu = R"py(
import os, sys, time
seconds = int(sys.argv[1]) / 1000
while time.process_time() < seconds:
    pass
os._exit(0)
)py";

constexpr const char* kForkUntilRefused = R"py(
import errno, os, sys
limit = int(sys.argv[1])
hold_r, hold_w = os.pipe()
children, refusal = 0, "none"
while 1 + children < limit:
    try:
        pid = os.fork()
    except OSError as error:
        refusal = errno.errorcode.get(error.errno, str(error.errno))
        break
    if pid == 0:
        os.read(hold_r, 1)
        os._exit(0)
    children += 1
print(1 + children, refusal, flush=True)
if sys.argv[2] == "hold":
    os.read(hold_r, 1)
)py";

// One listing of /proc is no snapshot: processes come and go while it is read, so it can count more
// than ever lived at once. Pids are not reused within seconds in a fresh pid namespace, so a pid in
// two consecutive listings lived throughout the time between them: their intersection did live at
// one instant. It samples until its child exits, not for a set time, so that a slow (emulated)
// host does not end the sampling before the child got going.
constexpr const char* kCountProcesses = R"py(
import os, sys
child = int(sys.argv[1])
peak, previous = 0, set()
while os.waitpid(child, os.WNOHANG) == (0, 0):
    current = {name for name in os.listdir("/proc") if name.isdigit()}
    peak = max(peak, len(previous & current))
    previous = current
print(peak - 1, flush=True)
)py";

}  // namespace

Argv touch_memory(std::uint64_t mib) {
    return {kPython, "-c", kTouchMemory, std::to_string(mib)};
}

Argv touch_memory_in_processes(unsigned processes, std::uint64_t mib) {
    return {kPython, "-c", kTouchMemoryInProcesses, std::to_string(processes), std::to_string(mib)};
}

Argv burn_cpu(std::uint64_t ms) {
    return {kPython, "-c", kBurnCpu, std::to_string(ms)};
}

Argv hog_processes(unsigned processes) {
    std::string script;
    for (unsigned i = 1; i < processes; ++i) {
        script += "while :; do :; done & ";
    }
    return {"/bin/sh", "-c", script + "while :; do :; done"};
}

Argv hog_threads(unsigned threads) {
    return {"/usr/bin/perl", "-Mthreads", "-e",
            "threads->create(sub { 1 while 1 }) for 2 .. $ARGV[0]; 1 while 1",
            std::to_string(threads)};
}

Argv fork_until_refused(unsigned limit, AfterCount after) {
    return {kPython, "-c", kForkUntilRefused, std::to_string(limit),
            after == AfterCount::hold ? "hold" : "exit"};
}

Argv stress_ng(const Argv& args) {
    Argv argv = {"/usr/bin/stress-ng"};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.insert(argv.end(), {"--temp-path", "/tmp"});
    return argv;
}

sandbox::Config stress_ng_config() {
    sandbox::Config config = runnable_config();
    sandbox::BindMount cpus;
    cpus.path = "/sys/devices/system/cpu";
    config.filesystem.mounts.push_back(cpus);
    return config;
}

Argv count_processes_until_child_exits() {
    return {kPython, "-c", kCountProcesses};
}

std::string shell_command(const Argv& argv) {
    std::string command;
    for (const auto& word : argv) {
        std::string quoted = "'";
        for (char c : word) {
            quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
        }
        command += (command.empty() ? "" : " ") + quoted + "'";
    }
    return command;
}

bool cpu_is_emulated() {
    std::ifstream cpuinfo("/proc/cpuinfo");
    for (std::string line; std::getline(cpuinfo, line);) {
        if (line.rfind("model name", 0) == 0) {
            return line.find("QEMU TCG CPU") != std::string::npos;
        }
    }
    return false;
}

std::uint64_t cpu_ms(const sandbox::Usage& usage) {
    return (usage.cpu_user_us + usage.cpu_system_us) / 1000;
}

double cores_used(const sandbox::Usage& usage) {
    return usage.wall_us == 0 ? 0.0
                              : static_cast<double>(usage.cpu_user_us + usage.cpu_system_us) /
                                    static_cast<double>(usage.wall_us);
}

}  // namespace resin::test
