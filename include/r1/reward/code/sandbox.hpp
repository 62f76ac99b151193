#pragma once
// Runs one untrusted program (a compiler, an interpreter, a compiled binary) so
// that nothing it does outlives the run or reaches the caller.
//
//   r1::code::SandboxWorkspace workspace;                  // host temp dir: prog/ holds the program
//   write the program into workspace.program_dir() ...
//   r1::code::SandboxRequest request;
//   request.argv = {"/usr/bin/python3", "-I", "-B", workspace.visible_program_dir() + "/main.py"};
//   request.stdin_data = "1 2\n";
//   r1::code::SandboxResult result = r1::code::run_sandboxed(workspace, request);
//
// Isolation (decided once at start-up by probing, see sandbox_capabilities()):
//
// mode `namespaces` (the kernel lets us create namespaces: as root, the usual CI
// and training-container case, or through a user namespace otherwise):
//   - a supervisor process is cloned into new PID, network, mount, IPC and UTS
//     namespaces; it is PID 1 there and forks the program. When the supervisor
//     exits or is killed, the kernel kills every process of the namespace, so
//     grandchildren, daemons and fork bombs end with the run (pid_namespaces(7));
//   - the network namespace holds only a loopback that is down: no route anywhere;
//   - the mount namespace is pivot_root'ed into a tmpfs holding read-only binds of
//     /usr, /bin, /lib, /lib64, /sbin (symlinks where the host has symlinks), the
//     program directory at /prog (read-only except for a compile step), /dev/null,
//     zero, full, random, urandom, and two size-limited tmpfs: /work (the working
//     directory, fresh and empty, gone when the run ends) and /tmp. Nothing else of
//     the host is visible: no /etc, /home, /root, /proc, no other run's files;
//   - as root, the program runs as a user id no one else uses (run_slots.hpp),
//     with no supplementary groups and no capabilities; in both cases under
//     PR_SET_NO_NEW_PRIVS and the seccomp filter of seccomp_filter.hpp.
//   Not root: the same, inside a new user namespace that maps the caller's uid to
//   0; the program keeps that single uid but loses every capability (bounding set
//   and capability sets cleared before exec), and RLIMIT_NPROC counts per user
//   namespace (Linux >= 5.14), so only the run's processes.
// mode `process_group` (fallback: no namespaces, or forced by the caller):
//   - the supervisor starts a new session (its own process group) and forks the
//     program; the wall-clock kill goes to the whole group;
//   - when root, the program runs as its slot's uid and the run ends with a sweep
//     that kills every process of that uid (kill(-1) from a helper holding the
//     uid), which catches children that changed process group or session; files
//     outside its working directory are protected by ordinary permissions only.
//     The supervisor is the run's child subreaper: orphans come to it, not to the
//     host's PID 1 (which may never reap them, and their zombies would count
//     against the uid's RLIMIT_NPROC in the slot's next runs); it sweeps and reaps
//     them all before it exits, also on a timeout, where the host sweeps and
//     leaves the supervisor alive;
//   - when not root the uid cannot change, and the program could signal every
//     process of the caller (kill(-1, SIGKILL) kills the trainer), read the
//     caller's files, and leave children that escape the group. Runs are therefore
//     REFUSED in that case (sandbox_error) unless the request sets
//     `allow_unisolated`, for a caller who trusts the code anyway.
//   - the network is blocked by the seccomp filter alone; the working directory is
//     a fresh directory under the workspace, removed after the run.
// Both modes: empty environment unless the request names variables, rlimits
// (CPU, address space, file size, open files, processes, stack, no core dumps)
// set in the program process, stdout and stderr read through pipes with a size cap,
// and a wall-clock limit enforced by the caller's thread polling a pidfd.
//
// Fork safety: the caller may have many threads. Between clone and execve the
// child only makes system calls on memory prepared before the clone (no malloc,
// no locks, no glibc fork handlers: the second fork is a raw clone; no glibc
// setresuid, whose all-threads broadcast waits forever for threads that exist
// only in the parent), so a lock held by another thread at clone time cannot
// deadlock it.
//
// Not isolated (documented limits): CPU and memory bandwidth shared with the
// host (no cgroups); memory is bounded by RLIMIT_AS per process, not per run, so
// a run can hold up to processes x address_space_bytes (96 GiB with the
// defaults: lower `processes` where that matters); /work and /tmp are tmpfs,
// i.e. memory, up to tmpfs_bytes each; a thread reserves its whole stack of the
// address space (glibc's default: RLIMIT_STACK; programs run through
// program.hpp use 8 MiB), so stacks x threads must fit in address_space_bytes.
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "r1/core/error.hpp"
#include "r1/reward/code/run_slots.hpp"
#include "r1/reward/code/seccomp_filter.hpp"

