// RunningBuilds: the cancel tokens of latchkeyd's Build calls in progress, so that SIGTERM
// cancels every running build first -- before the daemon closes the client sessions and signs
// its shutdown checkpoint (docs/daemon.md, "Signals"): each build then ends as a cancelled build
// (its step killed, its broker session closed "cancelled") and its records precede the
// checkpoint.
//
// Thread-safety: every method may be called concurrently.
#ifndef LATCHKEY_DAEMON_RUNNING_BUILDS_H_
#define LATCHKEY_DAEMON_RUNNING_BUILDS_H_

#include <memory>
#include <mutex>
#include <set>

#include "builder/executor/cancel.h"

namespace latchkey::daemon {

class RunningBuilds {
 public:
  // Keeps a token registered while it lives.
  class Registration {
   public:
    Registration(RunningBuilds* owner, executor::CancelToken* token)
        : owner_(owner), token_(token) {}
    ~Registration() { owner_->Remove(token_); }
    Registration(const Registration&) = delete;
    Registration& operator=(const Registration&) = delete;

   private:
    RunningBuilds* owner_;
    executor::CancelToken* token_;
  };

  // Registers `token` (not owned; it must outlive the registration). After CancelAll it is
  // cancelled at once: a build that starts while the daemon stops does not run.
  std::unique_ptr<Registration> Add(executor::CancelToken* token);

  // Cancels every registered token, and every one added later.
  void CancelAll();

  // How many builds are registered (tests, logs).
  size_t size() const;
  // True once CancelAll ran: a cancelled build was cancelled by the daemon's shutdown.
  bool stopping() const;

 private:
  void Remove(executor::CancelToken* token);

  mutable std::mutex mu_;
  std::set<executor::CancelToken*> tokens_;  // guarded by mu_
  bool stopping_ = false;                    // guarded by mu_
};

}  // namespace latchkey::daemon

#endif  // LATCHKEY_DAEMON_RUNNING_BUILDS_H_
