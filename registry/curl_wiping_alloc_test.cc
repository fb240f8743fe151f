// The wiping allocator libcurl is initialised with: each callback's contract, a freed block is
// zero when it reaches the real free, and libcurl's own frees of a real transfer (one carrying an
// Authorization header) go through it.
#include "registry/curl_wiping_alloc.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <gtest/gtest.h>
#include <malloc.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

#include "registry/curl_transport.h"
#include "registry/one_shot_server_testutil.h"

namespace latchkey::registry {
namespace {

// What the last block handed to the real free looked like: its usable size and whether every
// byte was zero. Set by InspectingRelease (tests run on one thread).
size_t released_size = 0;
bool released_all_zero = false;
int released_count = 0;

void InspectingRelease(void* block) {
  released_size = ::malloc_usable_size(block);
  const auto* bytes = static_cast<const unsigned char*>(block);
  released_all_zero = true;
  for (size_t i = 0; i < released_size; ++i) released_all_zero &= bytes[i] == 0;
  ++released_count;
  ::free(block);
}

class WipingAllocTest : public ::testing::Test {
 protected:
  void SetUp() override {
    released_size = 0;
    released_all_zero = false;
    released_count = 0;
    SetWipedBlockReleaseForTesting(&InspectingRelease);
  }
  void TearDown() override { SetWipedBlockReleaseForTesting(nullptr); }
};

TEST_F(WipingAllocTest, FreeZeroesTheWholeBlockBeforeFreeingIt) {
  auto* block = static_cast<char*>(WipingMalloc(100));
  ASSERT_NE(block, nullptr);
  const size_t usable = ::malloc_usable_size(block);
  std::memset(block, 'K', usable);  // slack included
  const uint64_t before = WipedBlockCount();
  WipingFree(block);
  EXPECT_EQ(released_count, 1);
  EXPECT_EQ(released_size, usable);
  EXPECT_TRUE(released_all_zero);
  EXPECT_EQ(WipedBlockCount(), before + 1);
  WipingFree(nullptr);
  EXPECT_EQ(released_count, 1);
}

TEST_F(WipingAllocTest, ReallocMovesTheBytesAndWipesTheOldBlock) {
  auto* block = static_cast<char*>(WipingMalloc(16));
  ASSERT_NE(block, nullptr);
  std::memcpy(block, "Bearer tok-1234", 16);
  // Growing: the new block has the bytes, the old one reached free zeroed.
  auto* grown = static_cast<char*>(WipingRealloc(block, 4096));
  ASSERT_NE(grown, nullptr);
  EXPECT_STREQ(grown, "Bearer tok-1234");
  EXPECT_EQ(released_count, 1);
  EXPECT_TRUE(released_all_zero);
  // Shrinking keeps the prefix; the old block is wiped too.
  auto* shrunk = static_cast<char*>(WipingRealloc(grown, 7));
  ASSERT_NE(shrunk, nullptr);
  EXPECT_EQ(std::string(shrunk, 6), "Bearer");
  EXPECT_EQ(released_count, 2);
  EXPECT_TRUE(released_all_zero);
  EXPECT_GE(released_size, 4096u);
  // null is malloc; size 0 frees (wiped) and gives a minimal block.
  void* fresh = WipingRealloc(nullptr, 8);
  ASSERT_NE(fresh, nullptr);
  EXPECT_EQ(released_count, 2);
  void* tiny = WipingRealloc(shrunk, 0);
  EXPECT_NE(tiny, nullptr);
  EXPECT_EQ(released_count, 3);
  WipingFree(fresh);
  WipingFree(tiny);
}

TEST_F(WipingAllocTest, StrdupAndCallocAreTheUsualOnes) {
  char* copy = WipingStrdup("user:pass");
  ASSERT_NE(copy, nullptr);
  EXPECT_STREQ(copy, "user:pass");
  WipingFree(copy);
  EXPECT_TRUE(released_all_zero);
  auto* zeros = static_cast<unsigned char*>(WipingCalloc(4, 8));
  ASSERT_NE(zeros, nullptr);
  for (int i = 0; i < 32; ++i) EXPECT_EQ(zeros[i], 0);
  WipingFree(zeros);
}

class OkSink : public BodySink {
 public:
  Status OnHeaders(const HttpResponse& h) override {
    status = h.status;
    return Status::OK();
  }
  Status OnData(const char* d, size_t n) override {
    body.append(d, n);
    return Status::OK();
  }
  int status = 0;
  std::string body;
};

TEST(CurlWipingAlloc, LibcurlFreesThroughItDuringATransfer) {
  auto transport = CurlTransport::Create();
  ASSERT_TRUE(transport.ok()) << transport.status().ToString();
  // Installed once: a second initialisation is the first one's result.
  EXPECT_TRUE(InitCurlWithWipingAllocator().ok());
  OneShotServer server("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", /*hold=*/false);
  HttpRequest req;
  req.url = server.url();
  const std::string v = "Bearer wipe-canary-5e1f";
  auto auth = SecretBuffer::CopyOf({reinterpret_cast<const uint8_t*>(v.data()), v.size()});
  ASSERT_TRUE(auth.ok());
  req.authorization = &*auth;
  OkSink sink;
  const uint64_t before = WipedBlockCount();
  TransportResult r = (*transport)->Do(req, sink);
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  EXPECT_EQ(sink.status, 200);
  EXPECT_EQ(sink.body, "ok");
  EXPECT_NE(server.request().find("\r\nAuthorization: Bearer wipe-canary-5e1f\r\n"),
            std::string::npos);
  // libcurl formatted the request in its own heap and freed it: through the wiping free.
  EXPECT_GT(WipedBlockCount(), before);
}

}  // namespace
}  // namespace latchkey::registry
