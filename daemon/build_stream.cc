#include "daemon/build_stream.h"

#include <utility>

namespace latchkey::daemon {
namespace {

constexpr auto kPoll = std::chrono::milliseconds(50);

}  // namespace

BuildStream::BuildStream(std::function<bool(const latchkey::v1::BuildResponse&)> write,
                         std::function<bool()> cancelled, std::function<void()> cancel_call,
                         size_t limit_bytes)
    : write_(std::move(write)),
      cancelled_(std::move(cancelled)),
      cancel_call_(std::move(cancel_call)),
      limit_(limit_bytes),
      writer_([this] { WriterLoop(); }) {}

BuildStream::~BuildStream() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    closing_ = true;
  }
  changed_.notify_all();
  if (writer_.joinable()) {
    // Not finished (an early return): whatever is still queued is dropped; a write in
    // progress is unblocked by cancelling the call.
    {
      std::lock_guard<std::mutex> lock(mu_);
      queue_.clear();
      queued_bytes_ = 0;
      if (writing_) cancel_call_();
    }
    writer_.join();
  }
}

bool BuildStream::Send(latchkey::v1::BuildResponse message) {
  const size_t size = message.ByteSizeLong();
  std::unique_lock<std::mutex> lock(mu_);
  while (!broken_ && queued_bytes_ >= limit_) {
    if (cancelled_()) return false;
    changed_.wait_for(lock, kPoll);
  }
  if (broken_) return false;
  queued_bytes_ += size;
  queue_.push_back(std::move(message));
  changed_.notify_all();
  return true;
}

bool BuildStream::Finish(std::optional<latchkey::v1::BuildResponse> last,
                         std::chrono::milliseconds grace) {
  if (!writer_.joinable()) return last_written_;
  std::unique_lock<std::mutex> lock(mu_);
  if (!broken_ && last) {
    queued_bytes_ += last->ByteSizeLong();
    queue_.push_back(std::move(*last));
  }
  closing_ = true;
  changed_.notify_all();
  auto still_since = std::chrono::steady_clock::now();
  size_t seen = queue_.size();
  while (!broken_ && (!queue_.empty() || writing_)) {
    changed_.wait_for(lock, kPoll);
    if (queue_.size() != seen) {
      seen = queue_.size();
      still_since = std::chrono::steady_clock::now();
    }
    if (cancelled_() && std::chrono::steady_clock::now() - still_since >= grace) {
      // A cancelled build whose client does not read: end the call instead of waiting.
      queue_.clear();
      queued_bytes_ = 0;
      if (writing_) cancel_call_();
      break;
    }
  }
  lock.unlock();
  changed_.notify_all();
  writer_.join();
  std::lock_guard<std::mutex> relock(mu_);
  return last_written_;
}

void BuildStream::WriterLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    changed_.wait(lock, [this] { return !queue_.empty() || closing_; });
    if (queue_.empty()) return;  // closing, and everything was written
    latchkey::v1::BuildResponse m = std::move(queue_.front());
    queue_.pop_front();
    const size_t size = m.ByteSizeLong();
    writing_ = true;
    lock.unlock();
    const bool ok = broken_ ? false : write_(m);
    lock.lock();
    writing_ = false;
    queued_bytes_ = queued_bytes_ >= size ? queued_bytes_ - size : 0;
    if (!ok) {
      broken_ = true;
      queue_.clear();
      queued_bytes_ = 0;
    } else if (closing_ && queue_.empty() && m.has_result()) {
      last_written_ = true;
    }
    changed_.notify_all();
  }
}

}  // namespace latchkey::daemon
