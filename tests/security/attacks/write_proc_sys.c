// Writing a kernel tunable under /proc/sys: by default kernel/core_pattern, the host-wide core
// dump handler that a classic container escape points at its own program. The attack writes back
// the value it read, so nothing changes. argv[1] names another file.
#include "rewrite.h"

int main(int argc, char** argv) {
    return rewrite_unchanged("write_proc_sys",
                             argc > 1 ? argv[1] : "/proc/sys/kernel/core_pattern");
}
