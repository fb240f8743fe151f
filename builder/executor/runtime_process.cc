#include "builder/executor/runtime_process.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <spawn.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>

#include "builder/executor/cancel.h"
#include "builder/executor/output_redactor.h"
#include "builder/executor/sys_util.h"
#include "secure/redactor.h"

extern char** environ;

namespace latchkey::executor {

namespace {

// argv[0] as execve wants it: as is when it has a '/', else the first executable PATH entry.
std::string FindExecutable(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  const char* path = std::getenv("PATH");
  std::string dirs = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
  size_t pos = 0;
  while (pos <= dirs.size()) {
    size_t colon = dirs.find(':', pos);
    if (colon == std::string::npos) colon = dirs.size();
    std::string dir = dirs.substr(pos, colon - pos);
    std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    pos = colon + 1;
  }
  return "";
}

struct ChildSetup {
  const char* path;
  char* const* argv;
  char* const* envp;
  int devnull, out_w, err_w;
  int lifeline_r, lifeline_w;  // the parent holds lifeline_w open while it lives
  int status_w;                // CLOEXEC: closed by a successful exec, else gets errno
};

// The runtime's side of the clone: only async-signal-safe calls (the parent is multithreaded).
[[noreturn]] void ChildMain(const ChildSetup& c) {
  auto fail = [&c](int err) {
    (void)!::write(c.status_w, &err, sizeof err);
    ::_exit(127);
  };
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) fail(errno);
  // The builder may have died before the line above: then every write end of the lifeline is
  // closed (ours first), and nobody would kill us.
  ::close(c.lifeline_w);
  pollfd p{c.lifeline_r, POLLIN, 0};
  if (::poll(&p, 1, 0) > 0 && (p.revents & POLLHUP) != 0) ::_exit(127);
  // Our own /proc (the runtime reads its children's /proc entries by the PIDs it sees), without
  // the mount propagating back to the builder's namespace.
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_SLAVE, nullptr) != 0) fail(errno);
  if (::mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0) {
    fail(errno);
  }
  if (::dup2(c.devnull, 0) < 0 || ::dup2(c.out_w, 1) < 0 || ::dup2(c.err_w, 2) < 0) fail(errno);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::execve(c.path, c.argv, c.envp);
  fail(errno);
  ::_exit(127);  // not reached: fail() exits
}

}  // namespace

Result<int> RunRuntimeProcess(const std::vector<std::string>& argv, OutputSink& sink,
                              size_t max_pattern_len) {
  if (argv.empty()) return InvalidArgumentError("no OCI runtime command");
  auto cannot_start = [&](int err) {
    return FailedPreconditionError("cannot start OCI runtime " + argv[0] + ": " +
                                   std::strerror(err));
  };
  std::string path = FindExecutable(argv[0]);
  if (path.empty()) return cannot_start(ENOENT);
  int out[2], err[2], life[2], status[2];
  if (::pipe2(out, O_CLOEXEC) != 0) return ErrnoStatus("pipe", "for runtime stdout", errno);
  base::UniqueFd out_r(out[0]), out_w(out[1]);
  if (::pipe2(err, O_CLOEXEC) != 0) return ErrnoStatus("pipe", "for runtime stderr", errno);
  base::UniqueFd err_r(err[0]), err_w(err[1]);
  if (::pipe2(life, O_CLOEXEC) != 0) return ErrnoStatus("pipe", "for the runtime", errno);
  base::UniqueFd life_r(life[0]), life_w(life[1]);
  if (::pipe2(status, O_CLOEXEC) != 0) return ErrnoStatus("pipe", "for the runtime", errno);
  base::UniqueFd status_r(status[0]), status_w(status[1]);
  base::UniqueFd devnull(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (!devnull.valid()) return ErrnoStatus("open", "/dev/null", errno);

  std::vector<char*> cargv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  ChildSetup setup{path.c_str(), cargv.data(), environ,      devnull.get(), out_w.get(),
                   err_w.get(),  life_r.get(), life_w.get(), status_w.get()};
  // fork(2) semantics (no new stack), plus a new PID and mount namespace.
  long rc = ::syscall(SYS_clone, CLONE_NEWPID | CLONE_NEWNS | SIGCHLD, nullptr, nullptr, nullptr,
                      nullptr);
  if (rc == 0) ChildMain(setup);
  if (rc < 0) return cannot_start(errno);
  pid_t pid = static_cast<pid_t>(rc);
  out_w.reset();
  err_w.reset();
  status_w.reset();
  life_r.reset();
  devnull.reset();
  auto reap = [pid]() -> int {
    int st = 0;
    while (::waitpid(pid, &st, 0) < 0) {
      if (errno != EINTR) return -1;
    }
    return st;
  };
  int exec_errno = 0;
  ssize_t got;
  do {
    got = ::read(status_r.get(), &exec_errno, sizeof exec_errno);
  } while (got < 0 && errno == EINTR);
  if (got == static_cast<ssize_t>(sizeof exec_errno)) {
    reap();
    return cannot_start(exec_errno);
  }

  const SecretRegistry& registry = SecretRegistry::Global();
  RedactingStream s_out(registry, max_pattern_len,
                        [&](std::string_view t) { sink.Write(OutputStream::kStdout, t); });
  RedactingStream s_err(registry, max_pattern_len,
                        [&](std::string_view t) { sink.Write(OutputStream::kStderr, t); });
  bool open_out = true, open_err = true;
  char buf[65536];
  bool killed = false;
  while (open_out || open_err) {
    pollfd fds[3] = {{open_out ? out_r.get() : -1, POLLIN, 0},
                     {open_err ? err_r.get() : -1, POLLIN, 0},
                     {!killed ? CancelPollFd() : -1, POLLIN, 0}};
    int ready = ::poll(fds, 3, -1);
    if (ready < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[2].revents != 0) {
      // The init of the runtime's PID namespace: its death takes the container with it.
      ::kill(pid, SIGKILL);
      killed = true;
    }
    for (int i = 0; i < 2; ++i) {
      if (!fds[i].revents) continue;
      ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      RedactingStream& s = i == 0 ? s_out : s_err;
      if (n <= 0) {
        (i == 0 ? open_out : open_err) = false;
        s.Finish();
        continue;
      }
      s.Feed(std::string_view(buf, static_cast<size_t>(n)));
    }
  }
  std::memset(buf, 0, sizeof buf);
  int st = reap();
  if (st < 0) return ErrnoStatus("wait for", argv[0], errno);
  if (WIFEXITED(st)) return WEXITSTATUS(st);
  if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
  return 255;
}

int RunQuietly(const std::vector<std::string>& argv) {
  if (argv.empty()) return -1;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  std::vector<char*> cargv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  pid_t pid;
  int rc = ::posix_spawnp(&pid, cargv[0], &fa, nullptr, cargv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return -1;
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 255;
}

}  // namespace latchkey::executor
