#include "builder/executor/runtime_process.h"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "broker/redactor.h"
#include "builder/executor/cancel.h"
#include "builder/executor/output_redactor.h"
#include "builder/executor/sys_util.h"

extern char** environ;

namespace latchkey::executor {

Result<int> RunRuntimeProcess(const std::vector<std::string>& argv, OutputSink& sink,
                              size_t max_pattern_len, const std::function<void()>& on_cancel) {
  if (argv.empty()) return InvalidArgumentError("no OCI runtime command");
  int out[2], err[2];
  if (::pipe2(out, O_CLOEXEC) != 0) return ErrnoStatus("pipe", "for runtime stdout", errno);
  base::UniqueFd out_r(out[0]), out_w(out[1]);
  if (::pipe2(err, O_CLOEXEC) != 0) return ErrnoStatus("pipe", "for runtime stderr", errno);
  base::UniqueFd err_r(err[0]), err_w(err[1]);

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, out_w.get(), 1);
  posix_spawn_file_actions_adddup2(&fa, err_w.get(), 2);
  std::vector<char*> cargv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  pid_t pid;
  int rc = ::posix_spawnp(&pid, cargv[0], &fa, nullptr, cargv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) {
    return FailedPreconditionError("cannot start OCI runtime " + argv[0] + ": " +
                                   std::strerror(rc));
  }
  out_w.reset();
  err_w.reset();

  const SecretRegistry& registry = SecretRegistry::Global();
  RedactingStream s_out(registry, max_pattern_len,
                        [&](std::string_view t) { sink.Write(OutputStream::kStdout, t); });
  RedactingStream s_err(registry, max_pattern_len,
                        [&](std::string_view t) { sink.Write(OutputStream::kStderr, t); });
  bool open_out = true, open_err = true;
  char buf[65536];
  bool cancelling = false;
  while (open_out || open_err) {
    pollfd fds[3] = {{open_out ? out_r.get() : -1, POLLIN, 0},
                     {open_err ? err_r.get() : -1, POLLIN, 0},
                     {on_cancel && !cancelling ? CancelPollFd() : -1, POLLIN, 0}};
    int ready = ::poll(fds, 3, cancelling ? 200 : -1);
    if (ready < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[2].revents || (cancelling && ready == 0)) {
      cancelling = true;
      on_cancel();
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
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return ErrnoStatus("wait for", argv[0], errno);
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
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