namespace r1::code {

enum class IsolationMode : std::uint8_t { namespaces, process_group };

inline std::string_view to_string(IsolationMode mode) {
  return mode == IsolationMode::namespaces ? "namespaces" : "process_group";
}

// What this machine lets the sandbox do; probed once per process.
struct SandboxCapabilities {
  bool root = false;            // effective uid 0: can drop to a per-run uid
  bool namespaces = false;      // can create pid+net+mount+ipc+uts namespaces and mount tmpfs in them
  bool user_namespace = false;  // not root: the namespaces live in a new user namespace
  bool isolated = false;        // untrusted code can run safely: root (a per-run uid) or namespaces
  bool seccomp = false;         // seccomp filters install and deny socket()
  bool pidfd = false;           // pidfd_open works (else the wall clock is polled every millisecond)
  IsolationMode mode = IsolationMode::process_group;  // the best mode available
  std::string network;          // how the network is blocked, in words
  std::string description;      // all of the above, for logs
};

struct SandboxLimits {
  int wall_time_ms = 4000;                         // whole run, from clone to the supervisor's exit
  int cpu_time_ms = 2000;                          // RLIMIT_CPU, rounded up to whole seconds
  std::int64_t address_space_bytes = 1ll << 30;    // RLIMIT_AS of each process
  std::int64_t stack_bytes = 64ll << 20;           // RLIMIT_STACK (deep recursion is common in solutions)
  std::int64_t file_size_bytes = 16ll << 20;       // RLIMIT_FSIZE: the largest file it may write
  std::int64_t tmpfs_bytes = 64ll << 20;           // size of /work and of /tmp each (namespaces mode)
  int open_files = 64;                             // RLIMIT_NOFILE
  int processes = 96;                              // RLIMIT_NPROC for the run's uid: threads count, so room for 64 workers
  std::size_t output_bytes = 1u << 20;             // cap on stdout and on stderr, each
};

struct SandboxRequest {
  std::vector<std::string> argv;   // argv[0]: an absolute path as seen inside the sandbox
  std::vector<std::string> env;    // "NAME=value" entries; nothing is inherited
  std::string stdin_data;
  bool program_dir_writable = false;  // true for a compile step that writes its output there
  SandboxLimits limits;
  std::optional<IsolationMode> mode;  // default: sandbox_capabilities().mode
  bool allow_unisolated = false;      // run even when not root and without namespaces (NOT safe for untrusted code)
};

enum class SandboxOutcome : std::uint8_t {
  exited,         // the program exited by itself; see exit_code
  signaled,       // killed by a signal it received or raised; see signal
  wall_timeout,   // still running at the wall-clock limit; everything was killed
  output_limit,   // wrote more than output_bytes to stdout or stderr; everything was killed
  sandbox_error,  // the sandbox itself failed (clone, mount, exec): not the program's fault
};

inline std::string_view to_string(SandboxOutcome outcome) {
  switch (outcome) {
    case SandboxOutcome::exited: return "exited";
    case SandboxOutcome::signaled: return "signaled";
    case SandboxOutcome::wall_timeout: return "wall_timeout";
    case SandboxOutcome::output_limit: return "output_limit";
    case SandboxOutcome::sandbox_error: return "sandbox_error";
  }
  return "unknown";
}

struct SandboxResult {
  SandboxOutcome outcome = SandboxOutcome::sandbox_error;
  int exit_code = -1;      // when exited
  int signal = 0;          // when signaled
  double wall_ms = 0.0;
  double cpu_ms = 0.0;     // user + system of the program process (not of children it did not wait for)
  std::int64_t max_rss_kb = 0;
  std::string stdout_text;
  std::string stderr_text;
  std::string error;       // for sandbox_error: which step failed and why
  IsolationMode mode = IsolationMode::process_group;
};

namespace detail {

// What the supervisor reports through its status pipe. `stage` says which setup
// step failed (kStage*), or kStageFinished with the program's wait status.
struct SupervisorReport {
  std::int32_t stage = 0;
  std::int32_t error = 0;        // errno of the failed step
  std::int32_t wait_status = 0;
  std::int32_t padding = 0;
  std::int64_t cpu_us = 0;
  std::int64_t max_rss_kb = 0;
};

enum SupervisorStage : std::int32_t {
  kStageFinished = 1,
  kStageFileDescriptors,
  kStageSession,
  kStageMountPrivate,
  kStageMountRoot,
  kStageMountStep,
  kStagePivotRoot,
  kStageFork,
  kStageRlimit,
  kStageIdentity,
  kStageSeccomp,
  kStageChdir,
  kStageExec,
  kStageUserNamespace,
  kStageSubreaper,
};

inline std::string_view stage_name(std::int32_t stage) {
  switch (stage) {
    case kStageFileDescriptors: return "setting up stdin/stdout/stderr";
    case kStageSession: return "starting a new session (setsid)";
    case kStageMountPrivate: return "making mounts private";
    case kStageMountRoot: return "mounting the sandbox root tmpfs";
    case kStageMountStep: return "building the sandbox file tree (mount/mkdir/symlink)";
    case kStagePivotRoot: return "pivot_root into the sandbox tree";
    case kStageFork: return "forking the program from the supervisor";
    case kStageRlimit: return "setting rlimits";
    case kStageIdentity: return "dropping to the run's uid/gid";
    case kStageSeccomp: return "installing the seccomp filter";
    case kStageChdir: return "entering the working directory";
    case kStageExec: return "executing the program (execve)";
    case kStageUserNamespace: return "writing the user namespace's uid/gid maps";
    case kStageSubreaper: return "becoming the child subreaper of the run (prctl)";
    default: return "unknown step";
  }
}

// One step of building the sandbox's file tree, all paths prepared before clone.
struct MountStep {
  enum Kind : std::uint8_t {
    make_dir, make_file, make_symlink, mount_fs, bind_readonly, bind_writable, bind_device, remount_readonly
  };
  Kind kind;
  std::string source;  // mount source / symlink target
  std::string target;
  std::string fstype;
  std::string data;
  unsigned long flags = 0;
  unsigned long kept_flags = 0;  // binds: flags of the source mount a remount must keep (locked in a user namespace)
};

// Everything the child needs, as C strings and plain values, built before clone.
struct LaunchPlan {
  IsolationMode mode = IsolationMode::process_group;
  int stdin_fd = -1, stdout_fd = -1, stderr_fd = -1, status_fd = -1;
  std::vector<MountStep> steps;
  std::string mount_point;  // namespaces: the host dir the sandbox root tmpfs goes on
  std::string root_data;    // tmpfs options of the root
  std::string working_dir;  // as seen by the program
  std::vector<char*> argv;
  std::vector<char*> envp;
  std::array<rlimit, 7> limits{};
  std::array<__rlimit_resource_t, 7> limit_resources{};
  bool change_identity = false;
  std::uint32_t uid = 0;
  bool user_namespace = false;   // write the maps below, drop capabilities before exec
  std::string uid_map, gid_map;  // "0 <caller's uid> 1\n"
  int last_capability = 40;      // /proc/sys/kernel/cap_last_cap
};

// process_group mode as root: no PID namespace kills and reaps the run's processes,
// and orphans would go to the host's PID 1, which may never reap them (their zombies
// count against the uid's RLIMIT_NPROC, so later runs of the slot could not fork).
// The supervisor is then the run's child subreaper and ends the run itself (see
// supervise()). Not root it cannot kill by uid (that uid is the caller's).
inline bool supervisor_ends_run(const LaunchPlan& plan) {
  return plan.mode == IsolationMode::process_group && plan.change_identity;
}

inline void write_report(int fd, std::int32_t stage, std::int32_t error, std::int32_t wait_status = 0,
                         std::int64_t cpu_us = 0, std::int64_t max_rss_kb = 0) {
  SupervisorReport report;
  report.stage = stage;
  report.error = error;
  report.wait_status = wait_status;
  report.cpu_us = cpu_us;
  report.max_rss_kb = max_rss_kb;
  const char* bytes = reinterpret_cast<const char*>(&report);
  std::size_t written = 0;
  while (written < sizeof report) {
    const ssize_t n = ::write(fd, bytes + written, sizeof report - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    written += static_cast<std::size_t>(n);
  }
}

[[noreturn]] inline void child_fail(int status_fd, std::int32_t stage) {
  write_report(status_fd, stage, errno);
  ::_exit(127);
}

// Changes the process's identity with raw system calls: glibc's setresuid and
// friends broadcast the change to every thread glibc believes exists (the setxid
// signal) and wait for them on a futex; in a child cloned from a multi-threaded
// process those threads do not exist, and the wait never ends.
inline bool drop_identity(std::uint32_t uid) {
  const auto id = static_cast<long>(uid);
  return ::syscall(SYS_setgroups, 0L, nullptr) == 0 && ::syscall(SYS_setresgid, id, id, id) == 0 &&
         ::syscall(SYS_setresuid, id, id, id) == 0;
}

// Leaves the process (root of its user namespace) without capabilities, now and
// after execve: the bounding set is emptied first (that needs CAP_SETPCAP), then
// the effective, permitted and inheritable sets (which empties the ambient set).
inline bool drop_capabilities(int last_capability) {
  for (int capability = 0; capability <= last_capability; ++capability) {
    if (::prctl(PR_CAPBSET_DROP, capability, 0, 0, 0) != 0 && errno != EINVAL) return false;
  }
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct none[2] = {};
  return ::syscall(SYS_capset, &header, none) == 0;
}

// Writes all of `content` to `path` (child side: no allocation).
inline bool write_whole_file(const char* path, const std::string& content) {
  const int fd = ::open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool ok = ::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size());
  ::close(fd);
  return ok;
}

// A new user namespace maps the caller's uid and gid to 0 (setgroups must be
// denied first for an unprivileged writer; user_namespaces(7)).
inline bool write_user_maps(const std::string& uid_map, const std::string& gid_map) {
  return write_whole_file("/proc/self/setgroups", "deny") && write_whole_file("/proc/self/uid_map", uid_map) &&
         write_whole_file("/proc/self/gid_map", gid_map);
}

// fork() without glibc's fork handlers (which take malloc's locks): safe in the
// child of a multi-threaded process.
inline pid_t raw_fork() { return static_cast<pid_t>(::syscall(SYS_clone, SIGCHLD, nullptr, nullptr, nullptr, 0)); }

inline void close_from(int first_fd) {
#ifdef SYS_close_range
  if (::syscall(SYS_close_range, static_cast<unsigned>(first_fd), ~0u, 0u) == 0) return;
#endif
  rlimit files{};
  ::getrlimit(RLIMIT_NOFILE, &files);
  const rlim_t last = std::min<rlim_t>(files.rlim_cur == RLIM_INFINITY ? 65536 : files.rlim_cur, 65536);
  for (rlim_t fd = static_cast<rlim_t>(first_fd); fd < last; ++fd) ::close(static_cast<int>(fd));
}

// Waits for a child we cloned and returns its wait status (or -1).
inline int wait_child(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return status;
}

// Waits up to `timeout_ms` for a child we cloned; false if it is still running.
inline bool wait_child_within(pid_t pid, int timeout_ms) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    const pid_t done = ::waitpid(pid, nullptr, WNOHANG);
    if (done == pid || (done < 0 && errno != EINTR)) return true;
    if (std::chrono::steady_clock::now() >= until) return false;
    ::usleep(1000);
  }
}

