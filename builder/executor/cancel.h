// Build cancellation: Ctrl-C or SIGTERM must stop a build promptly AND let every step tear down
// (secret tmpfs wiped and unmounted, overlay unmounted, session closed). A signal handler calls
// RequestCancel(); a running step notices through a self-pipe it polls together with the
// runtime's output, kills its container (by killing runc, the init of the container's enclosing
// PID namespace: runtime_process.h; the container's PID 1 ignores SIGINT/SIGTERM it has no
// handler for), and returns; a step waiting for a provider's fetch returns too (the broker
// polls CancelFlag()); the builder then stops before the next step with CANCELLED.
//
// Thread-safety: RequestCancel is async-signal-safe; everything else is thread-safe.
#ifndef LATCHKEY_BUILDER_EXECUTOR_CANCEL_H_
#define LATCHKEY_BUILDER_EXECUTOR_CANCEL_H_

#include <atomic>
#include <memory>
#include <string>

#include "base/cancel.h"
#include "latchkey/status.h"

namespace latchkey::executor {

// Creates the self-pipe. Call once before installing a signal handler that calls
// RequestCancel (later calls do nothing). Errors name the failed pipe(2).
Status InitCancellation();

// Marks the process as cancelled and wakes running steps. Async-signal-safe; idempotent.
void RequestCancel() noexcept;

// True once RequestCancel has been called.
bool CancelRequested() noexcept;

// The flag behind CancelRequested, for code that polls an atomic (the broker's provider
// fetches: BrokerOptions::cancelled). Lives as long as the process.
const std::atomic<bool>& CancelFlag() noexcept;

// A descriptor that becomes (and stays) readable after RequestCancel; -1 before
// InitCancellation. Under a CancelScope: its token's descriptor instead.
int CancelPollFd() noexcept;

// A CancelCheck for work that runs on OTHER threads on behalf of this one (a pull's download
// threads): CANCELLED `message` once RequestCancel was called or, when this thread is under a
// CancelScope, once its token is cancelled. The token is captured, not owned: use the check
// only while the scope lives.
base::CancelCheck CancelCheckOfThisThread(std::string message);

// The cancellation of ONE build, for a process running several (latchkeyd): Cancel() stops
// only the builds running under a CancelScope that names this token; the process-wide
// RequestCancel is not involved.
class CancelToken {
 public:
  // Errors name the failed pipe(2).
  static Result<std::shared_ptr<CancelToken>> Create();
  ~CancelToken();
  CancelToken(const CancelToken&) = delete;
  CancelToken& operator=(const CancelToken&) = delete;

  // Marks the token cancelled and wakes the steps polling it. Idempotent; thread-safe.
  void Cancel() noexcept;
  bool cancelled() const noexcept { return cancelled_.load(); }
  // For code that polls an atomic (the broker's provider fetches).
  const std::atomic<bool>& flag() const noexcept { return cancelled_; }
  // Readable once cancelled.
  int poll_fd() const noexcept { return read_fd_; }

 private:
  CancelToken(int read_fd, int write_fd) : read_fd_(read_fd), write_fd_(write_fd) {}
  std::atomic<bool> cancelled_{false};
  const int read_fd_;
  const int write_fd_;
};

// While a CancelScope lives, on the thread that made it (a build runs its steps on one
// thread): CancelRequested() is also true once `token` is cancelled, and CancelPollFd() returns
// the token's descriptor. `token` is not owned and must outlive the scope. Scopes do not nest.
class CancelScope {
 public:
  explicit CancelScope(const CancelToken* token) noexcept;
  ~CancelScope();
  CancelScope(const CancelScope&) = delete;
  CancelScope& operator=(const CancelScope&) = delete;
};

}  // namespace latchkey::executor

#endif  // LATCHKEY_BUILDER_EXECUTOR_CANCEL_H_
