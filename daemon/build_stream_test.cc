#include "daemon/build_stream.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace latchkey::daemon {
namespace {

latchkey::v1::BuildResponse Event(const std::string& text) {
  latchkey::v1::BuildResponse r;
  r.set_event(text);
  return r;
}

latchkey::v1::BuildResponse Result() {
  latchkey::v1::BuildResponse r;
  r.mutable_result()->set_image_id("sha256:abc");
  return r;
}

// A client that stops reading: every write after the first `reads` blocks until the call is
// cancelled, then fails (what gRPC's Write does when the call is cancelled).
class StalledClient {
 public:
  explicit StalledClient(int reads) : reads_(reads) {}
  bool Write(const latchkey::v1::BuildResponse& r) {
    std::unique_lock<std::mutex> lock(mu_);
    if (static_cast<int>(written.size()) < reads_) {
      written.push_back(r.has_result() ? "result" : r.event());
      return true;
    }
    blocked = true;
    cv_.wait(lock, [this] { return call_cancelled; });
    return false;
  }
  void CancelCall() {
    std::lock_guard<std::mutex> lock(mu_);
    call_cancelled = true;
    cv_.notify_all();
  }
  std::vector<std::string> written;
  bool blocked = false;
  bool call_cancelled = false;

 private:
  const int reads_;
  std::mutex mu_;
  std::condition_variable cv_;
};

TEST(BuildStream, EverythingIsWrittenInOrderThenTheResult) {
  StalledClient client(1000);
  std::atomic<bool> cancelled{false};
  BuildStream s([&](const auto& r) { return client.Write(r); }, [&] { return cancelled.load(); },
                [&] { client.CancelCall(); });
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(s.Send(Event("e" + std::to_string(i))));
  EXPECT_TRUE(s.Finish(Result()));
  ASSERT_EQ(client.written.size(), 101u);
  EXPECT_EQ(client.written[0], "e0");
  EXPECT_EQ(client.written[99], "e99");
  EXPECT_EQ(client.written[100], "result");
  EXPECT_FALSE(client.call_cancelled);
}

// The stalled client holds the build back only while it is not cancelled; once it is, Send
// drops instead of waiting (the step can be torn down) and Finish ends the call.
TEST(BuildStream, ACancelledBuildIsNotHeldBackByAClientThatDoesNotRead) {
  StalledClient client(2);
  std::atomic<bool> cancelled{false};
  BuildStream s([&](const auto& r) { return client.Write(r); }, [&] { return cancelled.load(); },
                [&] { client.CancelCall(); }, /*limit_bytes=*/64);
  std::atomic<int> sent{0};
  std::atomic<bool> producer_done{false};
  std::thread producer([&] {
    for (int i = 0; i < 1000; ++i) {
      if (!s.Send(Event(std::string(16, 'x')))) break;
      ++sent;
    }
    producer_done = true;
  });
  // The queue fills (64 bytes: a few events) and the producer waits; it has not sent 1000.
  while (sent.load() < 3) std::this_thread::yield();
  cancelled = true;
  producer.join();
  EXPECT_LT(sent.load(), 1000);
  EXPECT_FALSE(s.Finish(Result(), std::chrono::milliseconds(10)));
  EXPECT_TRUE(client.blocked);
  EXPECT_TRUE(client.call_cancelled);
  EXPECT_EQ(client.written.size(), 2u);
}

TEST(BuildStream, ABrokenCallDropsTheRest) {
  std::atomic<int> writes{0};
  BuildStream s([&](const auto&) { return ++writes < 2; }, [] { return false; }, [] {});
  s.Send(Event("a"));
  s.Send(Event("b"));
  EXPECT_FALSE(s.Finish(Result()));
  EXPECT_FALSE(s.Send(Event("late")));
  EXPECT_EQ(writes.load(), 2);
}

}  // namespace
}  // namespace latchkey::daemon