// Kills every process whose real uid is `uid`: a helper takes that uid and calls
// kill(-1, SIGKILL), which reaches exactly the processes it may signal. One call
// also reaches children forked while it runs (since Linux 4.18, fork defers to a
// pending signal sent to several processes); kill(-1) cannot tell us when none is
// left (it returns 0 whenever any other process exists, EPERM ones included), so
// the second call is only a safety net; the tests scan /proc for survivors.
inline void kill_all_of_uid(std::uint32_t uid) {
  const pid_t helper = raw_fork();
  if (helper < 0) return;
  if (helper == 0) {
    if (!drop_identity(uid)) ::_exit(1);
    ::kill(-1, SIGKILL);
    ::kill(-1, SIGKILL);
    ::_exit(0);
  }
  wait_child(helper);
}

// The program process: limits, identity, filter, exec. Never returns.
[[noreturn]] inline void exec_program(const LaunchPlan& plan) {
  constexpr int status_fd = 3;
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  ::umask(022);  // what a compile step writes must be readable by the runs' other uids
  if (plan.change_identity && !drop_identity(plan.uid)) child_fail(status_fd, kStageIdentity);
  if (plan.user_namespace && !drop_capabilities(plan.last_capability)) child_fail(status_fd, kStageIdentity);
  for (std::size_t i = 0; i < plan.limits.size(); ++i) {
    if (::setrlimit(plan.limit_resources[i], &plan.limits[i]) != 0) {
      child_fail(status_fd, kStageRlimit);
    }
  }
  if (::chdir(plan.working_dir.c_str()) != 0) child_fail(status_fd, kStageChdir);
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
      ::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &network_deny_filter()) != 0) {
    child_fail(status_fd, kStageSeccomp);
  }
  ::execve(plan.argv[0], plan.argv.data(), plan.envp.data());
  child_fail(status_fd, kStageExec);
}

