#include "session/reply_wiping.h"

#include <sodium.h>

#include <thread>

namespace latchkey::session {

void WipingReactor::OnDone() {
  for (std::string* f : fields_) {
    sodium_memzero(f->data(), f->size());
    f->clear();
  }
  delete this;
}

LookupThreads::~LookupThreads() {
  std::unique_lock<std::mutex> lock(mu_);
  idle_.wait(lock, [this] { return running_ == 0; });
}

void LookupThreads::Run(std::function<void()> work) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++running_;
  }
  std::thread([this, work = std::move(work)] {
    work();
    std::lock_guard<std::mutex> lock(mu_);
    if (--running_ == 0) idle_.notify_all();
  }).detach();
}

}  // namespace latchkey::session
