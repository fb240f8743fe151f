#include "broker/host_protocol.h"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

namespace latchkey::hostproto {
namespace {

std::span<const uint8_t> Bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

std::string Text(std::span<const uint8_t> b) {
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

struct Pair {
  Pair() {
    int sv[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    a = std::make_unique<FrameChannel>(base::UniqueFd(sv[0]));
    b = std::make_unique<FrameChannel>(base::UniqueFd(sv[1]));
  }
  std::unique_ptr<FrameChannel> a;
  std::unique_ptr<FrameChannel> b;
};

std::chrono::steady_clock::time_point Soon() {
  return std::chrono::steady_clock::now() + std::chrono::seconds(10);
}

// A SECRET frame sent in parts (plain metadata + the value's own buffer) arrives as one frame
// whose value becomes a sealed SecretBuffer in place, the metadata wiped away.
TEST(HostProtocol, SecretSentInPartsBecomesTheValueInPlace) {
  Pair p;
  auto value = SecretBuffer::CopyOf(Bytes("hunter2-canary"));
  ASSERT_TRUE(value.ok());
  Encoder meta;
  meta.U32(1);
  meta.I64(42);
  meta.Str("v7");
  meta.U32(static_cast<uint32_t>(value->size()));
  const std::span<const uint8_t> parts[2] = {meta.out(), value->bytes()};
  ASSERT_TRUE(p.a->SendParts(Type::kSecret, parts).ok());

  auto frame = p.b->Receive(Soon());
  ASSERT_TRUE(frame.ok()) << frame.status().ToString();
  EXPECT_EQ(frame->type, Type::kSecret);
  EXPECT_FALSE(frame->secret.sealed());  // left writable for TakeSecretValue
  Decoder d(frame->payload());
  EXPECT_EQ(d.U32(), 1u);
  EXPECT_EQ(d.I64(), 42);
  EXPECT_EQ(d.Str(), "v7");
  auto bytes = d.Bytes();
  ASSERT_TRUE(d.ok() && d.at_end());
  auto taken = TakeSecretValue(*frame, bytes);
  ASSERT_TRUE(taken.ok()) << taken.status().ToString();
  EXPECT_TRUE(taken->sealed());
  EXPECT_EQ(Text(taken->bytes()), "hunter2-canary");
  EXPECT_TRUE(frame->payload().empty());
}

TEST(HostProtocol, EmptySecretValue) {
  Pair p;
  Encoder meta;
  meta.U32(0);
  meta.I64(0);
  meta.Str("");
  meta.U32(0);
  const std::span<const uint8_t> parts[2] = {meta.out(), {}};
  ASSERT_TRUE(p.a->SendParts(Type::kSecret, parts).ok());
  auto frame = p.b->Receive(Soon());
  ASSERT_TRUE(frame.ok()) << frame.status().ToString();
  Decoder d(frame->payload());
  d.U32();
  d.I64();
  d.Str();
  auto bytes = d.Bytes();
  ASSERT_TRUE(d.ok() && d.at_end());
  auto taken = TakeSecretValue(*frame, bytes);
  ASSERT_TRUE(taken.ok()) << taken.status().ToString();
  EXPECT_EQ(taken->size(), 0u);
}

TEST(HostProtocol, TakeSecretValueRefusesAPlainFrameOrAForeignSpan) {
  Pair p;
  ASSERT_TRUE(p.a->Send(Type::kRefs, Bytes("plain")).ok());
  auto plain = p.b->Receive(Soon());
  ASSERT_TRUE(plain.ok());
  auto r = TakeSecretValue(*plain, plain->payload());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInternal);
  EXPECT_EQ(r.status().message(),
            "host protocol: the value is not inside an unsealed secret frame");

  ASSERT_TRUE(p.a->Send(Type::kSecret, Bytes("0123456789")).ok());
  auto secret = p.b->Receive(Soon());
  ASSERT_TRUE(secret.ok());
  std::string elsewhere = "abc";
  r = TakeSecretValue(*secret, Bytes(elsewhere));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "host protocol: the value is not inside an unsealed secret frame");
}

// A frame larger than the socket buffer goes out in several writes and arrives whole.
TEST(HostProtocol, LargeFrameInPartsArrivesWhole) {
  Pair p;
  std::string head(3000, 'h');
  std::string body(600 * 1024, 'b');
  std::thread sender([&] {
    const std::span<const uint8_t> parts[2] = {Bytes(head), Bytes(body)};
    EXPECT_TRUE(p.a->SendParts(Type::kRefs, parts).ok());
  });
  auto frame = p.b->Receive(Soon());
  sender.join();
  ASSERT_TRUE(frame.ok()) << frame.status().ToString();
  EXPECT_EQ(frame->plain.size(), head.size() + body.size());
  EXPECT_EQ(Text(frame->payload()), head + body);
}

TEST(HostProtocol, ReceiveWaitsForTheDeadlineAndForTheStopFlag) {
  Pair p;
  auto late = p.b->Receive(std::chrono::steady_clock::now() + std::chrono::milliseconds(20));
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_EQ(late.status().message(), "host protocol: deadline passed");

  std::atomic<bool> stop{true};
  auto stopped = p.b->Receive(
      std::nullopt, [](const void* f) { return static_cast<const std::atomic<bool>*>(f)->load(); },
      &stop);
  ASSERT_FALSE(stopped.ok());
  EXPECT_EQ(stopped.status().code(), StatusCode::kCancelled);

  // After timed waits, a receive without a deadline blocks until the frame comes.
  std::thread sender([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    EXPECT_TRUE(p.a->Send(Type::kOk, {}).ok());
  });
  auto ok = p.b->Receive(std::nullopt);
  sender.join();
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->type, Type::kOk);
}

TEST(HostProtocol, PeerGoneIsEndOfStream) {
  Pair p;
  p.a.reset();
  auto r = p.b->Receive(Soon());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(r.status().message(), "host protocol: end of stream");
}

}  // namespace
}  // namespace latchkey::hostproto
