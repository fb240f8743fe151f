#include "broker/provider_host.h"

#include <gtest/gtest.h>

#include <cstring>

#include "broker/plugin_test_util.h"

namespace latchkey {
namespace {

using plugintest::LogCapture;

TEST(HostApi, TableDescribesThisHost) {
  const lk_host_api* api = HostApi();
  EXPECT_EQ(api->header.struct_size, sizeof(lk_host_api));
  EXPECT_EQ(api->header.abi_major, LK_ABI_MAJOR);
  EXPECT_EQ(api->header.abi_minor, LK_ABI_MINOR);
  EXPECT_TRUE(LK_HAS_FN(api, lk_host_api, check_deadline));
}

TEST(HostContext, AllocatesZeroedTrackedBlocksAndFreesThem) {
  HostContext ctx(HostContext::Kind::kCall, "host-test");
  const lk_host_api* api = HostApi();
  auto* p = static_cast<uint8_t*>(api->secret_alloc(ctx.handle(), 32));
  ASSERT_NE(p, nullptr);
  for (int i = 0; i < 32; ++i) EXPECT_EQ(p[i], 0) << i;
  EXPECT_EQ(ctx.BlockSize(p), 32u);
  void* q = api->secret_alloc(ctx.handle(), 0);  // a zero-byte request still gets a block
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(ctx.BlockSize(q), 1u);
  EXPECT_EQ(ctx.block_count(), 2u);
  api->secret_free(ctx.handle(), p);
  EXPECT_EQ(ctx.block_count(), 1u);
  EXPECT_FALSE(ctx.BlockSize(p).has_value());
  api->secret_free(ctx.handle(), nullptr);  // no-op
  EXPECT_EQ(ctx.ReleaseAll(), 1u);
  EXPECT_EQ(ctx.block_count(), 0u);
}

TEST(HostContext, FreeOfForeignMemoryIsIgnoredAndLogged) {
  LogCapture log("host-test");
  HostContext ctx(HostContext::Kind::kCall, "host-test");
  HostContext other(HostContext::Kind::kCall, "host-test");
  void* p = other.Alloc(8);
  HostApi()->secret_free(ctx.handle(), p);  // wrong context: must not free
  EXPECT_EQ(other.block_count(), 1u);
  EXPECT_EQ(log.text(),
            "error plugin bug: provider host-test called secret_free on memory this context did "
            "not allocate; ignored\n");
}

TEST(HostContext, TakeBlockStopsTracking) {
  HostContext ctx(HostContext::Kind::kCall, "host-test");
  void* p = ctx.Alloc(4);
  EXPECT_TRUE(ctx.TakeBlock(p));
  EXPECT_FALSE(ctx.TakeBlock(p));
  EXPECT_EQ(ctx.block_count(), 0u);
  SecretBuffer owned = SecretBuffer::Adopt(static_cast<uint8_t*>(p), 4);  // frees it
  EXPECT_EQ(owned.size(), 4u);
}

TEST(HostContext, CheckDeadline) {
  const lk_host_api* api = HostApi();
  HostContext none(HostContext::Kind::kCall, "host-test");
  EXPECT_EQ(api->check_deadline(none.handle()), LK_OK);

  HostContext later(HostContext::Kind::kCall, "host-test",
                    std::chrono::steady_clock::now() + std::chrono::hours(1));
  EXPECT_EQ(api->check_deadline(later.handle()), LK_OK);

  HostContext past(HostContext::Kind::kCall, "host-test",
                   std::chrono::steady_clock::now() - std::chrono::milliseconds(1));
  EXPECT_EQ(api->check_deadline(past.handle()), LK_DEADLINE_EXCEEDED);

  std::atomic<bool> cancelled{false};
  HostContext cancellable(HostContext::Kind::kCall, "host-test",
                          std::chrono::steady_clock::now() + std::chrono::hours(1), &cancelled);
  EXPECT_EQ(api->check_deadline(cancellable.handle()), LK_OK);
  cancelled = true;
  EXPECT_EQ(api->check_deadline(cancellable.handle()), LK_CANCELLED);
}

TEST(HostContext, LogForwardsToThePluginLoggerOnOneLine) {
  LogCapture log("host-test");
  HostContext ctx(HostContext::Kind::kInstance, "host-test");
  const lk_host_api* api = HostApi();
  api->log(ctx.handle(), LK_LOG_DEBUG, "starting");
  api->log(ctx.handle(), LK_LOG_INFO, "two\nlines");
  api->log(ctx.handle(), LK_LOG_WARN, "tab\there\x01");
  api->log(ctx.handle(), LK_LOG_ERROR, "failed");
  api->log(ctx.handle(), 77, "unknown level");
  api->log(ctx.handle(), LK_LOG_INFO, nullptr);
  EXPECT_EQ(log.text(),
            "debug starting\n"
            "info two\\nlines\n"
            "warning tab\\there\\x01\n"
            "error failed\n"
            "info unknown level\n"
            "info (null message)\n");
  EXPECT_EQ(PluginLogger("host-test")->name(), "plugin.host-test");
}

TEST(HostContext, LongLogLinesAreCut) {
  LogCapture log("host-test");
  HostContext ctx(HostContext::Kind::kInstance, "host-test");
  std::string line(5000, 'a');
  ctx.Log(LK_LOG_INFO, line.c_str());
  EXPECT_EQ(log.text(), "info " + std::string(4096, 'a') + " [truncated]\n");
}

}  // namespace
}  // namespace latchkey
