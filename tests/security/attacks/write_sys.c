// Writing a kernel setting under /sys: by default /sys/kernel/rcu_expedited, a host-wide switch.
// The attack writes back the value it read, so nothing changes. argv[1] names another file.
#include "rewrite.h"

int main(int argc, char** argv) {
    return rewrite_unchanged("write_sys", argc > 1 ? argv[1] : "/sys/kernel/rcu_expedited");
}
