// The launch sequence, top to bottom: what resin does, what the sandbox's init does, what the
// command does before exec. Each step lives in the file of its mechanism; the order lives here
// only.
#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

#include "sandbox/capabilities.hpp"
#include "sandbox/cgroup_files.hpp"
#include "sandbox/command_block.hpp"
#include "sandbox/identity.hpp"
#include "sandbox/idmapped_mounts.hpp"
#include "sandbox/landlock.hpp"
#include "sandbox/launch_channel.hpp"
#include "sandbox/mount_ownership.hpp"
#include "sandbox/mounts.hpp"
#include "sandbox/namespace_owner.hpp"
#include "sandbox/namespaces.hpp"
#include "sandbox/network.hpp"
#include "sandbox/pidfd.hpp"
#include "sandbox/rlimits.hpp"
#include "sandbox/sandbox.hpp"
#include "sandbox/sandbox_init.hpp"
#include "sandbox/seccomp_install.hpp"
#include "sandbox/socket_allowlist.hpp"
#include "sandbox/time.hpp"

extern char** environ;

namespace resin::sandbox {
namespace {

constexpr std::chrono::milliseconds kSetupTimeout{10000};
constexpr const char* kCwdPointer = "/filesystem/cwd";

// The descriptors the sandbox's init works with, at fixed numbers after install_descriptors().
enum ChildFd : int {
    // resin writes one byte once the id maps (and cgroups) are in place, and a second once the
    // command is in the command block: the start
    kSyncFd = 3,
    // close-on-exec: a record when prepared; end-of-file once the command is exec'd
    kFailureFd = 4,
    kStatusFd = 5,   // init -> resin: the command's pidfd, then its wait status
    kCommandFd = 6,  // the command block (command_block.hpp), empty until the start
    // The command's own start: the command's process is forked while the sandbox is prepared and
    // waits here for resin's byte, which reaches it and the init at once.
    kCommandStartFd = 7,
    kFirstFreeFd = 8,
};

Result<Pipe> make_pipe() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
        return system_error(ErrorKind::internal, "pipe2", errno);
    }
    return Pipe{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

// resin -> init: a socket rather than a pipe, so that resin's byte to an init that died is an
// error (MSG_NOSIGNAL), not a SIGPIPE.
Result<Pipe> make_sync_channel() {
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
        return system_error(ErrorKind::internal, "socketpair", errno);
    }
    return Pipe{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

bool send_byte(int socket, char byte) {
    return ::send(socket, &byte, 1, MSG_NOSIGNAL) == 1;
}

// Sealed by Sandbox::start once written. Not executable: some kernels (6.3 to 6.5 with
// vm.memfd_noexec=2) refuse a memfd that could be.
Result<UniqueFd> make_command_block() {
    constexpr unsigned kNoExecSeal = 0x0008U;  // MFD_NOEXEC_SEAL, Linux 6.3; not in glibc 2.36
    UniqueFd memfd(::memfd_create("resin-command", MFD_CLOEXEC | MFD_ALLOW_SEALING | kNoExecSeal));
    if (!memfd && errno == EINVAL) {
        memfd.reset(::memfd_create("resin-command", MFD_CLOEXEC | MFD_ALLOW_SEALING));  // < 6.3
    }
    if (!memfd) {
        return system_error(ErrorKind::internal, "memfd_create", errno);
    }
    return memfd;
}

Result<std::array<UniqueFd, 2>> make_status_socket() {
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) != 0) {
        return system_error(ErrorKind::internal, "socketpair", errno);
    }
    return std::array<UniqueFd, 2>{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

// Every step of the init and the command goes through here: a failure is reported to resin and
// ends the process, so the sequences below read as lists of steps.
void require(int failure_fd, const StepResult& step) {
    if (!step.ok()) {
        report_step_failure(failure_fd, step);
        ::_exit(126);
    }
}

StepResult system_step(bool done, ErrorKind kind, const char* what) {
    return done ? step_done() : step_failed(errno, "", {what}, kind);
}

// Moves stdio to 0-2, the channels to 3-7 and each idmapped tree of `premade` to kFirstFreeFd plus
// its index (updating `premade`), closing every other descriptor resin had. No allocation: this
// runs in the child of a clone, and the vector was sized in resin.
StepResult install_descriptors(const Stdio& stdio, int sync, int failure, int status,
                               int command_block, int command_start, std::vector<int>& premade) {
    const int sources[] = {stdio.in, stdio.out, stdio.err,     sync,
                           failure,  status,    command_block, command_start};
    const int end = kFirstFreeFd + static_cast<int>(premade.size());
    int copies[std::size(sources)];
    for (std::size_t i = 0; i < std::size(sources); ++i) {
        copies[i] = ::fcntl(sources[i], F_DUPFD_CLOEXEC, end);
        if (copies[i] < 0) {
            return system_step(false, ErrorKind::internal, "arranging descriptors");
        }
    }
    for (int& tree : premade) {
        if (tree >= 0 && (tree = ::fcntl(tree, F_DUPFD_CLOEXEC, end)) < 0) {
            return system_step(false, ErrorKind::internal, "arranging descriptors");
        }
    }
    for (int target = 0; target < kFirstFreeFd; ++target) {
        const int flags = target >= kSyncFd ? O_CLOEXEC : 0;
        if (::dup3(copies[target], target, flags) != target) {
            return system_step(false, ErrorKind::internal, "arranging descriptors");
        }
    }
    for (std::size_t i = 0; i < premade.size(); ++i) {
        const int target = kFirstFreeFd + static_cast<int>(i);
        if (premade[i] < 0) {
            ::close(target);  // whatever resin had there
        } else if ((premade[i] = ::dup3(premade[i], target, O_CLOEXEC)) != target) {
            return system_step(false, ErrorKind::internal, "arranging descriptors");
        }
    }
    return system_step(::close_range(static_cast<unsigned>(end), ~0U, 0) == 0, ErrorKind::internal,
                       "arranging descriptors");
}

ErrorKind exec_error_kind(int err) {
    switch (err) {
        case ENOENT:
        case ENOTDIR:
            return ErrorKind::executable_not_found;
        case EACCES:
        case EPERM:
        case ENOEXEC:
            return ErrorKind::permission_denied;
        default:
            return ErrorKind::spawn_failed;
    }
}

const char* path_of(const CommandView& exec) {
    for (char* const* entry = exec.envp; *entry != nullptr; ++entry) {
        if (std::strncmp(*entry, "PATH=", 5) == 0) {
            return *entry + 5;
        }
    }
    return "";
}

bool peer_has_hung_up(int socket) {
    pollfd pfd{socket, POLLRDHUP, 0};
    return ::poll(&pfd, 1, 0) > 0 && (pfd.revents & (POLLRDHUP | POLLHUP)) != 0;
}

// A start's cwd stands in for the config's filesystem.cwd: a failed chdir names that field
// whichever gave the directory, as for a sandbox built for its command.
StepResult change_directory(const char* cwd) {
    if (::chdir(cwd) != 0) {
        return step_failed(errno, kCwdPointer, {"changing to the working directory ", cwd});
    }
    return step_done();
}

// The command: pid 2 of the sandbox, from fork to exec. Forked while the sandbox is prepared: the
// steps that do not depend on the command are taken before the start, the rest after it. Until the
// start every signal stays blocked, as in the init.
[[noreturn]] void command_main(const Plan& plan, int landlock_ruleset, int listener_socket) {
    ::close(kStatusFd);
    ::close(kSyncFd);  // the init's: resin's byte to a dead init must fail, not reach this process
    require(kFailureFd, system_step(reset_signal_dispositions(), ErrorKind::internal,
                                    "resetting the command's signal dispositions"));
    require(kFailureFd, system_step(::setsid() >= 0, ErrorKind::spawn_failed, "setsid"));
    require(kFailureFd, drop_privileges(plan.capabilities()));
    // Before the working directory is changed to: Landlock does not govern chdir.
    require(kFailureFd, enforce_landlock(landlock_ruleset));
    // The syscall filters cost the kernel a fraction of a millisecond to install: before the
    // start where they allow every step left (plan.hpp), else as the last step before exec.
    const bool filters_first = plan.seccomp_allows_start_steps();
    int listener = -1;
    if (filters_first) {
        require(kFailureFd, install_seccomp_filters(plan.seccomp(), &listener));
    }
    // Armed: the init reports the sandbox prepared only now, so that a failure of any step above
    // fails the Prepare, and what they cost is not counted as the command's.
    if (!send_armed(listener_socket, listener)) {
        ::_exit(126);
    }
    if (listener >= 0) {
        ::close(listener);
    }
    char go = 0;
    if (::read(kCommandStartFd, &go, 1) != 1) {
        ::_exit(126);  // given up before a command, or resin died
    }
    ::close(kCommandStartFd);
    // Signals sent while there was no command were meant for no command.
    require(kFailureFd, system_step(discard_pending_then_unblock_signals(), ErrorKind::internal,
                                    "discarding the signals sent before the start"));
    CommandView exec;
    require(kFailureFd, system_step(map_command_block(kCommandFd, exec), ErrorKind::internal,
                                    "reading the command handed to the sandbox"));
    ::close(kCommandFd);
    require(kFailureFd, change_directory(exec.cwd));
    // The rlimits come after every step that allocates or opens descriptors: RLIMIT_AS may be
    // below what this copy of resin already maps, so that any further mmap fails, and
    // RLIMIT_NOFILE below the descriptors Landlock needs.
    require(kFailureFd, apply_rlimits(plan.rlimits()));
    if (!filters_first) {
        // From here on only what the filters allow.
        require(kFailureFd, install_seccomp_filters(plan.seccomp(), &listener));
        if (listener >= 0) {
            send_descriptor(listener_socket, listener);
            ::close(listener);
        }
    }
    ::close(listener_socket);
    ::close_range(kSyncFd, ~0U, CLOSE_RANGE_CLOEXEC);
    environ = exec.envp;  // execvp searches the sandbox's PATH
    ::execvp(exec.argv[0], exec.argv);
    const int err = errno;
    if (std::strchr(exec.argv[0], '/') == nullptr &&
        exec_error_kind(err) == ErrorKind::executable_not_found) {
        report_setup_failure(kFailureFd, ErrorKind::executable_not_found, 0, "",
                             "%s: command not found in the sandbox (PATH=%s)", exec.argv[0],
                             path_of(exec));
    } else {
        report_setup_failure(kFailureFd, exec_error_kind(err), err, "",
                             "executing %s in the sandbox", exec.argv[0]);
    }
    ::_exit(127);
}

// The sandbox's init: pid 1 of its pid namespace, from clone to supervising the command.
[[noreturn]] void init_main(const Plan& plan, const Stdio& stdio, const CgroupJoin& cgroup_join,
                            bool configure_own_network, int sync, int failure, int status,
                            int command_block, int command_start, DenialLog* denials,
                            std::vector<int>& premade) {
    // If resin dies, so does the sandbox: the kernel kills the rest of the pid namespace with us.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    // Into the sandbox's cgroups before anything else, while resin writes the id maps, through
    // files resin opened: the kernel checks the opener's credentials, and this process's euid is
    // already the namespace owner's.
    require(failure, cgroup_join.join_self());
    require(failure, install_descriptors(stdio, sync, failure, status, command_block, command_start,
                                         premade));
    // Waiting for resin's go also closes the death-signal race: end-of-file means resin is gone.
    char go = 0;
    if (::read(kSyncFd, &go, 1) != 1) {
        ::_exit(126);
    }
    require(kFailureFd, assume_identity(plan.identity()));
    // The kernel clears the death signal when the euid changes: arm it again, then make sure resin
    // did not die in between (it holds the other end of the status socket).
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (peer_has_hung_up(kStatusFd)) {
        ::_exit(126);
    }
    // Not dumpable before the command exists (that euid change may have reset it, and when the
    // uid is unchanged it never changed): the command must not be able to open init's memory, not
    // even in the instant between init dropping its capabilities and anything after.
    require(kFailureFd, system_step(::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == 0, ErrorKind::internal,
                                    "making the sandbox's init not dumpable"));
    require(kFailureFd, enter_cgroup_namespace());
    require(kFailureFd, set_hostname(plan.identity()));
    if (configure_own_network) {
        require(kFailureFd, configure_network(plan.network()));
    }
    require(kFailureFd, build_filesystem(plan.mounts(), premade));
    int landlock_ruleset = -1;
    require(kFailureFd, build_landlock_ruleset(plan.landlock(), landlock_ruleset));
    require(kFailureFd, system_step(prepare_init_signals(), ErrorKind::internal,
                                    "blocking every signal in the sandbox's init"));
    // The denial log is init's and resin's alone: the command does not inherit it.
    require(kFailureFd,
            system_step(::madvise(denials, sizeof *denials, MADV_DONTFORK) == 0,
                        ErrorKind::internal, "keeping the denial log from the command"));
    int listener_pair[2];
    require(kFailureFd,
            system_step(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, listener_pair) == 0,
                        ErrorKind::internal, "creating the seccomp listener channel"));
    rusage prepared{};
    ::getrusage(RUSAGE_SELF, &prepared);
    const pid_t command = ::fork();
    require(kFailureFd, system_step(command >= 0, ErrorKind::spawn_failed, "forking the command"));
    if (command == 0) {
        ::close(listener_pair[0]);
        command_main(plan, landlock_ruleset, listener_pair[1]);
    }
    if (landlock_ruleset >= 0) {
        ::close(landlock_ruleset);
    }
    ::close(listener_pair[1]);
    ::close(kCommandStartFd);
    ::close(kCommandFd);
    for (int fd = 0; fd < 3; ++fd) {
        ::close(fd);  // only the command holds its stdio: its end is the sandbox's end
    }
    // Prepared once the command's process has taken its own steps before the start.
    int listener = -1;
    if (!receive_armed(listener_pair[0], listener)) {
        ::_exit(126);
    }
    UniqueFd command_pidfd(open_pidfd(command));
    const InitCpu init_cpu{microseconds_of(prepared.ru_utime), microseconds_of(prepared.ru_stime)};
    if (!command_pidfd || !send_command_pidfd(kStatusFd, command_pidfd.get(), command, init_cpu)) {
        ::_exit(126);
    }
    command_pidfd.reset();
    require(kFailureFd, drop_init_privileges());
    // Prepared: everything that does not depend on the command is in place, its process included.
    // The start is resin's second byte; end-of-file means the sandbox was given up (or resin died)
    // before a command.
    report_prepared(kFailureFd);
    ::close(kFailureFd);  // the command's copy reports its setup, and closes at its exec
    if (::read(kSyncFd, &go, 1) != 1) {
        ::_exit(126);
    }
    ::close(kSyncFd);
    // Signals that reached the init while it had no command (every one is blocked) were meant for
    // no command: they must not greet this one. A SIGCHLD among them is not lost: the supervisor
    // looks for an ended command before it waits for the first signal.
    if (!discard_pending_signals()) {
        ::_exit(126);
    }
    supervise_command(command, kStatusFd, listener_pair[0], listener, denials);
}

// Stdio resin made for the sandbox's planned user (Stdio::owned_by_sandbox) follows it to its
// reserved uid, so that the command can still reopen it by name (/dev/stdout).
Result<void> give_stdio_to(const Stdio& stdio, uid_t reserved) {
    if (!stdio.owned_by_sandbox) {
        return success();
    }
    for (int fd : {stdio.in, stdio.out, stdio.err}) {
        if (::fchown(fd, reserved, reserved) != 0 && errno != EPERM) {
            return system_error(ErrorKind::internal, "giving the stdio pipes to the sandbox's uid",
                                errno);
        }
    }
    return success();
}

}  // namespace

Result<std::unique_ptr<Sandbox>> Sandbox::launch(const Plan& plan, const Command& command,
                                                 const Stdio& stdio) {
    RESIN_TRY(auto sandbox, prepare(plan, stdio));
    RESIN_TRYV(sandbox->start(command));
    return sandbox;
}

Result<std::unique_ptr<Sandbox>> Sandbox::prepare(const Plan& plan, const Stdio& stdio) {
    RESIN_TRY(Pipe sync, make_sync_channel());
    RESIN_TRY(Pipe command_start, make_sync_channel());
    RESIN_TRY(Pipe failure, make_pipe());
    RESIN_TRY(auto status, make_status_socket());
    RESIN_TRY(SharedDenialLog denials, SharedDenialLog::create());
    RESIN_TRY(UniqueFd command_block, make_command_block());
    const int pass_credentials = 1;
    if (::setsockopt(status[0].get(), SOL_SOCKET, SO_PASSCRED, &pass_credentials,
                     sizeof pass_credentials) != 0) {
        return system_error(ErrorKind::internal, "SO_PASSCRED", errno);
    }

    std::unique_ptr<SandboxCgroup> cgroup;
    const CgroupPart& cgroup_plan = plan.cgroup();
    if (cgroup_plan.own || plan.network().port_allowlist) {
        sweep_stale_sandbox_cgroups(cgroup_plan.layout, cgroup_plan.support,
                                    plan.host().socket_bpf_unavailable.empty());
    }
    if (cgroup_plan.own) {
        RESIN_TRY(cgroup, create_sandbox_cgroup(cgroup_plan.layout, cgroup_plan.support,
                                                cgroup_plan.limits));
    }
    std::unique_ptr<SocketAllowlist> socket_allowlist;
    if (const auto& rules = plan.network().port_allowlist) {
        RESIN_TRY(socket_allowlist,
                  SocketAllowlist::attach(*rules, cgroup_plan.layout, cgroup.get()));
    }
    RESIN_TRY(NamespaceOwner owner, NamespaceOwner::claim(plan.host()));
    // Its cgroup v2: the sandbox's own (v2), or on a hybrid host the port allowlist's (its v1
    // cgroups it joins itself). CLONE_INTO_CGROUP checks the cloning thread's own (the owner's)
    // permission on the cgroup: with a reserved owner the child joins through a cgroup.procs resin
    // opened instead.
    const int v2_cgroup = cgroup && cgroup->clone_into() >= 0 ? cgroup->clone_into()
                          : socket_allowlist                  ? socket_allowlist->clone_into()
                                                              : -1;
    const bool clone_into_cgroup = v2_cgroup >= 0 && !owner.is_reserved();
    RESIN_TRY(CgroupJoin cgroup_join,
              CgroupJoin::open(cgroup.get(), clone_into_cgroup ? -1 : v2_cgroup));
    // With an idmapped mount the sandbox's host uid and gid are the reserved owner uid, held by no
    // other sandbox or host process: the directory owners' rights go with it (mount_ownership.hpp).
    std::optional<Plan> reserved_plan;
    if (has_idmapped_mount(plan.mounts())) {
        if (!owner.is_reserved()) {
            return Error{ErrorKind::internal, "an idmapped mount without a reserved uid", "", 0};
        }
        reserved_plan = with_reserved_ids(plan, owner.uid());
        RESIN_TRYV(give_stdio_to(stdio, owner.uid()));
    }
    const Plan& launched = reserved_plan ? *reserved_plan : plan;
    RESIN_TRY(NetworkSetup network, NetworkSetup::prepare(launched.network(), launched.host()));
    // Ownership "directory": made by resin, attached by the init (idmapped_mounts.hpp).
    RESIN_TRY(IdmappedMounts idmapped, IdmappedMounts::prepare(launched.mounts()));
    std::vector<int> premade = idmapped.descriptors();

    int init_pidfd = -1;
    clone_args args{};
    args.flags = clone_namespace_flags(network.clone_creates_namespace()) | CLONE_PIDFD;
    args.pidfd = reinterpret_cast<std::uintptr_t>(&init_pidfd);
    args.exit_signal = SIGCHLD;
    if (clone_into_cgroup) {
        args.flags |= CLONE_INTO_CGROUP;  // in its cgroup from its first instruction
        args.cgroup = static_cast<std::uint64_t>(v2_cgroup);
    }
    long pid = -1;
    int clone_error = 0;
    {
        // The user namespace's owner is the creator's euid: see namespace_owner.hpp.
        const EffectiveUidForClone as_owner(owner);
        if (!as_owner.ok()) {
            return system_error(ErrorKind::spawn_failed, "taking the sandbox's owner uid",
                                as_owner.error());
        }
        pid = ::syscall(SYS_clone3, &args, sizeof args);
        if (pid == 0) {
            init_main(launched, stdio, cgroup_join, network.clone_creates_namespace(),
                      sync.read.get(), failure.write.get(), status[1].get(), command_block.get(),
                      command_start.read.get(), denials.get(), premade);
        }
        clone_error = errno;
    }
    network.restore_resins_namespace();
    if (pid < 0) {
        return system_error(ErrorKind::spawn_failed, "creating the sandbox's namespaces (clone3)",
                            clone_error);
    }
    // From here on the destructor kills and reaps the sandbox if any step fails.
    std::unique_ptr<Sandbox> sandbox(new Sandbox());
    sandbox->cgroup_ = std::move(cgroup);
    sandbox->socket_allowlist_ = std::move(socket_allowlist);
    sandbox->namespace_owner_.emplace(std::move(owner));
    sandbox->init_pidfd_.reset(init_pidfd);
    sandbox->init_pid_ = static_cast<pid_t>(pid);
    sandbox->status_channel_ = std::move(status[0]);
    sandbox->command_block_ = std::move(command_block);
    sandbox->environment_ = launched.command().environment;
    sandbox->cwd_ = launched.command().cwd;
    sandbox->denials_ = std::move(denials);
    sync.read.reset();
    command_start.read.reset();
    failure.write.reset();
    status[1].reset();

    RESIN_TRYV(write_id_maps(sandbox->init_pid_, launched.identity()));
    const SupervisionPart& supervision = plan.supervision();
    sandbox->cpu_time_limit_us_ = supervision.cpu_time_limit_us;
    sandbox->cpu_parallelism_ = supervision.cpu_parallelism;
    sandbox->rlimit_cpu_ns_ = supervision.rlimit_cpu_ns;
    if (!send_byte(sync.write.get(), 'g')) {
        return system_error(ErrorKind::spawn_failed, "starting the sandbox's init", errno);
    }
    RESIN_TRYV(await_prepared(failure.read.get(), kSetupTimeout));
    // Sent before the init reported prepared: already waiting.
    RESIN_TRY(sandbox->prepared_command_,
              receive_command_pidfd(sandbox->status_channel_.get(), kSetupTimeout));
    // Usage counts from the start: what the preparation spent is the sandbox's, not the command's.
    // Read now, off the start's path: the init, prepared, waits with every signal blocked and
    // spends nothing more until then.
    if (sandbox->cgroup_) {
        sandbox->usage_at_start_ = sandbox->cgroup_->usage();
        if (sandbox->cpu_time_limit_us_) {
            sandbox->cpu_time_at_start_us_ = sandbox->cgroup_->cpu_time_us();
        }
    }
    sandbox->start_channel_ = std::move(sync.write);
    sandbox->command_start_channel_ = std::move(command_start.write);
    sandbox->setup_failures_ = std::move(failure.read);
    return sandbox;
}

Result<void> Sandbox::start(const Command& command) {
    if (!start_channel_) {
        return Error{ErrorKind::internal, "a sandbox runs one command: this one has started", "",
                     0};
    }
    // Whatever happens next, this sandbox has had its one start.
    const UniqueFd start = std::move(start_channel_);
    const UniqueFd command_start = std::move(command_start_channel_);
    const UniqueFd block = std::move(command_block_);
    std::vector<std::string> argv;
    argv.reserve(1 + command.args.size());
    argv.push_back(command.executable);
    argv.insert(argv.end(), command.args.begin(), command.args.end());
    const auto environment = apply_environment_changes(environment_, command.environment_changes);
    RESIN_TRYV(write_command_block(block.get(), argv, environment,
                                   command.cwd.empty() ? cwd_ : command.cwd));
    if (::fcntl(block.get(), F_ADD_SEALS,
                F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0) {
        return system_error(ErrorKind::internal, "sealing the command block", errno);
    }
    start_us_ = monotonic_us();
    // The command first: it has the work to do; the init only stops discarding signals.
    if (!send_byte(command_start.get(), 's') || !send_byte(start.get(), 's')) {
        return system_error(ErrorKind::spawn_failed, "starting the command in the sandbox", errno);
    }
    RESIN_TRYV(await_setup(setup_failures_.get(), kSetupTimeout));
    setup_failures_.reset();
    command_pidfd_ = std::move(prepared_command_.pidfd);
    command_pid_ = prepared_command_.pid;
    init_cpu_at_start_ = prepared_command_.init_cpu;
    return success();
}

}  // namespace resin::sandbox
