// PollWatcher: a thread that checks `condition` every `interval` and runs `action` once, the
// first time it holds; destroying the watcher stops and joins the thread (the action then no
// longer runs). For conditions nobody can wait on directly: a signal flag, a gRPC call's
// IsCancelled().
//
// Thread-safety: `condition` and `action` run on the watcher's thread; the destructor may run
// on any thread but not inside `action`.
#ifndef LATCHKEY_BASE_POLL_WATCHER_H_
#define LATCHKEY_BASE_POLL_WATCHER_H_

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace latchkey::base {

class PollWatcher {
 public:
  PollWatcher(std::chrono::milliseconds interval, std::function<bool()> condition,
              std::function<void()> action)
      : thread_([this, interval, condition = std::move(condition), action = std::move(action)] {
          std::unique_lock<std::mutex> lock(mu_);
          while (!stop_) {
            if (condition()) {
              action();
              return;
            }
            cv_.wait_for(lock, interval);
          }
        }) {}

  ~PollWatcher() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

  PollWatcher(const PollWatcher&) = delete;
  PollWatcher& operator=(const PollWatcher&) = delete;

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;  // last: starts after the members it uses
};

}  // namespace latchkey::base

#endif  // LATCHKEY_BASE_POLL_WATCHER_H_
