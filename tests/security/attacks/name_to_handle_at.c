// name_to_handle_at(2): a file handle, the first half of the "Shocker" container escape (a handle
// names a host inode directly, bypassing the mount namespace).
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "attack.h"

int main(void) {
    char buffer[sizeof(struct file_handle) + MAX_HANDLE_SZ];
    struct file_handle* handle = (struct file_handle*)buffer;
    handle->handle_bytes = MAX_HANDLE_SZ;
    int mount_id = 0;
    return attack_result("name_to_handle_at",
                         syscall(SYS_name_to_handle_at, AT_FDCWD, "/", handle, &mount_id, 0),
                         "got a file handle for /");
}
