// Opening another process's memory for writing through /proc/<pid>/mem (argv[1], by default 1:
// the sandbox's init, which no syscall filter restricts). Whoever can write there runs code as
// that process.
#include <fcntl.h>
#include <unistd.h>

#include "attack.h"

int main(int argc, char** argv) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%s/mem", argc > 1 ? argv[1] : "1");
    return attack_result("init_memory", open(path, O_RDWR | O_CLOEXEC),
                         "opened another process's memory for writing");
}
