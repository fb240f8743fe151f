// TunnelWriteQueue: the socket -> stream direction of a session tunnel (docs/daemon.md,
// "Session protocol"), between a pump thread that reads the tunnel socket and a gRPC callback
// stream, which allows one write outstanding at a time.
//
// The pump Push()es what it reads and goes back to reading at once: when no write is
// outstanding the bytes are written at once (StartWrite from the pump's thread: gRPC sends them
// inline), else they are appended to the queue -- coalesced into messages of at most
// kTunnelChunkSize bytes -- and the reaction that completes the write (WriteDone, from
// OnWriteDone) starts the next one. So neither side waits for the other's thread per message,
// and a burst of small HTTP/2 frames leaves as one message. Back-pressure: Push blocks while
// more than `limit` bytes are queued (the peer does not read), so a session holds at most one
// message in flight plus `limit` bytes.
//
// Every buffer is wiped before it is reused or freed (the bytes are HTTP/2 frames carrying
// secret values).
//
// Thread-safety: all methods may be called concurrently. `start_write` and `writes_done` are
// called without the queue's lock (gRPC writes inline and may complete the write on another
// thread before StartWrite returns) and must not call back into the queue (gRPC's StartWrite
// and StartWritesDone never run a reaction inline). Once Close() returns neither is running or
// called again.
#ifndef LATCHKEY_SESSION_TUNNEL_WRITE_QUEUE_H_
#define LATCHKEY_SESSION_TUNNEL_WRITE_QUEUE_H_

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>

#include "api/latchkey/v1/control.pb.h"

namespace latchkey::session {

// How many bytes a queue holds, beyond the message being written, before Push blocks.
inline constexpr size_t kTunnelQueueLimit = 256 * 1024;

class TunnelWriteQueue {
 public:
  // `start_write` starts writing its message (which stays valid and unchanged until the
  // matching WriteDone). `writes_done`, optional, half-closes the stream after the last write
  // (Drain).
  explicit TunnelWriteQueue(std::function<void(const latchkey::v1::BytesMessage*)> start_write,
                            std::function<void()> writes_done = nullptr,
                            size_t limit = kTunnelQueueLimit);
  ~TunnelWriteQueue();
  TunnelWriteQueue(const TunnelWriteQueue&) = delete;
  TunnelWriteQueue& operator=(const TunnelWriteQueue&) = delete;

  // Queues `n` bytes (the pump's thread). Blocks while the queue is over its limit. False once
  // a write failed or the queue was closed or drained: the pump stops.
  bool Push(const char* data, size_t n);

  // The outstanding write completed (the stream's OnWriteDone): wipes its message and starts
  // the next one, or half-closes the stream when Drain asked for it and nothing is left.
  // `ok` false: the stream is broken; what is queued is dropped and Push returns false.
  void WriteDone(bool ok);

  // No more Push: half-closes the stream (`writes_done`) once every queued byte is written.
  void Drain();

  // Stops at once: queued bytes are dropped (wiped), a blocked Push returns false, nothing is
  // started any more. Idempotent. A write already outstanding still gets its WriteDone.
  void Close();

  // Bytes queued and not yet handed to start_write (for tests).
  size_t queued() const;

 private:
  // Starts the next queued message, or half-closes once draining and empty. `lock` holds mu_.
  void StartNext(std::unique_lock<std::mutex>& lock);
  // Runs `start` with mu_ released, counted in starting_ (Close waits for it).
  void Start(std::unique_lock<std::mutex>& lock, const std::function<void()>& start);
  void DropQueuedLocked();

  std::function<void(const latchkey::v1::BytesMessage*)> start_write_;
  std::function<void()> writes_done_;
  size_t limit_;

  mutable std::mutex mu_;
  std::condition_variable space_;  // queue space, closing, starting_ back to 0
  latchkey::v1::BytesMessage in_flight_;
  std::deque<std::string> queue_;  // each at most kTunnelChunkSize bytes
  size_t queued_ = 0;
  bool writing_ = false;
  bool draining_ = false;
  bool closed_ = false;  // Close() or a failed write: nothing more is started
  int starting_ = 0;     // start_write / writes_done calls running without mu_
};

}  // namespace latchkey::session

#endif  // LATCHKEY_SESSION_TUNNEL_WRITE_QUEUE_H_
