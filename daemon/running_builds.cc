#include "daemon/running_builds.h"

namespace latchkey::daemon {

std::unique_ptr<RunningBuilds::Registration> RunningBuilds::Add(executor::CancelToken* token) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    tokens_.insert(token);
    if (stopping_) token->Cancel();
  }
  return std::make_unique<Registration>(this, token);
}

void RunningBuilds::CancelAll() {
  std::lock_guard<std::mutex> lock(mu_);
  stopping_ = true;
  for (executor::CancelToken* t : tokens_) t->Cancel();
}

size_t RunningBuilds::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return tokens_.size();
}

bool RunningBuilds::stopping() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stopping_;
}

void RunningBuilds::Remove(executor::CancelToken* token) {
  std::lock_guard<std::mutex> lock(mu_);
  tokens_.erase(token);
}

}  // namespace latchkey::daemon
