#include "session/tunnel_write_queue.h"

#include <algorithm>

#include "secure/secret_buffer.h"
#include "session/tunnel_pump.h"

namespace latchkey::session {

TunnelWriteQueue::TunnelWriteQueue(
    std::function<void(const latchkey::v1::BytesMessage*)> start_write,
    std::function<void()> writes_done, size_t limit)
    : start_write_(std::move(start_write)), writes_done_(std::move(writes_done)), limit_(limit) {}

TunnelWriteQueue::~TunnelWriteQueue() {
  std::lock_guard<std::mutex> lock(mu_);
  DropQueuedLocked();
  WipeStringBytes(in_flight_.mutable_data());
}

bool TunnelWriteQueue::Push(const char* data, size_t n) {
  std::unique_lock<std::mutex> lock(mu_);
  space_.wait(lock, [this] { return closed_ || draining_ || queued_ < limit_; });
  if (closed_ || draining_) return false;
  bool start = false;
  if (!writing_ && queue_.empty()) {
    // Nothing outstanding: these bytes go out now, from this thread.
    size_t first = std::min(n, kTunnelChunkSize);
    in_flight_.mutable_data()->assign(data, first);
    data += first;
    n -= first;
    writing_ = true;
    start = true;
  }
  while (n > 0) {
    if (queue_.empty() || queue_.back().size() >= kTunnelChunkSize) {
      queue_.emplace_back();
      queue_.back().reserve(kTunnelChunkSize);
    }
    std::string& back = queue_.back();
    size_t take = std::min(n, kTunnelChunkSize - back.size());
    back.append(data, take);
    data += take;
    n -= take;
    queued_ += take;
  }
  if (start) Start(lock, [this] { start_write_(&in_flight_); });
  return true;
}

void TunnelWriteQueue::WriteDone(bool ok) {
  std::unique_lock<std::mutex> lock(mu_);
  WipeStringBytes(in_flight_.mutable_data());
  writing_ = false;
  if (!ok) {
    closed_ = true;
    DropQueuedLocked();
  }
  space_.notify_all();
  if (!closed_) StartNext(lock);
}

void TunnelWriteQueue::Drain() {
  std::unique_lock<std::mutex> lock(mu_);
  draining_ = true;
  space_.notify_all();
  if (!closed_ && !writing_) StartNext(lock);
}

void TunnelWriteQueue::Close() {
  std::unique_lock<std::mutex> lock(mu_);
  closed_ = true;
  DropQueuedLocked();
  space_.notify_all();
  // A start_write or writes_done still running on another thread returns first.
  space_.wait(lock, [this] { return starting_ == 0; });
}

size_t TunnelWriteQueue::queued() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queued_;
}

void TunnelWriteQueue::StartNext(std::unique_lock<std::mutex>& lock) {
  if (!queue_.empty()) {
    std::string* data = in_flight_.mutable_data();
    data->swap(queue_.front());  // the old (wiped) buffer takes the queued one's place
    queue_.pop_front();
    queued_ -= data->size();
    writing_ = true;
    space_.notify_all();
    Start(lock, [this] { start_write_(&in_flight_); });
    return;
  }
  if (draining_ && writes_done_ != nullptr) {
    // Once: closed_ keeps Push, WriteDone and Drain from starting anything after it.
    closed_ = true;
    Start(lock, [this] { writes_done_(); });
  }
}

void TunnelWriteQueue::Start(std::unique_lock<std::mutex>& lock,
                             const std::function<void()>& start) {
  // Outside the lock: gRPC may write the bytes inline and complete the write on another
  // thread before start() returns; that thread's WriteDone must not wait for this one.
  ++starting_;
  lock.unlock();
  start();
  lock.lock();
  if (--starting_ == 0) space_.notify_all();
}

void TunnelWriteQueue::DropQueuedLocked() {
  for (std::string& s : queue_) WipeStringBytes(&s);
  queue_.clear();
  queued_ = 0;
}

}  // namespace latchkey::session
