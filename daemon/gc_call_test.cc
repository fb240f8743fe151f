#include "daemon/gc_call.h"

#include <gtest/gtest.h>

namespace latchkey::daemon {
namespace {

TEST(GcCall, DiskUsageSurvivesTheWire) {
  build::DiskUsage du;
  du.lines = {{"blobs", 3, 12288}, {"unpacked layers", 1, 4096}, {"build cache", 2, 8192}};
  du.images = {{"app:1", "sha256:" + std::string(64, 'a'), 4096, 1024}};
  du.cache = {{std::string(64, 'c'), "sha256:" + std::string(64, 'b'), 2048, 1733500000, true},
              {std::string(64, 'd'), "", 0, 1733400000, false}};
  du.total = 40960;
  du.reclaimable = 512;
  du.reclaimable_all = 8192;
  latchkey::v1::DiskUsageResponse wire;
  ToProto(du, "/var/lib/latchkey/builder", &wire);
  EXPECT_EQ(wire.state_dir(), "/var/lib/latchkey/builder");
  build::DiskUsage back = FromProto(wire);
  ASSERT_EQ(back.lines.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(back.lines[i].kind, du.lines[i].kind);
    EXPECT_EQ(back.lines[i].count, du.lines[i].count);
    EXPECT_EQ(back.lines[i].bytes, du.lines[i].bytes);
  }
  ASSERT_EQ(back.images.size(), 1u);
  EXPECT_EQ(back.images[0].ref, "app:1");
  EXPECT_EQ(back.images[0].manifest, du.images[0].manifest);
  EXPECT_EQ(back.images[0].bytes, 4096);
  EXPECT_EQ(back.images[0].unique, 1024);
  ASSERT_EQ(back.cache.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(back.cache[i].key, du.cache[i].key);
    EXPECT_EQ(back.cache[i].layer_digest, du.cache[i].layer_digest);
    EXPECT_EQ(back.cache[i].bytes, du.cache[i].bytes);
    EXPECT_EQ(back.cache[i].last_used, du.cache[i].last_used);
    EXPECT_EQ(back.cache[i].shared, du.cache[i].shared);
  }
  EXPECT_EQ(back.total, 40960);
  EXPECT_EQ(back.reclaimable, 512);
  EXPECT_EQ(back.reclaimable_all, 8192);
}

TEST(GcCall, EveryGcItemKindSurvivesTheWire) {
  using K = build::GcItem::Kind;
  build::GcReport report;
  int64_t n = 1;
  for (K k : {K::kCacheEntry, K::kCacheMount, K::kImage, K::kBlob, K::kLayer, K::kTemp,
              K::kCompressedEntry}) {
    report.items.push_back({k, "id-" + std::to_string(n), n * 100});
    report.reclaimed += n * 100;
    ++n;
  }
  latchkey::v1::PruneResponse wire;
  ToProto(report, &wire);
  EXPECT_EQ(wire.items(2).kind(), latchkey::v1::PruneItem::UNTAGGED_IMAGE);
  build::GcReport back = FromProto(wire);
  ASSERT_EQ(back.items.size(), report.items.size());
  for (size_t i = 0; i < back.items.size(); ++i) {
    EXPECT_EQ(back.items[i].kind, report.items[i].kind) << i;
    EXPECT_EQ(back.items[i].id, report.items[i].id);
    EXPECT_EQ(back.items[i].bytes, report.items[i].bytes);
  }
  EXPECT_EQ(back.reclaimed, report.reclaimed);
}

TEST(GcCall, DescribesTheCallerForTheLog) {
  audit::PeerInfo unix_peer;
  unix_peer.transport = "unix";
  unix_peer.uid = 1000;
  unix_peer.gid = 100;
  unix_peer.pid = 4242;
  unix_peer.user = "ann";
  EXPECT_EQ(DescribeCaller(unix_peer), "uid=1000(ann) gid=100 pid=4242");
  unix_peer.user = "";
  EXPECT_EQ(DescribeCaller(unix_peer), "uid=1000 gid=100 pid=4242");
  audit::PeerInfo tcp;
  tcp.transport = "tcp";
  tcp.client_cn = "ci-runner";
  tcp.address = "ipv4:127.0.0.1:50312";
  EXPECT_EQ(DescribeCaller(tcp), "client_cn=ci-runner address=ipv4:127.0.0.1:50312");
  EXPECT_EQ(DescribeCaller(std::nullopt), "an unidentified caller");
}

}  // namespace
}  // namespace latchkey::daemon
