#include "builder/executor/cancel.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <mutex>

#include "builder/executor/sys_util.h"

namespace latchkey::executor {
namespace {

std::atomic<bool> g_cancelled{false};
std::atomic<int> g_read_fd{-1};
std::atomic<int> g_write_fd{-1};
std::mutex g_init_mu;
thread_local const CancelToken* t_token = nullptr;

}  // namespace

Status InitCancellation() {
  std::lock_guard<std::mutex> lock(g_init_mu);
  if (g_read_fd.load() >= 0) return Status::OK();
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) {
    return ErrnoStatus("pipe", "for build cancellation", errno);
  }
  g_write_fd.store(fds[1]);
  g_read_fd.store(fds[0]);
  return Status::OK();
}

void RequestCancel() noexcept {
  bool was = g_cancelled.exchange(true);
  int fd = g_write_fd.load();
  if (!was && fd >= 0) {
    int saved = errno;
    char c = 1;
    // Never drained: the read end stays readable for every poller.
    (void)!::write(fd, &c, 1);
    errno = saved;
  }
}

bool CancelRequested() noexcept {
  return g_cancelled.load() || (t_token != nullptr && t_token->cancelled());
}

const std::atomic<bool>& CancelFlag() noexcept { return g_cancelled; }

base::CancelCheck CancelCheckOfThisThread(std::string message) {
  const CancelToken* token = t_token;
  return [token, message = std::move(message)]() -> Status {
    if (g_cancelled.load() || (token != nullptr && token->cancelled())) {
      return CancelledError(message);
    }
    return Status::OK();
  };
}

int CancelPollFd() noexcept { return t_token != nullptr ? t_token->poll_fd() : g_read_fd.load(); }

Result<std::shared_ptr<CancelToken>> CancelToken::Create() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) {
    return ErrnoStatus("pipe", "for build cancellation", errno);
  }
  return std::shared_ptr<CancelToken>(new CancelToken(fds[0], fds[1]));
}

CancelToken::~CancelToken() {
  ::close(read_fd_);
  ::close(write_fd_);
}

void CancelToken::Cancel() noexcept {
  if (cancelled_.exchange(true)) return;
  char c = 1;
  (void)!::write(write_fd_, &c, 1);  // never drained: stays readable
}

CancelScope::CancelScope(const CancelToken* token) noexcept { t_token = token; }

CancelScope::~CancelScope() { t_token = nullptr; }

}  // namespace latchkey::executor
