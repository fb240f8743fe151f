#include "secure/docker_credential_helper.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "base/unique_fd.h"

extern char** environ;

namespace latchkey::docker_config {
namespace {

using base::UniqueFd;

constexpr size_t kMaxAnswer = 64 << 10;
constexpr int kPollMs = 100;
constexpr std::string_view kNotFound = "credentials not found in native keychain";

std::span<const uint8_t> Bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

struct Run {
  int exit_status = 0;  // the exit status, or 128 + signal
  SecretBuffer out;     // stdout, sealed
};

// Runs docker-credential-NAME ACTION with `input` on stdin; stdout into secure memory.
Result<Run> RunHelper(const HelperRef& helper, const char* action, std::span<const uint8_t> input,
                      const KeepGoing& keep_going) {
  const std::string program = "docker-credential-" + helper.name;
  // stdin is a socket pair, so that writing to a helper that exited without reading its input
  // is EPIPE (MSG_NOSIGNAL), never a SIGPIPE that kills the host.
  int in_pipe[2], out_pipe[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in_pipe) != 0) {
    return UnavailableError("credential helper " + helper.Describe() +
                            ": pipe: " + std::strerror(errno));
  }
  UniqueFd in_r(in_pipe[0]), in_w(in_pipe[1]);
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) {
    return UnavailableError("credential helper " + helper.Describe() +
                            ": pipe: " + std::strerror(errno));
  }
  UniqueFd out_r(out_pipe[0]), out_w(out_pipe[1]);

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in_r.get(), 0);
  posix_spawn_file_actions_adddup2(&fa, out_w.get(), 1);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  sigset_t dfl;
  sigemptyset(&dfl);
  sigaddset(&dfl, SIGPIPE);
  posix_spawnattr_setsigdefault(&attr, &dfl);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  std::string action_arg(action);
  char* argv[] = {const_cast<char*>(program.c_str()), action_arg.data(), nullptr};
  pid_t pid = -1;
  int rc = ::posix_spawnp(&pid, program.c_str(), &fa, &attr, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (rc == ENOENT) {
    return FailedPreconditionError("credential helper " + helper.Describe() +
                                   " is not installed: " + program +
                                   ": executable file not found in $PATH");
  }
  if (rc != 0) {
    return UnavailableError("credential helper " + helper.Describe() +
                            " cannot be started: " + std::strerror(rc));
  }
  in_r.reset();
  out_w.reset();

  Run run;
  LK_ASSIGN_OR_RETURN(SecretBuffer out, SecretBuffer::Allocate(kMaxAnswer));
  size_t got = 0, sent = 0;
  Status failure;
  while (out_r.valid()) {
    if (in_w.valid() && sent == input.size()) in_w.reset();
    struct pollfd p[2] = {{out_r.get(), POLLIN, 0}, {in_w.get(), POLLOUT, 0}};
    int ready = ::poll(p, in_w.valid() ? 2 : 1, kPollMs);
    if (ready < 0 && errno != EINTR) {
      failure = UnavailableError("credential helper " + helper.Describe() +
                                 ": poll: " + std::strerror(errno));
      break;
    }
    if (keep_going) {
      if (Status s = keep_going(); !s.ok()) {
        failure = s;
        break;
      }
    }
    if (ready <= 0) continue;
    if (in_w.valid() && (p[1].revents & (POLLOUT | POLLERR | POLLHUP)) != 0) {
      ssize_t n =
          ::send(in_w.get(), input.data() + sent, input.size() - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) sent += static_cast<size_t>(n);
      if (n < 0 && errno != EAGAIN && errno != EINTR) in_w.reset();  // it stopped reading
    }
    if ((p[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
      if (got == kMaxAnswer) {
        failure = InvalidArgumentError("credential helper " + helper.Describe() +
                                       " printed more than 64 KiB");
        break;
      }
      ssize_t n = ::read(out_r.get(), out.mutable_data() + got, kMaxAnswer - got);
      if (n > 0) {
        got += static_cast<size_t>(n);
      } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
        out_r.reset();
      }
    }
  }
  if (!failure.ok()) ::kill(pid, SIGKILL);
  int wstatus = 0;
  while (::waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
  }
  if (!failure.ok()) return failure;
  run.exit_status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
  out.Truncate(got);
  out.Seal();
  run.out = std::move(out);
  return run;
}

// The helper's error text: the first line of its output, at most 200 bytes; nothing when the
// output looks like a credential.
std::string ErrorText(const SecretBuffer& out) {
  std::string_view s(reinterpret_cast<const char*>(out.data()), out.size());
  size_t start = s.find_first_not_of(" \t\r\n");
  if (start == std::string_view::npos) return "";
  s = s.substr(start);
  if (s[0] == '{') return "";
  s = s.substr(0, s.find('\n'));
  while (!s.empty() && (s.back() == '\r' || s.back() == ' ')) s.remove_suffix(1);
  if (s.size() > 200) return std::string(s.substr(0, 200)) + "...";
  return std::string(s);
}

bool SaysNotFound(const SecretBuffer& out) {
  std::string_view s(reinterpret_cast<const char*>(out.data()), out.size());
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) {
    s.remove_suffix(1);
  }
  return s == kNotFound;
}

Status Failed(const HelperRef& helper, const Run& run) {
  std::string text = ErrorText(run.out);
  return UnavailableError("credential helper " + helper.Describe() + " failed (exit status " +
                          std::to_string(run.exit_status) + ")" +
                          (text.empty() ? "" : ": " + text));
}

}  // namespace

Result<Auth> HelperGet(const HelperRef& helper, std::string_view server_url,
                       const KeepGoing& keep_going) {
  LK_ASSIGN_OR_RETURN(Run run, RunHelper(helper, "get", Bytes(server_url), keep_going));
  if (run.exit_status != 0) {
    if (SaysNotFound(run.out)) {
      return NotFoundError("credential helper " + helper.Describe() + " has no credential for " +
                           std::string(server_url));
    }
    return Failed(helper, run);
  }
  // "... printed an answer that has no Username/Secret" / "... that is not valid JSON (at byte N)"
  auto auth = ParseCredentialJson(
      run.out.bytes(), "credential helper " + helper.Describe() + " printed an answer that");
  if (!auth.ok() && auth.status().code() == StatusCode::kNotFound) {
    return NotFoundError("credential helper " + helper.Describe() + " has no credential for " +
                         std::string(server_url));
  }
  return auth;
}

Status HelperStore(const HelperRef& helper, std::span<const uint8_t> credential_json,
                   const KeepGoing& keep_going) {
  LK_ASSIGN_OR_RETURN(Run run, RunHelper(helper, "store", credential_json, keep_going));
  if (run.exit_status != 0) return Failed(helper, run);
  return Status::OK();
}

Status HelperErase(const HelperRef& helper, std::string_view server_url,
                   const KeepGoing& keep_going) {
  LK_ASSIGN_OR_RETURN(Run run, RunHelper(helper, "erase", Bytes(server_url), keep_going));
  if (run.exit_status != 0) {
    if (SaysNotFound(run.out)) {
      return NotFoundError("credential helper " + helper.Describe() + " has no credential for " +
                           std::string(server_url));
    }
    return Failed(helper, run);
  }
  return Status::OK();
}

}  // namespace latchkey::docker_config
