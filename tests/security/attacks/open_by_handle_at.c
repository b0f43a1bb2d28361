// open_by_handle_at(2), the "Shocker" escape: opens an inode by its handle, wherever it is, so a
// forged handle opens host files outside the sandbox's view. Called first on no handle; then on a
// handle of / obtained honestly.
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "attack.h"

int main(void) {
    require_reachable("open_by_handle_at",
                      syscall(SYS_open_by_handle_at, AT_FDCWD, NULL, O_RDONLY | O_CLOEXEC));
    char buffer[sizeof(struct file_handle) + MAX_HANDLE_SZ];
    struct file_handle* handle = (struct file_handle*)buffer;
    handle->handle_bytes = MAX_HANDLE_SZ;
    int mount_id = 0;
    const int root = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (root < 0 || syscall(SYS_name_to_handle_at, AT_FDCWD, "/", handle, &mount_id, 0) != 0) {
        return attack_broken("open_by_handle_at", "name_to_handle_at");
    }
    return attack_result(
        "open_by_handle_at",
        syscall(SYS_open_by_handle_at, root, handle, O_RDONLY | O_DIRECTORY | O_CLOEXEC),
        "opened a directory by its handle");
}