inline bool run_mount_step(const MountStep& step) {
  switch (step.kind) {
    case MountStep::make_dir: return ::mkdir(step.target.c_str(), 0755) == 0;
    case MountStep::make_file: {
      const int fd = ::open(step.target.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
      if (fd < 0) return false;
      ::close(fd);
      return true;
    }
    case MountStep::make_symlink: return ::symlink(step.source.c_str(), step.target.c_str()) == 0;
    case MountStep::mount_fs:
      return ::mount(step.source.c_str(), step.target.c_str(), step.fstype.c_str(), step.flags, step.data.c_str()) == 0;
    case MountStep::bind_readonly:
    case MountStep::bind_writable:
      if (::mount(step.source.c_str(), step.target.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0) return false;
      return ::mount(nullptr, step.target.c_str(), nullptr,
                     MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NODEV | step.kept_flags |
                         (step.kind == MountStep::bind_readonly ? static_cast<unsigned long>(MS_RDONLY) : 0ul),
                     nullptr) == 0;
    case MountStep::bind_device:  // like bind_writable, but device nodes must keep working (no MS_NODEV)
      if (::mount(step.source.c_str(), step.target.c_str(), nullptr, MS_BIND, nullptr) != 0) return false;
      return ::mount(nullptr, step.target.c_str(), nullptr,
                     MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NOEXEC | step.kept_flags, nullptr) == 0;
    case MountStep::remount_readonly:
      return ::mount(nullptr, step.target.c_str(), nullptr, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV,
                     step.data.c_str()) == 0;
  }
  return false;
}

// The supervisor: the first child. Sets up fds, namespaces' file tree or session,
// forks the program, waits for it, reports, exits. Never returns.
[[noreturn]] inline void supervise(const LaunchPlan& plan) {
  // Move the four descriptors out of the way, then onto 0..3; everything else closes.
  const int moved[4] = {::fcntl(plan.stdin_fd, F_DUPFD, 100), ::fcntl(plan.stdout_fd, F_DUPFD, 100),
                        ::fcntl(plan.stderr_fd, F_DUPFD, 100), ::fcntl(plan.status_fd, F_DUPFD, 100)};
  for (int target = 0; target < 4; ++target) {
    if (moved[target] < 0 || ::dup2(moved[target], target) != target) ::_exit(126);
  }
  close_from(4);
  constexpr int status_fd = 3;
  if (::fcntl(status_fd, F_SETFD, FD_CLOEXEC) != 0) child_fail(status_fd, kStageFileDescriptors);
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);

  if (plan.mode == IsolationMode::namespaces) {
    if (plan.user_namespace && !write_user_maps(plan.uid_map, plan.gid_map)) child_fail(status_fd, kStageUserNamespace);
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) child_fail(status_fd, kStageMountPrivate);
    if (::mount("r1-sandbox", plan.mount_point.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, plan.root_data.c_str()) != 0) {
      child_fail(status_fd, kStageMountRoot);
    }
    for (const MountStep& step : plan.steps) {
      if (!run_mount_step(step)) child_fail(status_fd, kStageMountStep);
    }
    if (::chdir(plan.mount_point.c_str()) != 0 || ::syscall(SYS_pivot_root, ".", ".") != 0 ||
        ::umount2(".", MNT_DETACH) != 0 || ::chdir("/") != 0) {
      child_fail(status_fd, kStagePivotRoot);
    }
    ::sethostname("sandbox", 7);
  } else {
    if (::setsid() < 0) child_fail(status_fd, kStageSession);
    if (supervisor_ends_run(plan) && ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0) {
      child_fail(status_fd, kStageSubreaper);
    }
  }

  const pid_t program = raw_fork();
  if (program < 0) child_fail(status_fd, kStageFork);
  if (program == 0) exec_program(plan);
  // Only the program and what it starts hold the pipes now.
  ::close(0);
  ::close(1);
  ::close(2);
  // As PID 1 of the namespace (or subreaper) the supervisor also reaps orphans; it
  // reports when the program itself ends, and its exit then ends the namespace.
  for (;;) {
    int status = 0;
    rusage usage{};
    const pid_t done = ::wait4(-1, &status, 0, &usage);
    if (done < 0 && errno == EINTR) continue;
    if (done < 0) child_fail(status_fd, kStageFork);
    if (done != program) continue;
    const std::int64_t cpu_us = usage.ru_utime.tv_sec * 1000000ll + usage.ru_utime.tv_usec +
                                usage.ru_stime.tv_sec * 1000000ll + usage.ru_stime.tv_usec;
    write_report(status_fd, kStageFinished, 0, status, cpu_us, usage.ru_maxrss);
    if (supervisor_ends_run(plan)) {
      // What the run left (daemons, a fork bomb's children, even those that left
      // the group) has the run's uid and, orphaned, comes to us: kill it all and
      // reap it all, so that no zombie outlives the run. The report goes first so
      // that a host that loses patience (a process stuck in the kernel) still has it.
      kill_all_of_uid(plan.uid);
      while (::wait4(-1, nullptr, 0, nullptr) > 0 || errno == EINTR) {
      }
    }
    ::_exit(0);
  }
}

