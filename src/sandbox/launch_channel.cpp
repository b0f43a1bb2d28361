#include "sandbox/launch_channel.hpp"

#include <limits.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>

namespace resin::sandbox {
namespace {

// Fits in PIPE_BUF, so the write is atomic.
struct FailureRecord {
    std::int32_t kind;
    std::int32_t err;
    char pointer[128];
    char message[1024];
};
static_assert(sizeof(FailureRecord) <= PIPE_BUF);

enum class StatusTag : std::uint8_t { command_pidfd = 1, command_status = 2 };

struct StatusMessage {
    StatusTag tag;
    // command_status: no process of the sandbox is left but its init.
    bool tree_gone;
    std::int32_t value;
    std::uint64_t cpu_ns;
    // command_pidfd: the CPU time init spent preparing the sandbox, not the command's.
    std::uint64_t init_user_us;
    std::uint64_t init_system_us;
};

// A record of this kind on the setup-failure pipe says the sandbox is prepared, not that it failed.
constexpr std::int32_t kPreparedRecord = -1;

// A message of one buffer, `iov`, with the ancillary buffer `control`.
msghdr message_of(iovec& iov, void* control, std::size_t control_size) {
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = control_size;
    return msg;
}

// Writes SOL_SOCKET ancillary data of `type` (SCM_RIGHTS, SCM_CREDENTIALS) at `cmsg`, a header of
// a message's control buffer (CMSG_FIRSTHDR, CMSG_NXTHDR); false if the buffer has no room.
bool put_control(cmsghdr* cmsg, int type, const void* data, std::size_t size) {
    if (cmsg == nullptr) {
        return false;
    }
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = type;
    cmsg->cmsg_len = CMSG_LEN(size);
    std::memcpy(CMSG_DATA(cmsg), data, size);
    return true;
}

bool wait_readable(int fd, std::chrono::milliseconds timeout) {
    pollfd pfd{fd, POLLIN, 0};
    int ready;
    do {
        ready = ::poll(&pfd, 1, static_cast<int>(timeout.count()));
    } while (ready < 0 && errno == EINTR);
    return ready > 0;
}

}  // namespace

void report_setup_failure(int fd, ErrorKind kind, int err, const char* pointer, const char* format,
                          ...) {
    FailureRecord record{};
    record.kind = static_cast<std::int32_t>(kind);
    record.err = err;
    std::snprintf(record.pointer, sizeof record.pointer, "%s", pointer ? pointer : "");
    va_list args;
    va_start(args, format);
    const int used = std::vsnprintf(record.message, sizeof record.message, format, args);
    va_end(args);
    if (err != 0 && used >= 0 && static_cast<std::size_t>(used) < sizeof record.message) {
        std::snprintf(record.message + used, sizeof record.message - static_cast<std::size_t>(used),
                      ": %s", std::strerror(err));
    }
    ssize_t written;
    do {
        written = ::write(fd, &record, sizeof record);
    } while (written < 0 && errno == EINTR);
}

void report_step_failure(int fd, const StepResult& step) {
    char what[sizeof(FailureRecord::message)] = "";
    std::size_t used = 0;
    for (const char* piece : step.what) {
        for (; piece != nullptr && *piece != '\0' && used + 1 < sizeof what; ++piece) {
            what[used++] = *piece;
        }
    }
    what[used] = '\0';
    report_setup_failure(fd, step.kind, step.err, step.pointer, "%s", what);
}

namespace {

// The next record on the setup-failure pipe: nullopt at end-of-file (the command was exec'd).
Result<std::optional<FailureRecord>> read_setup_record(int fd, std::chrono::milliseconds timeout) {
    if (!wait_readable(fd, timeout)) {
        return Error{ErrorKind::spawn_failed,
                     "the sandbox did not finish setting up within " +
                         std::to_string(timeout.count()) + " ms",
                     "", ETIMEDOUT};
    }
    FailureRecord record{};
    ssize_t got;
    do {
        got = ::read(fd, &record, sizeof record);
    } while (got < 0 && errno == EINTR);
    if (got == 0) {
        return std::optional<FailureRecord>();
    }
    if (got != static_cast<ssize_t>(sizeof record)) {
        return Error{ErrorKind::internal, "the sandbox sent a truncated setup report", "", 0};
    }
    record.pointer[sizeof record.pointer - 1] = '\0';
    record.message[sizeof record.message - 1] = '\0';
    return std::optional<FailureRecord>(record);
}

Error error_of(const FailureRecord& record) {
    return Error{static_cast<ErrorKind>(record.kind), record.message, record.pointer, record.err};
}

}  // namespace

void report_prepared(int fd) {
    FailureRecord record{};
    record.kind = kPreparedRecord;
    ssize_t written;
    do {
        written = ::write(fd, &record, sizeof record);
    } while (written < 0 && errno == EINTR);
}

Result<void> await_prepared(int fd, std::chrono::milliseconds timeout) {
    RESIN_TRY(auto record, read_setup_record(fd, timeout));
    if (!record) {
        return Error{ErrorKind::spawn_failed, "the sandbox's init ended while preparing", "", 0};
    }
    if (record->kind != kPreparedRecord) {
        return error_of(*record);
    }
    return success();
}

Result<void> await_setup(int fd, std::chrono::milliseconds timeout) {
    RESIN_TRY(auto record, read_setup_record(fd, timeout));
    if (record && record->kind == kPreparedRecord) {
        return Error{ErrorKind::internal, "the sandbox reported being prepared twice", "", 0};
    }
    if (record) {
        return error_of(*record);
    }
    return success();
}

bool send_command_pidfd(int socket, int pidfd, pid_t pid, const InitCpu& init_cpu) {
    StatusMessage message{StatusTag::command_pidfd, false, 0, 0, init_cpu.user_us,
                          init_cpu.system_us};
    iovec iov{&message, sizeof message};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int)) + CMSG_SPACE(sizeof(ucred))] = {};
    msghdr msg = message_of(iov, control, sizeof control);
    const ucred credentials{pid, ::getuid(), ::getgid()};
    cmsghdr* rights = CMSG_FIRSTHDR(&msg);
    if (!put_control(rights, SCM_RIGHTS, &pidfd, sizeof pidfd) ||
        !put_control(CMSG_NXTHDR(&msg, rights), SCM_CREDENTIALS, &credentials,
                     sizeof credentials)) {
        return false;
    }
    return ::sendmsg(socket, &msg, MSG_NOSIGNAL) == static_cast<ssize_t>(sizeof message);
}

