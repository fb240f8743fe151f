#include "broker/host_confinement.h"

#include <fcntl.h>
#include <grp.h>
#include <seccomp.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace latchkey {
namespace {

Status Fail(const std::string& what, int err) {
  return FailedPreconditionError("confinement: " + what + ": " + std::strerror(err));
}

Status SetLimit(int resource, const char* name, uint64_t soft, uint64_t hard) {
  rlimit rl{static_cast<rlim_t>(soft), static_cast<rlim_t>(hard)};
  if (::setrlimit(resource, &rl) != 0) return Fail(std::string("setrlimit ") + name, errno);
  return Status::OK();
}

}  // namespace

const std::vector<std::string>& SeccompAllowlist() {
  static const std::vector<std::string> list = {
      // memory, threads, signals, time
      "brk",
      "mmap",
      "munmap",
      "mprotect",
      "mremap",
      "madvise",
      "mlock",
      "mlock2",
      "munlock",
      "membarrier",
      "futex",
      "set_robust_list",
      "get_robust_list",
      "rseq",
      "set_tid_address",
      "clone",
      "clone3",
      "exit",
      "exit_group",
      "rt_sigaction",
      "rt_sigprocmask",
      "rt_sigreturn",
      "rt_sigtimedwait",
      "sigaltstack",
      "restart_syscall",
      "nanosleep",
      "clock_nanosleep",
      "clock_gettime",
      "clock_getres",
      "gettimeofday",
      "time",
      "getrandom",
      "sched_yield",
      "sched_getaffinity",
      "getpid",
      "gettid",
      "getppid",
      "getuid",
      "geteuid",
      "getgid",
      "getegid",
      "getgroups",
      "getresuid",
      "getresgid",
      "getpgrp",
      "getrlimit",
      "prlimit64",
      "getrusage",
      "uname",
      "sysinfo",
      "prctl",
      "arch_prctl",
      "umask",
      // files
      "read",
      "write",
      "readv",
      "writev",
      "pread64",
      "pwrite64",
      "preadv",
      "pwritev",
      "lseek",
      "close",
      "close_range",
      "open",
      "openat",
      "openat2",
      "creat",
      "stat",
      "fstat",
      "lstat",
      "newfstatat",
      "statx",
      "statfs",
      "fstatfs",
      "access",
      "faccessat",
      "faccessat2",
      "readlink",
      "readlinkat",
      "getdents64",
      "getcwd",
      "chdir",
      "fchdir",
      "fcntl",
      "flock",
      "dup",
      "dup2",
      "dup3",
      "pipe",
      "pipe2",
      "ftruncate",
      "fsync",
      "fdatasync",
      "mkdir",
      "mkdirat",
      "unlink",
      "unlinkat",
      "rename",
      "renameat",
      "renameat2",
      "fchmod",
      "memfd_create",
      "copy_file_range",
      "sendfile",
      "ioctl",
      "fadvise64",
      // waiting
      "poll",
      "ppoll",
      "select",
      "pselect6",
      "epoll_create",
      "epoll_create1",
      "epoll_ctl",
      "epoll_wait",
      "epoll_pwait",
      "eventfd2",
      "timerfd_create",
      "timerfd_settime",
      "timerfd_gettime",
      // network clients
      "socket",
      "socketpair",
      "connect",
      "sendto",
      "recvfrom",
      "sendmsg",
      "recvmsg",
      "sendmmsg",
      "recvmmsg",
      "shutdown",
      "getsockname",
      "getpeername",
      "setsockopt",
      "getsockopt",
      "bind",
      // helper programs (exec providers)
      "execve",
      "execveat",
      "fork",
      "vfork",
      "wait4",
      "waitid",
      "kill",
      "tgkill",
      "tkill",
      "setpgid",
      "getpgid",
      "setsid",
  };
  return list;
}

Status Confine(const ConfinementOptions& options) {
  // 1. descriptors
  int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null < 0) return Fail("open /dev/null", errno);
  for (int fd = 0; fd <= 2; ++fd) {
    if (fd == options.socket_fd) continue;
    if (::dup2(null, fd) < 0) return Fail("dup2 /dev/null", errno);
  }
  std::vector<int> keep = options.keep_fds;
  keep.push_back(0);
  keep.push_back(1);
  keep.push_back(2);
  keep.push_back(options.socket_fd);
  std::sort(keep.begin(), keep.end());
  keep.erase(std::unique(keep.begin(), keep.end()), keep.end());
  unsigned int from = 0;
  for (int k : keep) {
    if (k < 0) continue;
    if (static_cast<unsigned int>(k) > from) {
      if (::syscall(SYS_close_range, from, static_cast<unsigned int>(k) - 1, 0) != 0) {
        return Fail("close_range", errno);
      }
    }
    from = static_cast<unsigned int>(k) + 1;
  }
  if (::syscall(SYS_close_range, from, ~0u, 0) != 0) return Fail("close_range", errno);

  // 2. limits
  uint64_t nofile = options.open_files;
  for (int k : keep) nofile = std::max<uint64_t>(nofile, static_cast<uint64_t>(k) + 16);
  LK_RETURN_IF_ERROR(SetLimit(RLIMIT_CORE, "RLIMIT_CORE", 0, 0));
#if !defined(__SANITIZE_ADDRESS__)
  LK_RETURN_IF_ERROR(
      SetLimit(RLIMIT_AS, "RLIMIT_AS", options.address_space_bytes, options.address_space_bytes));
#else
  // AddressSanitizer maps terabytes of shadow memory and allocates from it lazily: the
  // sanitizer build of the host cannot run under an address-space limit (the limit applies to
  // every other build).
  (void)options.address_space_bytes;
#endif
  LK_RETURN_IF_ERROR(SetLimit(RLIMIT_NOFILE, "RLIMIT_NOFILE", nofile, nofile));
  LK_RETURN_IF_ERROR(
      SetLimit(RLIMIT_CPU, "RLIMIT_CPU", options.cpu_seconds, options.cpu_seconds + 5));

  // 3. not dumpable: no core file, no ptrace or /proc/<pid>/mem by the same uid
  if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) return Fail("PR_SET_DUMPABLE", errno);

  // 4. identity
  if (options.gid.has_value()) {
    gid_t g = *options.gid;
    if (::setgroups(1, &g) != 0) return Fail("setgroups(" + std::to_string(g) + ")", errno);
    if (::setresgid(g, g, g) != 0) return Fail("setgid(" + std::to_string(g) + ")", errno);
  }
  if (options.uid.has_value()) {
    uid_t u = *options.uid;
    if (::setresuid(u, u, u) != 0) return Fail("setuid(" + std::to_string(u) + ")", errno);
  }

  // 5. no new privileges (setuid binaries, file capabilities) for the host and its children
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return Fail("PR_SET_NO_NEW_PRIVS", errno);

  // 6. seccomp allowlist
  scmp_filter_ctx ctx = ::seccomp_init(SCMP_ACT_ERRNO(EPERM));
  if (ctx == nullptr) return FailedPreconditionError("confinement: seccomp: seccomp_init failed");
  for (const std::string& name : SeccompAllowlist()) {
    int nr = ::seccomp_syscall_resolve_name(name.c_str());
    if (nr == __NR_SCMP_ERROR) continue;  // not a syscall on this architecture
    int rc = ::seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
    if (rc != 0) {
      ::seccomp_release(ctx);
      return Fail("seccomp: allow " + name, -rc);
    }
  }
  int rc = ::seccomp_load(ctx);
  ::seccomp_release(ctx);
  if (rc != 0) return Fail("seccomp: load", -rc);
  return Status::OK();
}

}  // namespace latchkey
