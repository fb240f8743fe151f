// BuildStream: the messages of one Build call, written to the client by a thread of their own
// so that the build never waits on the client for longer than it must.
//
// A client that stops reading (stopped, or a slow link) fills HTTP/2's window and gRPC's sync
// Write then blocks until it reads again -- or forever. The build's progress goes through a
// queue of at most `limit_bytes` instead: while the queue is full the build waits (so memory
// stays bounded and a client that resumes sees every event), but a cancelled build (its client
// gone, Ctrl-C, latchkeyd stopping) no longer waits: its events are dropped, so the running step
// is killed and torn down at once. Finish sends the last message and waits for the queue to
// drain; when the build was cancelled and the client still does not read, it cancels the call
// (ServerContext::TryCancel) so that the blocked Write returns and the handler can end.
//
// Thread-safety: Send may be called from any thread; Finish once, after the last Send, from the
// handler's thread.
#ifndef LATCHKEY_DAEMON_BUILD_STREAM_H_
#define LATCHKEY_DAEMON_BUILD_STREAM_H_

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>

#include "api/latchkey/v1/control.pb.h"

namespace latchkey::daemon {

class BuildStream {
 public:
  // `write` sends one message and returns false once the call is broken (the client is gone);
  // `cancelled` says whether the build was cancelled; `cancel_call` cancels the call (unblocks
  // a `write` in progress). All three must stay valid until Finish returns.
  BuildStream(std::function<bool(const latchkey::v1::BuildResponse&)> write,
              std::function<bool()> cancelled, std::function<void()> cancel_call,
              size_t limit_bytes = 4u << 20);
  ~BuildStream();
  BuildStream(const BuildStream&) = delete;
  BuildStream& operator=(const BuildStream&) = delete;

  // Queues `message`. Waits while the queue holds `limit_bytes` or more, unless the build is
  // cancelled or the call broken; then the message is dropped and false is returned.
  bool Send(latchkey::v1::BuildResponse message);

  // Queues `last` when given (not bounded by the limit) and waits until everything was
  // written, the call broke, or the build was cancelled and nothing moved for `grace` (then the
  // call is cancelled). Stops the writer thread; later calls do nothing. Returns true when
  // `last` was written.
  bool Finish(std::optional<latchkey::v1::BuildResponse> last,
              std::chrono::milliseconds grace = std::chrono::milliseconds(500));

 private:
  void WriterLoop();

  std::function<bool(const latchkey::v1::BuildResponse&)> write_;
  std::function<bool()> cancelled_;
  std::function<void()> cancel_call_;
  const size_t limit_;

  std::mutex mu_;
  std::condition_variable changed_;
  std::deque<latchkey::v1::BuildResponse> queue_;
  size_t queued_bytes_ = 0;
  bool writing_ = false;  // the writer thread is inside write_
  bool broken_ = false;   // write_ returned false
  bool closing_ = false;  // Finish was called: the writer ends once the queue is empty
  bool last_written_ = false;
  std::thread writer_;
};

}  // namespace latchkey::daemon

#endif  // LATCHKEY_DAEMON_BUILD_STREAM_H_