struct Fd {
  int fd = -1;
  Fd() = default;
  explicit Fd(int value) : fd(value) {}
  Fd(Fd&& other) noexcept : fd(std::exchange(other.fd, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) {
      reset();
      fd = std::exchange(other.fd, -1);
    }
    return *this;
  }
  ~Fd() { reset(); }
  void reset() {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
};

inline std::pair<Fd, Fd> make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) fail("sandbox: pipe2 failed: ", std::strerror(errno));
  return {Fd{fds[0]}, Fd{fds[1]}};
}

inline pid_t clone_supervisor(unsigned long flags) {
  return static_cast<pid_t>(::syscall(SYS_clone, flags | SIGCHLD, nullptr, nullptr, nullptr, 0));
}

inline constexpr unsigned long kNamespaceFlags = CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS;

// Probes in a throwaway child; returns whether `probe` exited 0.
template <class Probe>
bool child_succeeds(unsigned long clone_flags, Probe probe) {
  const pid_t pid = clone_supervisor(clone_flags);
  if (pid < 0) return false;
  if (pid == 0) ::_exit(probe() ? 0 : 1);
  const int status = wait_child(pid);
  return status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

inline SandboxCapabilities probe_capabilities() {
  SandboxCapabilities caps;
  caps.root = ::geteuid() == 0;
  const std::string uid_map = "0 " + std::to_string(::geteuid()) + " 1\n";
  const std::string gid_map = "0 " + std::to_string(::getegid()) + " 1\n";
  const bool user_namespace = !caps.root;
  caps.namespaces = child_succeeds(kNamespaceFlags | (user_namespace ? CLONE_NEWUSER : 0ul), [&] {
    return (!user_namespace || write_user_maps(uid_map, gid_map)) &&
           ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0 &&
           ::mount("r1-probe", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "size=64k") == 0;
  });
  caps.user_namespace = caps.namespaces && user_namespace;
  caps.seccomp = child_succeeds(0, [] {
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return false;
    if (::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &network_deny_filter()) != 0) return false;
    return ::socket(AF_INET, SOCK_STREAM, 0) < 0 && errno == EACCES;
  });
#ifdef SYS_pidfd_open
  {
    const int fd = static_cast<int>(::syscall(SYS_pidfd_open, ::getpid(), 0));
    caps.pidfd = fd >= 0;
    if (fd >= 0) ::close(fd);
  }
#endif
  caps.mode = caps.namespaces ? IsolationMode::namespaces : IsolationMode::process_group;
  caps.isolated = caps.root || caps.namespaces;
  if (caps.namespaces) {
    caps.network = caps.seccomp ? "new network namespace (no interfaces up) + seccomp denying socket()"
                                : "new network namespace (no interfaces up)";
  } else {
    caps.network = caps.seccomp ? "seccomp denying socket()" : "NONE: no network namespace and no seccomp";
  }
  std::string identity = caps.root             ? "a per-run uid with no groups or capabilities"
                         : caps.user_namespace ? "uid 0 of a new user namespace (the caller's uid outside), no capabilities"
                                               : "the caller's uid (not root: cannot drop)";
  std::string files = caps.namespaces
                          ? "pivot_root into a tmpfs with read-only /usr,/bin,/lib*,/sbin, /prog, /dev nodes, tmpfs /work and /tmp"
                          : (caps.root ? "ordinary permissions as the per-run uid; fresh working dir removed afterwards"
                                       : "ordinary permissions as the caller (NOT isolated); fresh working dir removed afterwards");
  std::string cleanup = caps.namespaces ? "PID namespace: all processes die with the supervisor"
                                        : (caps.root ? "process-group kill + kill of every process of the run's uid, reaped by the subreaper supervisor"
                                                     : "process-group kill only (children that change group may survive)");
  caps.description = std::string(caps.isolated ? "" : "NOT ISOLATED (runs refused unless allow_unisolated): ") + "mode " + std::string(to_string(caps.mode)) + "; network: " + caps.network +
                     "; identity: " + identity + "; files: " + files + "; cleanup: " + cleanup +
                     "; wall clock: " + (caps.pidfd ? "pidfd + poll" : "poll every 1 ms");
  return caps;
}

}  // namespace detail

// Probed on first use, then fixed for the life of the process.
inline const SandboxCapabilities& sandbox_capabilities() {
  static const SandboxCapabilities caps = detail::probe_capabilities();
  return caps;
}

// A host temp directory for one program: prog/ holds its files (and a compiled
// binary), mnt/ is where the namespaces mode mounts the sandbox root, run-N/ are
// the working directories of the process_group mode. Removed on destruction.
class SandboxWorkspace {
 public:
  SandboxWorkspace() {
    std::string pattern = (std::filesystem::temp_directory_path() / "r1-code-XXXXXX").string();
    require(::mkdtemp(pattern.data()) != nullptr, "sandbox: cannot create a temp directory under ",
            std::filesystem::temp_directory_path().string(), ": ", std::strerror(errno));
    root_ = pattern;
    ::chmod(root_.c_str(), 0711);  // others may traverse to prog/ but not list
    for (const char* sub : {"prog", "mnt"}) {
      const std::string path = root_ + "/" + sub;
      require(::mkdir(path.c_str(), 0755) == 0, "sandbox: cannot create ", path, ": ", std::strerror(errno));
      ::chmod(path.c_str(), 0755);
    }
  }
  ~SandboxWorkspace() {
    std::error_code ignored;
    std::filesystem::remove_all(root_, ignored);
  }
  SandboxWorkspace(const SandboxWorkspace&) = delete;
  SandboxWorkspace& operator=(const SandboxWorkspace&) = delete;

  const std::string& root() const { return root_; }
  std::string program_dir() const { return root_ + "/prog"; }
  std::string mount_point() const { return root_ + "/mnt"; }

  // Where the program directory is seen from inside a run of `mode`.
  std::string visible_program_dir(IsolationMode mode) const {
    return mode == IsolationMode::namespaces ? std::string("/prog") : program_dir();
  }
  std::string visible_program_dir() const { return visible_program_dir(sandbox_capabilities().mode); }