bool send_command_status(int socket, int wait_status, std::uint64_t cpu_ns, bool tree_gone) {
    StatusMessage message{StatusTag::command_status, tree_gone, wait_status, cpu_ns, 0, 0};
    return ::send(socket, &message, sizeof message, MSG_NOSIGNAL) ==
           static_cast<ssize_t>(sizeof message);
}

bool send_descriptor(int socket, int fd) {
    char byte = 0;
    iovec iov{&byte, 1};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    msghdr msg = message_of(iov, control, sizeof control);
    if (!put_control(CMSG_FIRSTHDR(&msg), SCM_RIGHTS, &fd, sizeof fd)) {
        return false;
    }
    return ::sendmsg(socket, &msg, MSG_NOSIGNAL) == 1;
}

bool send_armed(int socket, int listener) {
    if (listener >= 0) {
        return send_descriptor(socket, listener);
    }
    const char byte = 0;
    return ::send(socket, &byte, 1, MSG_NOSIGNAL) == 1;
}

namespace {

// One byte and the descriptor it carries, if any: false at end-of-file or on an error; `fd` becomes
// the descriptor, or -1.
bool receive_byte_and_descriptor(int socket, int& fd) {
    fd = -1;
    char byte = 0;
    iovec iov{&byte, 1};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    msghdr msg = message_of(iov, control, sizeof control);
    ssize_t received;
    do {
        received = ::recvmsg(socket, &msg, MSG_CMSG_CLOEXEC);
    } while (received < 0 && errno == EINTR);
    if (received != 1) {
        return false;
    }
    const cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
    if (cmsg != nullptr && cmsg->cmsg_type == SCM_RIGHTS &&
        cmsg->cmsg_len == CMSG_LEN(sizeof(int))) {
        std::memcpy(&fd, CMSG_DATA(cmsg), sizeof fd);
    }
    return true;
}

}  // namespace

bool receive_armed(int socket, int& listener) {
    return receive_byte_and_descriptor(socket, listener);
}

int receive_descriptor(int socket) {
    int fd = -1;
    receive_byte_and_descriptor(socket, fd);
    return fd;
}

Result<CommandHandle> receive_command_pidfd(int socket, std::chrono::milliseconds timeout) {
    if (!wait_readable(socket, timeout)) {
        return Error{ErrorKind::spawn_failed, "the sandbox's init did not report its command", "",
                     ETIMEDOUT};
    }
    StatusMessage message{};
    iovec iov{&message, sizeof message};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int)) + CMSG_SPACE(sizeof(ucred))] = {};
    msghdr msg = message_of(iov, control, sizeof control);
    const ssize_t got = ::recvmsg(socket, &msg, MSG_CMSG_CLOEXEC);
    CommandHandle command;
    if (got == static_cast<ssize_t>(sizeof message) && message.tag == StatusTag::command_pidfd) {
        command.init_cpu = {message.init_user_us, message.init_system_us};
        for (cmsghdr* cmsg = CMSG_FIRSTHDR(&msg); cmsg != nullptr; cmsg = CMSG_NXTHDR(&msg, cmsg)) {
            if (cmsg->cmsg_level != SOL_SOCKET) {
                continue;
            }
            if (cmsg->cmsg_type == SCM_RIGHTS && cmsg->cmsg_len == CMSG_LEN(sizeof(int))) {
                int pidfd;
                std::memcpy(&pidfd, CMSG_DATA(cmsg), sizeof pidfd);
                command.pidfd.reset(pidfd);
            } else if (cmsg->cmsg_type == SCM_CREDENTIALS &&
                       cmsg->cmsg_len == CMSG_LEN(sizeof(ucred))) {
                ucred credentials{};
                std::memcpy(&credentials, CMSG_DATA(cmsg), sizeof credentials);
                command.pid = credentials.pid;
            }
        }
    }
    if (!command.pidfd) {
        return Error{ErrorKind::internal, "the sandbox's init sent no pidfd for its command", "",
                     got < 0 ? errno : 0};
    }
    return command;
}

CommandEnd receive_command_end(int socket) {
    CommandEnd end;
    StatusMessage message{};
    while (::recv(socket, &message, sizeof message, MSG_DONTWAIT) ==
           static_cast<ssize_t>(sizeof message)) {
        if (message.tag == StatusTag::command_status) {
            end.wait_status = message.value;
            end.cpu_ns = message.cpu_ns;
            end.tree_gone = message.tree_gone;
        }
    }
    return end;
}

}  // namespace resin::sandbox
