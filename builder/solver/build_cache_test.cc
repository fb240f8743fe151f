#include "builder/solver/build_cache.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <vector>

#include "base/fault_env_testutil.h"
#include "builder/image/fs_util.h"

namespace latchkey::build {
namespace {

class BuildCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = image::MakeTempDir("/tmp", "lk-cache-test-");
    ASSERT_TRUE(dir.ok());
    dir_ = *dir;
  }
  void TearDown() override { (void)image::RemoveAll(dir_); }
  std::string dir_;
};

image::LayerDescriptor Layer() {
  image::LayerDescriptor d;
  d.media_type = "application/vnd.oci.image.layer.v1.tar+gzip";
  d.digest = "sha256:" + std::string(64, 'a');
  d.diff_id = "sha256:" + std::string(64, 'b');
  d.size = 42;
  return d;
}

TEST(CacheKeyBuilder, FieldBoundariesMatter) {
  EXPECT_NE(CacheKeyBuilder().Add("ab").Add("c").Finish(),
            CacheKeyBuilder().Add("a").Add("bc").Finish());
  EXPECT_NE(CacheKeyBuilder().Add(std::vector<std::string>{"a", "b"}).Finish(),
            CacheKeyBuilder().Add(std::vector<std::string>{"a"}).Add("b").Finish());
  EXPECT_EQ(CacheKeyBuilder().Add("x").Finish(), CacheKeyBuilder().Add("x").Finish());
  EXPECT_EQ(CacheKeyBuilder().Add("x").Finish().size(), 64u);
}

TEST_F(BuildCacheTest, StoresAndLooksUpLayersAndEmptySteps) {
  auto cache = BuildCache::Open(dir_);
  ASSERT_TRUE(cache.ok());
  EXPECT_FALSE(cache->Lookup("k1").has_value());
  CacheEntry e;
  e.layer = Layer();
  e.created = "2024-01-02T03:04:05Z";
  e.allowed_leaks = {"tok"};
  ASSERT_TRUE(cache->Store("k1", e).ok());
  CacheEntry empty;
  empty.created = "2024-01-02T03:04:06Z";
  ASSERT_TRUE(cache->Store("k2", empty).ok());

  auto again = BuildCache::Open(dir_);  // another process's view
  auto got = again->Lookup("k1");
  ASSERT_TRUE(got.has_value());
  ASSERT_TRUE(got->layer.has_value());
  EXPECT_EQ(got->layer->digest, e.layer->digest);
  EXPECT_EQ(got->layer->diff_id, e.layer->diff_id);
  EXPECT_EQ(got->layer->size, 42);
  EXPECT_EQ(got->created, e.created);
  EXPECT_EQ(got->allowed_leaks, std::vector<std::string>{"tok"});
  auto got2 = again->Lookup("k2");
  ASSERT_TRUE(got2.has_value());
  EXPECT_FALSE(got2->layer.has_value());

  ASSERT_TRUE(again->Remove("k1").ok());
  EXPECT_FALSE(cache->Lookup("k1").has_value());
  EXPECT_TRUE(cache->Lookup("k2").has_value());
  EXPECT_TRUE(again->Remove("k1").ok());  // already gone
}

TEST_F(BuildCacheTest, CorruptOrForeignEntriesAreMisses) {
  auto cache = BuildCache::Open(dir_);
  ASSERT_TRUE(cache.ok());
  std::ofstream(cache->dir() + "/index/bad.json") << "{not json";
  std::ofstream(cache->dir() + "/index/v9.json") << R"({"version":9,"created":"x","layer":null})";
  std::ofstream(cache->dir() + "/index/digest.json")
      << R"({"version":1,"created":"x","layer":{"mediaType":"m","digest":"sha256:zz","size":1,"diff_id":"sha256:zz"}})";
  EXPECT_FALSE(cache->Lookup("bad").has_value());
  EXPECT_FALSE(cache->Lookup("v9").has_value());
  EXPECT_FALSE(cache->Lookup("digest").has_value());
  // A Store replaces the corrupt entry.
  CacheEntry e;
  e.created = "t";
  ASSERT_TRUE(cache->Store("bad", e).ok());
  EXPECT_TRUE(cache->Lookup("bad").has_value());
}

// Faults injected through the shared FaultEnv (base/fault_env_testutil.h): a failed write
// leaves the previous entry (or none), never a partial one, and the error names the file.

TEST_F(BuildCacheTest, FullDiskKeepsThePreviousEntry) {
  auto plan = std::make_shared<base::testing::FaultPlan>();
  base::testing::FaultEnv env(plan);
  auto cache = BuildCache::Open(dir_, &env);
  ASSERT_TRUE(cache.ok());
  CacheEntry first{Layer(), "2024-01-01T00:00:00Z", {}};
  ASSERT_TRUE(cache->Store("k1", first).ok());
  plan->write_errno = ENOSPC;
  plan->partial_write = true;
  CacheEntry second{std::nullopt, "2024-02-02T00:00:00Z", {}};
  Status st = cache->Store("k1", second);
  EXPECT_EQ(st.code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(base::testing::MaskTempName(st.message(), "k1.json.tmp-"),
            "writing " + dir_ + "/cache/index/k1.json.tmp-XXXXXX: No space left on device");
  auto e = cache->Lookup("k1");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->created, "2024-01-01T00:00:00Z");
  ASSERT_TRUE(e->layer.has_value());
  EXPECT_EQ(e->layer->digest, Layer().digest);
  std::vector<std::string> names;
  for (const auto& f : std::filesystem::directory_iterator(dir_ + "/cache/index")) {
    names.push_back(f.path().filename().string());
  }
  EXPECT_EQ(names, std::vector<std::string>{"k1.json"});
}

TEST_F(BuildCacheTest, FsyncFailureLeavesNoEntry) {
  auto plan = std::make_shared<base::testing::FaultPlan>();
  base::testing::FaultEnv env(plan);
  auto cache = BuildCache::Open(dir_, &env);
  ASSERT_TRUE(cache.ok());
  plan->sync_errno = EIO;
  Status st = cache->Store("k2", CacheEntry{Layer(), "2024-01-01T00:00:00Z", {}});
  EXPECT_EQ(base::testing::MaskTempName(st.message(), "k2.json.tmp-"),
            "syncing " + dir_ + "/cache/index/k2.json.tmp-XXXXXX: Input/output error");
  EXPECT_FALSE(cache->Lookup("k2").has_value());
  EXPECT_TRUE(std::filesystem::is_empty(dir_ + "/cache/index"));
}

}  // namespace
}  // namespace latchkey::build