  // Writes a file into prog/, readable by everyone (runs use other uids).
  void write_program_file(const std::string& name, std::string_view content, bool executable = false) const {
    const std::string path = program_dir() + "/" + name;
    const int fd = ::open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, executable ? 0755 : 0644);
    require(fd >= 0, "sandbox: cannot write ", path, ": ", std::strerror(errno));
    detail::Fd owner{fd};
    std::size_t written = 0;
    while (written < content.size()) {
      const ssize_t n = ::write(fd, content.data() + written, content.size() - written);
      require(n > 0 || errno == EINTR, "sandbox: writing ", path, ": ", std::strerror(errno));
      if (n > 0) written += static_cast<std::size_t>(n);
    }
    ::fchmod(fd, executable ? 0755 : 0644);
  }

 private:
  std::string root_;
};

namespace detail {

// The per-mount flags of the mount holding `path`, as MS_* flags: a bind remount
// inside a user namespace must repeat them (they are locked there).
inline unsigned long mount_flags_of(const std::string& path) {
  struct statvfs info {};
  if (::statvfs(path.c_str(), &info) != 0) return 0;
  unsigned long flags = 0;
  if (info.f_flag & ST_NOSUID) flags |= MS_NOSUID;
  if (info.f_flag & ST_NODEV) flags |= MS_NODEV;
  if (info.f_flag & ST_NOEXEC) flags |= MS_NOEXEC;
  if (info.f_flag & ST_RDONLY) flags |= MS_RDONLY;
  if (info.f_flag & ST_NOATIME) flags |= MS_NOATIME;
  if (info.f_flag & ST_NODIRATIME) flags |= MS_NODIRATIME;
  if (info.f_flag & ST_RELATIME) flags |= MS_RELATIME;
  return flags;
}

inline void add_system_tree(LaunchPlan& plan, const SandboxLimits& limits, const std::string& program_dir,
                            bool program_dir_writable, std::uint32_t uid, bool root) {
  const std::string& mnt = plan.mount_point;
  auto add = [&](MountStep::Kind kind, std::string source, std::string target, std::string fstype = {},
                 std::string data = {}, unsigned long flags = 0) {
    const bool bind = kind == MountStep::bind_readonly || kind == MountStep::bind_writable || kind == MountStep::bind_device;
    const unsigned long kept = bind ? mount_flags_of(source) : 0ul;
    plan.steps.push_back(
        MountStep{kind, std::move(source), std::move(target), std::move(fstype), std::move(data), flags, kept});
  };
  for (const char* system_path : {"/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32"}) {
    std::error_code error;
    const auto status = std::filesystem::symlink_status(system_path, error);
    if (error || !std::filesystem::exists(status)) continue;
    const std::string target = mnt + system_path;
    if (std::filesystem::is_symlink(status)) {
      add(MountStep::make_symlink, std::filesystem::read_symlink(system_path).string(), target);
    } else if (std::filesystem::is_directory(status)) {
      add(MountStep::make_dir, {}, target);
      add(MountStep::bind_readonly, system_path, target);
    }
  }
  add(MountStep::make_dir, {}, mnt + "/prog");
  add(program_dir_writable ? MountStep::bind_writable : MountStep::bind_readonly, program_dir, mnt + "/prog");
  const std::string owner = root ? ",uid=" + std::to_string(uid) + ",gid=" + std::to_string(uid) : std::string();
  const std::string size = "size=" + std::to_string(limits.tmpfs_bytes);
  add(MountStep::make_dir, {}, mnt + "/work");
  add(MountStep::mount_fs, "r1-work", mnt + "/work", "tmpfs", size + ",mode=0700" + owner, MS_NOSUID | MS_NODEV);
  add(MountStep::make_dir, {}, mnt + "/tmp");
  add(MountStep::mount_fs, "r1-tmp", mnt + "/tmp", "tmpfs", size + ",mode=1777", MS_NOSUID | MS_NODEV);
  add(MountStep::make_dir, {}, mnt + "/dev");
  for (const char* device : {"null", "zero", "full", "random", "urandom"}) {
    const std::string host = std::string("/dev/") + device;
    if (!std::filesystem::exists(host)) continue;
    add(MountStep::make_file, {}, mnt + host);
    add(MountStep::bind_device, host, mnt + host);
  }
  add(MountStep::remount_readonly, {}, mnt, {}, plan.root_data);
}

inline rlimit limit_of(std::int64_t value) {
  const auto v = static_cast<rlim_t>(std::max<std::int64_t>(value, 0));
  return rlimit{v, v};
}

inline double elapsed_ms(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - since).count();
}

}  // namespace detail

