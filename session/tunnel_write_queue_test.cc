// TunnelWriteQueue with a recording "stream" in place of gRPC: one write outstanding, the rest
// coalesced, bounded, drained and closed.
#include "session/tunnel_write_queue.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "session/tunnel_pump.h"

namespace latchkey::session {
namespace {

// What the queue asked the stream to do, in order.
struct Recorder {
  std::mutex mu;
  std::vector<std::string> writes;  // each message's bytes, as handed to start_write
  int writes_done = 0;
  const latchkey::v1::BytesMessage* last = nullptr;

  TunnelWriteQueue Make(size_t limit = kTunnelQueueLimit) {
    return TunnelWriteQueue(
        [this](const latchkey::v1::BytesMessage* m) {
          std::lock_guard<std::mutex> lock(mu);
          writes.push_back(m->data());
          last = m;
        },
        [this] {
          std::lock_guard<std::mutex> lock(mu);
          ++writes_done;
        },
        limit);
  }
  size_t count() {
    std::lock_guard<std::mutex> lock(mu);
    return writes.size();
  }
};

TEST(TunnelWriteQueue, WritesAtOnceWhenIdle) {
  Recorder r;
  TunnelWriteQueue q = r.Make();
  ASSERT_TRUE(q.Push("abc", 3));
  ASSERT_EQ(r.writes, std::vector<std::string>{"abc"});
  EXPECT_EQ(q.queued(), 0u);
}

TEST(TunnelWriteQueue, CoalescesWhileAWriteIsOutstanding) {
  Recorder r;
  TunnelWriteQueue q = r.Make();
  ASSERT_TRUE(q.Push("a", 1));
  ASSERT_TRUE(q.Push("bc", 2));
  ASSERT_TRUE(q.Push("d", 1));
  ASSERT_EQ(r.writes.size(), 1u);  // one write outstanding at a time
  EXPECT_EQ(q.queued(), 3u);
  // The completed write's buffer is wiped before it is reused.
  const latchkey::v1::BytesMessage* first = r.last;
  q.WriteDone(true);
  ASSERT_EQ(r.writes, (std::vector<std::string>{"a", "bcd"}));  // the burst as one message
  EXPECT_EQ(first, r.last);                                     // the same message object
  q.WriteDone(true);
  EXPECT_EQ(r.last->data(), "");  // wiped after its write
  EXPECT_EQ(r.writes.size(), 2u);
}

TEST(TunnelWriteQueue, MessagesAreAtMostOneChunk) {
  Recorder r;
  TunnelWriteQueue q = r.Make(4 * kTunnelChunkSize);
  std::string big(kTunnelChunkSize * 2 + 10, 'x');
  ASSERT_TRUE(q.Push(big.data(), big.size()));
  q.WriteDone(true);
  q.WriteDone(true);
  q.WriteDone(true);
  ASSERT_EQ(r.writes.size(), 3u);
  EXPECT_EQ(r.writes[0].size(), kTunnelChunkSize);
  EXPECT_EQ(r.writes[1].size(), kTunnelChunkSize);
  EXPECT_EQ(r.writes[2].size(), 10u);
}

TEST(TunnelWriteQueue, PushBlocksOverTheLimitUntilAWriteCompletes) {
  Recorder r;
  TunnelWriteQueue q = r.Make(/*limit=*/8);
  ASSERT_TRUE(q.Push("0", 1));         // written
  ASSERT_TRUE(q.Push("12345678", 8));  // queued: at the limit
  auto blocked = std::async(std::launch::async, [&] { return q.Push("9", 1); });
  // The stalled peer never completes the write: the pump stays blocked.
  EXPECT_EQ(blocked.wait_for(std::chrono::milliseconds(200)), std::future_status::timeout);
  EXPECT_EQ(q.queued(), 8u);
  q.WriteDone(true);  // "12345678" goes out, space again
  EXPECT_TRUE(blocked.get());
  q.WriteDone(true);
  EXPECT_EQ(r.writes, (std::vector<std::string>{"0", "12345678", "9"}));
}

TEST(TunnelWriteQueue, CloseReleasesABlockedPushAndStartsNothing) {
  Recorder r;
  TunnelWriteQueue q = r.Make(/*limit=*/4);
  ASSERT_TRUE(q.Push("a", 1));
  ASSERT_TRUE(q.Push("bcde", 4));
  auto blocked = std::async(std::launch::async, [&] { return q.Push("f", 1); });
  q.Close();
  EXPECT_FALSE(blocked.get());
  EXPECT_EQ(q.queued(), 0u);  // dropped
  q.WriteDone(true);          // the outstanding write completes after Close
  EXPECT_FALSE(q.Push("g", 1));
  EXPECT_EQ(r.writes, std::vector<std::string>{"a"});
  EXPECT_EQ(r.writes_done, 0);
}

TEST(TunnelWriteQueue, AFailedWriteStopsThePump) {
  Recorder r;
  TunnelWriteQueue q = r.Make();
  ASSERT_TRUE(q.Push("a", 1));
  ASSERT_TRUE(q.Push("b", 1));
  q.WriteDone(false);
  EXPECT_EQ(q.queued(), 0u);
  EXPECT_FALSE(q.Push("c", 1));
  q.Drain();
  EXPECT_EQ(r.writes, std::vector<std::string>{"a"});
  EXPECT_EQ(r.writes_done, 0);
}

TEST(TunnelWriteQueue, DrainHalfClosesAfterTheLastWrite) {
  Recorder r;
  TunnelWriteQueue q = r.Make();
  ASSERT_TRUE(q.Push("a", 1));
  ASSERT_TRUE(q.Push("b", 1));
  q.Drain();
  EXPECT_FALSE(q.Push("c", 1));  // no more bytes after Drain
  EXPECT_EQ(r.writes_done, 0);
  q.WriteDone(true);  // "b" goes out
  EXPECT_EQ(r.writes_done, 0);
  q.WriteDone(true);
  EXPECT_EQ(r.writes_done, 1);
  q.Drain();
  EXPECT_EQ(r.writes_done, 1);  // once
  EXPECT_EQ(r.writes, (std::vector<std::string>{"a", "b"}));
}

TEST(TunnelWriteQueue, DrainWhenIdleHalfClosesAtOnce) {
  Recorder r;
  TunnelWriteQueue q = r.Make();
  q.Drain();
  EXPECT_EQ(r.writes_done, 1);
  EXPECT_TRUE(r.writes.empty());
}

// A pump and a completing "stream" on two threads: every byte arrives once, in order, with at
// most one write outstanding.
TEST(TunnelWriteQueue, PumpAndCompletionsOnTwoThreads) {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> pending;  // started, not yet completed
  std::string received;
  std::atomic<int> outstanding{0};
  std::atomic<bool> overlap{false};
  TunnelWriteQueue q(
      [&](const latchkey::v1::BytesMessage* m) {
        if (outstanding.fetch_add(1) != 0) overlap = true;
        std::lock_guard<std::mutex> lock(mu);
        pending.push_back(m->data());
        cv.notify_all();
      },
      nullptr, /*limit=*/64);
  constexpr int kPushes = 2000;
  std::thread completer([&] {
    size_t want = 0;
    for (int i = 0; i < kPushes; ++i) want += std::to_string(i).size() + 1;
    while (received.size() < want) {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return !pending.empty(); });
      received += pending.front();
      pending.erase(pending.begin());
      lock.unlock();
      outstanding.fetch_sub(1);
      q.WriteDone(true);
    }
  });
  std::string sent;
  for (int i = 0; i < kPushes; ++i) {
    std::string s = std::to_string(i) + ",";
    sent += s;
    ASSERT_TRUE(q.Push(s.data(), s.size()));
  }
  completer.join();
  EXPECT_EQ(received, sent);
  EXPECT_FALSE(overlap.load());
}

}  // namespace
}  // namespace latchkey::session