// Runs `request` in `workspace` under the limits; never throws for anything the
// program does. `caps` is what the machine allows (tests pass a weaker one). Throws r1::Error for a malformed request (empty argv, argv[0] not
// absolute) or when the mode asked for is not available here.
inline SandboxResult run_sandboxed(const SandboxWorkspace& workspace, const SandboxRequest& request,
                                   const SandboxCapabilities& caps = sandbox_capabilities()) {
  using namespace detail;
  require(!request.argv.empty() && !request.argv[0].empty() && request.argv[0][0] == '/',
          "sandbox request: argv[0] must be an absolute path, got '", request.argv.empty() ? "" : request.argv[0], "'");
  const SandboxLimits& limits = request.limits;
  require(limits.wall_time_ms > 0 && limits.cpu_time_ms > 0 && limits.address_space_bytes > 0 &&
              limits.file_size_bytes >= 0 && limits.open_files >= 4 && limits.processes >= 1 && limits.tmpfs_bytes > 0,
          "sandbox limits: expected positive time/memory limits, open_files >= 4 and processes >= 1");
  const IsolationMode mode = request.mode.value_or(caps.mode);
  require(mode != IsolationMode::namespaces || caps.namespaces,
          "sandbox request: mode 'namespaces' asked for but this machine does not allow it (", caps.description, ")");

  SandboxResult result;
  result.mode = mode;
  if (mode == IsolationMode::process_group && !caps.root && !request.allow_unisolated) {
    result.error = "refusing to run untrusted code: the process_group mode without root runs the program as the "
                   "caller's uid (it could kill the caller's processes and read its files); use the namespaces mode "
                   "or set allow_unisolated to run anyway";
    return result;
  }
  const RunSlot slot;
  const auto start = std::chrono::steady_clock::now();

  LaunchPlan plan;
  plan.mode = mode;
  plan.change_identity = caps.root;
  plan.user_namespace = mode == IsolationMode::namespaces && caps.user_namespace;
  if (plan.user_namespace) {
    plan.uid_map = "0 " + std::to_string(::geteuid()) + " 1\n";
    plan.gid_map = "0 " + std::to_string(::getegid()) + " 1\n";
    std::ifstream last_cap("/proc/sys/kernel/cap_last_cap");
    if (!(last_cap >> plan.last_capability)) plan.last_capability = 63;
  }
  plan.uid = slot.uid();
  std::string run_dir;  // process_group mode: a fresh working dir on the host
  if (mode == IsolationMode::namespaces) {
    plan.mount_point = workspace.mount_point();
    plan.root_data = "size=1m,mode=0755";
    add_system_tree(plan, limits, workspace.program_dir(), request.program_dir_writable, plan.uid, caps.root);
    plan.working_dir = "/work";
  } else {
    run_dir = workspace.root() + "/run-" + std::to_string(slot.index()) + "-XXXXXX";
    if (::mkdtemp(run_dir.data()) == nullptr) {
      result.error = "cannot create the working directory under " + workspace.root() + ": " + std::strerror(errno);
      return result;
    }
    ::chmod(run_dir.c_str(), 0700);
    if (caps.root) ::chown(run_dir.c_str(), plan.uid, plan.uid);
    plan.working_dir = run_dir;
  }
  // A compile step writes its output into prog/ as the run's uid; ownership returns to us afterwards.
  if (caps.root && request.program_dir_writable) ::chown(workspace.program_dir().c_str(), plan.uid, plan.uid);
  struct RunDirRemover {
    const std::string& path;
    ~RunDirRemover() {
      std::error_code ignored;
      if (!path.empty()) std::filesystem::remove_all(path, ignored);
    }
  } remove_run_dir{run_dir};

  std::vector<std::string> argv_storage = request.argv;
  std::vector<std::string> env_storage = request.env;
  for (auto& arg : argv_storage) plan.argv.push_back(arg.data());
  plan.argv.push_back(nullptr);
  for (auto& var : env_storage) plan.envp.push_back(var.data());
  plan.envp.push_back(nullptr);
  const std::int64_t cpu_seconds = (limits.cpu_time_ms + 999) / 1000;
  plan.limit_resources = {RLIMIT_CPU, RLIMIT_AS, RLIMIT_STACK, RLIMIT_FSIZE, RLIMIT_NOFILE, RLIMIT_NPROC, RLIMIT_CORE};
  // CPU: SIGXCPU at the soft limit, SIGKILL one second later if it is ignored.
  plan.limits = {rlimit{static_cast<rlim_t>(cpu_seconds), static_cast<rlim_t>(cpu_seconds + 1)},
                 limit_of(limits.address_space_bytes),
                 limit_of(std::min(limits.stack_bytes, limits.address_space_bytes)),
                 limit_of(limits.file_size_bytes),
                 limit_of(limits.open_files),
                 limit_of(limits.processes),
                 limit_of(0)};

  Fd stdin_memfd{static_cast<int>(::memfd_create("r1-sandbox-stdin", MFD_CLOEXEC))};
  if (stdin_memfd.fd < 0) {
    result.error = std::string("memfd_create: ") + std::strerror(errno);
    return result;
  }
  for (std::size_t written = 0; written < request.stdin_data.size();) {
    const ssize_t n = ::write(stdin_memfd.fd, request.stdin_data.data() + written, request.stdin_data.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      result.error = std::string("writing stdin to a memfd: ") + std::strerror(errno);
      return result;
    }
    written += static_cast<std::size_t>(n);
  }
  ::lseek(stdin_memfd.fd, 0, SEEK_SET);
  auto [stdout_read, stdout_write] = make_pipe();
  auto [stderr_read, stderr_write] = make_pipe();
  auto [status_read, status_write] = make_pipe();
  plan.stdin_fd = stdin_memfd.fd;
  plan.stdout_fd = stdout_write.fd;
  plan.stderr_fd = stderr_write.fd;
  plan.status_fd = status_write.fd;

  const pid_t supervisor = clone_supervisor(
      mode == IsolationMode::namespaces ? kNamespaceFlags | (plan.user_namespace ? CLONE_NEWUSER : 0ul) : 0ul);
  if (supervisor == 0) supervise(plan);
  if (supervisor < 0) {
    result.error = std::string("clone of the supervisor failed: ") + std::strerror(errno);
    return result;
  }
  stdin_memfd.reset();
  stdout_write.reset();
  stderr_write.reset();
  status_write.reset();
  Fd pidfd;
#ifdef SYS_pidfd_open
  if (caps.pidfd) pidfd = Fd{static_cast<int>(::syscall(SYS_pidfd_open, supervisor, 0))};
#endif
  for (int fd : {stdout_read.fd, stderr_read.fd, status_read.fd}) ::fcntl(fd, F_SETFL, O_NONBLOCK);

  // Reads what is there (at most the cap in all); false once the pipe is at end of file.
  std::string status_bytes;
  auto drain = [&](int fd, std::string& sink, std::size_t cap, bool& over) {
    char buffer[65536];
    for (;;) {
      const ssize_t n = ::read(fd, buffer, sizeof buffer);
      if (n > 0) {
        const std::size_t room = cap > sink.size() ? cap - sink.size() : 0;
        sink.append(buffer, std::min(room, static_cast<std::size_t>(n)));
        if (static_cast<std::size_t>(n) > room) {
          over = true;
          return true;  // stop here: a writer faster than us would keep this loop going forever
        }
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      return n != 0;  // n < 0: EAGAIN, still open
    }
  };
  bool stdout_open = true, stderr_open = true, status_open = true;
  bool output_over = false, supervisor_done = false, timed_out = false;
  const auto deadline = start + std::chrono::milliseconds(limits.wall_time_ms);
  const std::size_t status_cap = sizeof(SupervisorReport) * 2;

  auto kill_run = [&] {
    if (supervisor_ends_run(plan)) {
      // The supervisor must live to reap what we kill (see supervise()); it exits then.
      kill_all_of_uid(plan.uid);
      return;
    }
    ::kill(supervisor, SIGKILL);  // namespaces: the kernel then kills the whole PID namespace
    if (mode == IsolationMode::process_group) ::kill(-supervisor, SIGKILL);
  };
  while (!supervisor_done) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) {
      timed_out = true;
      kill_run();
      break;
    }
    const int remaining_ms =
        static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count()) + 1;
    pollfd fds[4];
    int count = 0;
    if (stdout_open) fds[count++] = {stdout_read.fd, POLLIN, 0};
    if (stderr_open) fds[count++] = {stderr_read.fd, POLLIN, 0};
    if (status_open) fds[count++] = {status_read.fd, POLLIN, 0};
    if (pidfd.fd >= 0) fds[count++] = {pidfd.fd, POLLIN, 0};
    const int ready = ::poll(fds, static_cast<nfds_t>(count), pidfd.fd >= 0 ? remaining_ms : std::min(remaining_ms, 1));
    if (ready < 0 && errno != EINTR) break;
    if (stdout_open) stdout_open = drain(stdout_read.fd, result.stdout_text, limits.output_bytes, output_over);
    if (stderr_open) stderr_open = drain(stderr_read.fd, result.stderr_text, limits.output_bytes, output_over);
    bool ignored_over = false;
    if (status_open) status_open = drain(status_read.fd, status_bytes, status_cap, ignored_over);
    if (output_over) {
      kill_run();
      break;
    }
    int status = 0;
    if (::waitpid(supervisor, &status, WNOHANG) == supervisor) {
      supervisor_done = true;
      if (mode == IsolationMode::process_group) ::kill(-supervisor, SIGKILL);
    }
  }
  // Reaping takes milliseconds; a supervisor still there after the grace is killed as
  // a last resort (its run's leftovers then go to PID 1, and the sweep below kills them).
  constexpr int kSupervisorReapGraceMs = 500;
  if (!supervisor_done && supervisor_ends_run(plan)) {
    supervisor_done = wait_child_within(supervisor, kSupervisorReapGraceMs);
    if (!supervisor_done) {
      ::kill(supervisor, SIGKILL);
      ::kill(-supervisor, SIGKILL);
    }
  }
  if (!supervisor_done) wait_child(supervisor);
  // process_group mode: children that left the group are found by uid.
  if (mode == IsolationMode::process_group && caps.root) kill_all_of_uid(plan.uid);
  // Everything holding the pipes is dead now (or, unprivileged fallback, may
  // linger): read what is left, without waiting past a short grace.
  const auto grace_end = std::chrono::steady_clock::now() + std::chrono::milliseconds(200);
  while ((stdout_open || stderr_open || status_open) && std::chrono::steady_clock::now() < grace_end) {
    pollfd fds[3];
    int count = 0;
    if (stdout_open) fds[count++] = {stdout_read.fd, POLLIN, 0};
    if (stderr_open) fds[count++] = {stderr_read.fd, POLLIN, 0};
    if (status_open) fds[count++] = {status_read.fd, POLLIN, 0};
    ::poll(fds, static_cast<nfds_t>(count), 10);
    if (stdout_open) stdout_open = drain(stdout_read.fd, result.stdout_text, limits.output_bytes, output_over);
    if (stderr_open) stderr_open = drain(stderr_read.fd, result.stderr_text, limits.output_bytes, output_over);
    bool ignored_over = false;
    if (status_open) status_open = drain(status_read.fd, status_bytes, status_cap, ignored_over);
  }
  if (caps.root && request.program_dir_writable) ::chown(workspace.program_dir().c_str(), 0, 0);
  result.wall_ms = elapsed_ms(start);

  SupervisorReport report;
  const bool have_report = status_bytes.size() >= sizeof report;
  if (have_report) std::memcpy(&report, status_bytes.data(), sizeof report);
  if (have_report && report.stage == kStageFinished) {
    result.cpu_ms = static_cast<double>(report.cpu_us) / 1000.0;
    result.max_rss_kb = report.max_rss_kb;
  }
  if (output_over) {
    result.outcome = SandboxOutcome::output_limit;
  } else if (timed_out) {
    result.outcome = SandboxOutcome::wall_timeout;
  } else if (have_report && report.stage == kStageFinished) {
    if (WIFEXITED(report.wait_status)) {
      result.outcome = SandboxOutcome::exited;
      result.exit_code = WEXITSTATUS(report.wait_status);
    } else {
      result.outcome = SandboxOutcome::signaled;
      result.signal = WTERMSIG(report.wait_status);
    }
  } else if (have_report) {
    result.outcome = SandboxOutcome::sandbox_error;
    result.error = std::string(stage_name(report.stage)) + " failed: " + std::strerror(report.error);
  } else {
    result.outcome = SandboxOutcome::sandbox_error;
    result.error = "the supervisor ended without reporting";
  }
  return result;
}

}  // namespace r1::code
