#include "builder/solver/store_gc.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <random>

#include "base/owner_lock.h"
#include "base/testutil.h"
#include "builder/image/image_store.h"
#include "builder/image/layer_extract.h"
#include "builder/image/layer_writer.h"
#include "builder/image/output_image.h"
#include "builder/solver/build_cache.h"

namespace latchkey::build {
namespace {

using base::testing::TempDir;
using base::testing::WriteText;

class StoreGcTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = image::ImageStore::Open(dir_.path());
    ASSERT_TRUE(s.ok()) << s.status().message();
    store_.emplace(std::move(*s));
    auto c = BuildCache::Open(dir_.path());
    ASSERT_TRUE(c.ok());
    cache_.emplace(std::move(*c));
  }
  // An image `ref` of one layer holding /f = `content`, unpacked in the layer cache.
  image::Image MakeImage(const std::string& ref, const std::string& content) {
    const std::string root = dir_.Join("rootfs-" + content);
    WriteText(root + "/f", content);
    auto img = store_->ImportRootfs(root, ref, image::ImportOptions{});
    EXPECT_TRUE(img.ok()) << img.status().message();
    Unpack(img->layers[0]);
    return *img;
  }
  // A cache entry `key` whose layer holds /c = `content`.
  image::LayerDescriptor MakeCacheEntry(const std::string& key, const std::string& content) {
    const std::string root = dir_.Join("upper-" + content);
    WriteText(root + "/c", content);
    image::LayerOptions lo;
    lo.source = image::LayerSource::kRootfs;
    lo.compression = image::Compression::kUncompressed;  // as the builder writes layers
    auto layer = image::WriteLayer(root, lo, store_->blobs());
    EXPECT_TRUE(layer.ok()) << layer.status().message();
    CacheEntry e;
    e.layer = *layer;
    e.created = "2024-01-01T00:00:00Z";
    EXPECT_TRUE(cache_->Store(key, e).ok());
    Unpack(*layer);
    return *layer;
  }
  void Unpack(const image::LayerDescriptor& l) {
    auto d = image::ExtractLayer(store_->blobs(), l.digest, l.diff_id, dir_.path());
    ASSERT_TRUE(d.ok()) << d.status().message();
  }
  bool HasLayerDir(const std::string& diff_id) {
    return std::filesystem::exists(dir_.path() + "/layers/sha256/" +
                                   std::string(image::DigestHex(diff_id)));
  }
  // Every tagged image loads (manifest and config verified) with its layer blobs present, and
  // every cache entry's blob is present.
  void ExpectEverythingReferencedExists() {
    auto list = store_->List();
    ASSERT_TRUE(list.ok()) << list.status().message();
    for (const auto& si : *list) {
      for (const auto& l : si.image.layers) {
        EXPECT_TRUE(store_->blobs().Verify(l.digest).ok()) << si.ref;
      }
    }
    // Every compressed-layer cache entry names a present blob.
    auto compressed = image::ListCompressedCache(store_->blobs());
    ASSERT_TRUE(compressed.ok()) << compressed.status().message();
    for (const auto& c : *compressed) {
      EXPECT_FALSE(c.digest.empty()) << c.path;
      EXPECT_TRUE(store_->blobs().Verify(c.digest).ok()) << c.path;
    }
    for (const auto& e : std::filesystem::directory_iterator(cache_->dir() + "/index")) {
      std::string key = e.path().stem().string();
      auto entry = cache_->Peek(key);
      ASSERT_TRUE(entry.has_value()) << key;
      if (entry->layer) {
        EXPECT_TRUE(store_->blobs().Has(entry->layer->digest)) << key;
      }
    }
  }
  TempDir dir_;
  std::optional<image::ImageStore> store_;
  std::optional<BuildCache> cache_;
};

const std::string kKey1(64, '1');
const std::string kKey2(64, '2');

TEST_F(StoreGcTest, DefaultPruneDeletesOnlyWhatNothingReferences) {
  image::Image a = MakeImage("a:1", "a");
  image::LayerDescriptor cached = MakeCacheEntry(kKey1, "cached");
  auto orphan = store_->blobs().PutBytes("orphan");
  ASSERT_TRUE(orphan.ok());
  auto r = CollectGarbage(dir_.path(), GcPolicy{}, false, false);
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->items.size(), 1u);
  EXPECT_EQ(r->items[0].kind, GcItem::Kind::kBlob);
  EXPECT_EQ(r->items[0].id, orphan->digest);
  EXPECT_FALSE(store_->blobs().Has(orphan->digest));
  EXPECT_TRUE(store_->blobs().Has(cached.digest));
  EXPECT_TRUE(HasLayerDir(cached.diff_id));
  EXPECT_TRUE(HasLayerDir(a.layers[0].diff_id));
  EXPECT_TRUE(cache_->Peek(kKey1).has_value());
  ExpectEverythingReferencedExists();
}

TEST_F(StoreGcTest, RemovedImageIsFreedUnlessAnotherImageSharesIt) {
  image::Image a = MakeImage("a:1", "a");
  image::Image b = MakeImage("b:1", "b");
  ASSERT_TRUE(store_->Tag("a:2", a).ok());
  ASSERT_TRUE(store_->Remove("a:1").ok());
  ASSERT_TRUE(store_->Remove("b:1").ok());
  GcPolicy keep_cache;
  keep_cache.cache = false;
  auto r = CollectGarbage(dir_.path(), keep_cache, false, false);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(store_->Resolve("a:2").ok());
  EXPECT_FALSE(store_->blobs().Has(b.manifest_digest));
  EXPECT_FALSE(store_->blobs().Has(b.config_digest));
  EXPECT_FALSE(store_->blobs().Has(b.layers[0].digest));
  EXPECT_FALSE(HasLayerDir(b.layers[0].diff_id));
  EXPECT_TRUE(HasLayerDir(a.layers[0].diff_id));
  int images = 0;
  for (const auto& i : r->items) images += i.kind == GcItem::Kind::kImage;
  EXPECT_EQ(images, 1);  // b's manifest, reported as an untagged image
}

TEST_F(StoreGcTest, AllKeepsOnlyTaggedImagesBlobs) {
  image::Image a = MakeImage("a:1", "a");
  image::LayerDescriptor cached = MakeCacheEntry(kKey1, "cached");
  GcPolicy all;
  all.all = true;
  auto r = CollectGarbage(dir_.path(), all, false, false);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_FALSE(cache_->Peek(kKey1).has_value());
  EXPECT_FALSE(store_->blobs().Has(cached.digest));
  EXPECT_FALSE(HasLayerDir(cached.diff_id));
  EXPECT_FALSE(HasLayerDir(a.layers[0].diff_id));  // unpacked layers are cache too
  EXPECT_TRUE(store_->blobs().Verify(a.layers[0].digest).ok());
  EXPECT_TRUE(store_->Resolve("a:1").ok());
}

TEST_F(StoreGcTest, KeepStorageDropsLeastRecentlyUsedCacheFirst) {
  MakeImage("a:1", "a");
  image::LayerDescriptor old_layer = MakeCacheEntry(kKey1, "old");
  image::LayerDescriptor new_layer = MakeCacheEntry(kKey2, "new");
  const std::string old_path = cache_->dir() + "/index/" + kKey1 + ".json";
  struct timespec times[2] = {{1000, 0}, {1000, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, old_path.c_str(), times, 0), 0);
  auto du = MeasureDiskUsage(dir_.path());
  ASSERT_TRUE(du.ok());
  GcPolicy p;
  // Enough for everything but one cache entry's layer.
  int64_t used = 0;
  for (const auto& l : du->lines) {
    if (l.kind == "blobs" || l.kind == "unpacked layers") used += l.bytes;
  }
  p.keep_storage = used - 1;
  auto r = CollectGarbage(dir_.path(), p, false, false);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_FALSE(cache_->Peek(kKey1).has_value());
  EXPECT_TRUE(cache_->Peek(kKey2).has_value());
  EXPECT_FALSE(store_->blobs().Has(old_layer.digest));
  EXPECT_TRUE(store_->blobs().Has(new_layer.digest));
  ExpectEverythingReferencedExists();
}

TEST_F(StoreGcTest, UnusedForDropsOldEntriesAndLookupRefreshesUse) {
  MakeCacheEntry(kKey1, "one");
  MakeCacheEntry(kKey2, "two");
  for (const auto& k : {kKey1, kKey2}) {
    struct timespec times[2] = {{1000, 0}, {1000, 0}};
    ASSERT_EQ(::utimensat(AT_FDCWD, (cache_->dir() + "/index/" + k + ".json").c_str(), times, 0),
              0);
  }
  ASSERT_TRUE(cache_->Lookup(kKey2).has_value());  // a hit: used now
  GcPolicy p;
  p.unused_for = 3600;
  ASSERT_TRUE(CollectGarbage(dir_.path(), p, false, false).ok());
  EXPECT_FALSE(cache_->Peek(kKey1).has_value());
  EXPECT_TRUE(cache_->Peek(kKey2).has_value());
}

TEST_F(StoreGcTest, LeftoversOfAKilledGcOrWriterAreSwept) {
  WriteText(dir_.path() + "/layers/tmp/gc-abcdef/d/file", "half-deleted layer");
  WriteText(dir_.path() + "/images/ingest/blob-123456", "partial blob");
  auto r = CollectGarbage(dir_.path(), GcPolicy{}, false, false);
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->items.size(), 2u);
  EXPECT_EQ(r->items[0].kind, GcItem::Kind::kTemp);
  EXPECT_FALSE(std::filesystem::exists(dir_.path() + "/layers/tmp/gc-abcdef"));
  EXPECT_FALSE(std::filesystem::exists(dir_.path() + "/images/ingest/blob-123456"));
}

TEST_F(StoreGcTest, ALiveOwnersTempDirIsLeftAlone) {
  std::filesystem::create_directories(dir_.path() + "/layers/tmp");
  auto owned = base::MakeOwnedTempDir(dir_.path() + "/layers/tmp", "x-");
  ASSERT_TRUE(owned.ok()) << owned.status().message();
  WriteText(owned->path + "/file", "being extracted");
  ASSERT_TRUE(CollectGarbage(dir_.path(), GcPolicy{}, false, false).ok());
  EXPECT_TRUE(std::filesystem::exists(owned->path + "/file"));
}

TEST_F(StoreGcTest, DiskUsageSplitsSharedAndUniqueStorage) {
  image::Image a = MakeImage("a:1", "same");
  ASSERT_TRUE(store_->Tag("b:1", a).ok());  // the same image under two tags
  MakeImage("c:1", "other");
  MakeCacheEntry(kKey1, "cached");
  auto orphan = store_->blobs().PutBytes("orphan");
  ASSERT_TRUE(orphan.ok());
  auto du = MeasureDiskUsage(dir_.path());
  ASSERT_TRUE(du.ok()) << du.status().message();
  ASSERT_EQ(du->lines.size(), 5u);
  EXPECT_EQ(du->lines[0].kind, "blobs");
  EXPECT_EQ(du->lines[0].count, 3 + 3 + 1 + 1);  // a and c: manifest, config, layer; cache; orphan
  EXPECT_EQ(du->lines[1].kind, "unpacked layers");
  EXPECT_EQ(du->lines[1].count, 3);
  EXPECT_EQ(du->lines[2].kind, "build cache");
  EXPECT_EQ(du->lines[2].count, 1);
  ASSERT_EQ(du->images.size(), 3u);
  EXPECT_EQ(du->images[0].ref, "a:1");
  EXPECT_GT(du->images[0].bytes, 0);
  EXPECT_EQ(du->images[0].unique, 0);  // b:1 holds all of it too
  EXPECT_EQ(du->images[2].ref, "c:1");
  EXPECT_EQ(du->images[2].unique, du->images[2].bytes);
  ASSERT_EQ(du->cache.size(), 1u);
  EXPECT_FALSE(du->cache[0].shared);
  EXPECT_GT(du->cache[0].bytes, 0);
  // prune: the orphan; prune --all: also the cache entry, its blob and every unpacked layer.
  struct stat st;
  ASSERT_EQ(::stat(store_->blobs().PathFor(orphan->digest).c_str(), &st), 0);
  EXPECT_EQ(du->reclaimable, static_cast<int64_t>(st.st_blocks) * 512);
  EXPECT_GT(du->reclaimable_all, du->reclaimable + du->cache[0].bytes);
}

TEST_F(StoreGcTest, DryRunDeletesNothing) {
  MakeCacheEntry(kKey1, "one");
  GcPolicy all;
  all.all = true;
  auto r = CollectGarbage(dir_.path(), all, /*dry_run=*/true, false);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->items.empty());
  EXPECT_TRUE(cache_->Peek(kKey1).has_value());
  ExpectEverythingReferencedExists();
}

TEST_F(StoreGcTest, ARunningBuildsSharedLockStopsTheGc) {
  auto held = StoreUseLock::Shared(dir_.path());
  ASSERT_TRUE(held.ok());
  auto r = CollectGarbage(dir_.path(), GcPolicy{}, false, /*wait=*/false);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(r.status().message(),
            "the state directory " + dir_.path() + " is in use by a running build");
}

TEST_F(StoreGcTest, UnreadableTaggedImageStopsTheGcBeforeAnyDelete) {
  image::Image a = MakeImage("a:1", "a");
  auto orphan = store_->blobs().PutBytes("orphan");
  ASSERT_TRUE(orphan.ok());
  WriteText(store_->blobs().PathFor(a.config_digest), "corrupt");
  auto r = CollectGarbage(dir_.path(), GcPolicy{}, false, false);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().message().starts_with(
      "garbage collection: image \"a:1\" cannot be read, so what it references is unknown; "
      "nothing was deleted: "))
      << r.status().message();
  EXPECT_TRUE(store_->blobs().Has(orphan->digest));
}

// An output's compressed copies of a layer stay while the layer is referenced, and go with it:
// the cache entry first, then the blob.
TEST_F(StoreGcTest, CompressedCopiesFollowTheirLayer) {
  image::Image a = MakeImage("a:1", "a");
  image::OutputCompression oc;
  oc.compression = image::Compression::kZstd;
  oc.force = true;
  auto out = image::ImageForOutput(store_->blobs(), a, oc);
  ASSERT_TRUE(out.ok()) << out.status().message();
  const std::string zstd_blob = out->layers[0].digest;
  const std::string cache_dir = image::CompressedCacheDir(store_->blobs());
  WriteText(cache_dir + "/" + std::string(64, 'e') + "/gzip-6", "not json");
  auto r = CollectGarbage(dir_.path(), GcPolicy{}, false, false);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(store_->blobs().Has(zstd_blob));
  EXPECT_TRUE(store_->blobs().Has(out->manifest_digest));  // the output's manifest: kept with a:1
  ASSERT_FALSE(r->items.empty());
  EXPECT_EQ(r->items[0].kind, GcItem::Kind::kCompressedEntry);  // the unparsable one
  EXPECT_EQ(r->items[0].id, cache_dir + "/" + std::string(64, 'e') + "/gzip-6");
  ExpectEverythingReferencedExists();

  ASSERT_TRUE(store_->Remove("a:1").ok());
  r = CollectGarbage(dir_.path(), GcPolicy{}, false, false);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_FALSE(store_->blobs().Has(zstd_blob));
  EXPECT_FALSE(store_->blobs().Has(out->manifest_digest));
  int images = 0;
  for (const auto& i : r->items) images += i.kind == GcItem::Kind::kImage;
  EXPECT_EQ(images, 1);  // a:1's manifest; the output's is not reported as an image
  size_t entry_at = r->items.size(), blob_at = r->items.size();
  for (size_t i = 0; i < r->items.size(); ++i) {
    if (r->items[i].kind == GcItem::Kind::kCompressedEntry) entry_at = i;
    if (r->items[i].id == zstd_blob) blob_at = i;
  }
  EXPECT_LT(entry_at, blob_at);
  EXPECT_TRUE(std::filesystem::is_empty(cache_dir));

  // prune --all drops the compressed copies of tagged images too (a cache), not their layers.
  image::Image b = MakeImage("b:1", "b");
  out = image::ImageForOutput(store_->blobs(), b, oc);
  ASSERT_TRUE(out.ok());
  GcPolicy all;
  all.all = true;
  ASSERT_TRUE(CollectGarbage(dir_.path(), all, false, false).ok());
  EXPECT_FALSE(store_->blobs().Has(out->layers[0].digest));
  EXPECT_TRUE(store_->blobs().Has(b.layers[0].digest));
  ExpectEverythingReferencedExists();
}

// Tag, rm, cache store and GC in a random order (fixed seed): after every GC, everything a tag
// or a cache entry references is still there.
TEST_F(StoreGcTest, RandomOrderNeverLosesAReferencedBlob) {
  std::mt19937 rng(20261206);
  std::vector<image::Image> made;
  for (int i = 0; i < 4; ++i)
    made.push_back(MakeImage("base:" + std::to_string(i), "v" + std::to_string(i)));
  for (int round = 0; round < 60; ++round) {
    const std::string name = "img" + std::to_string(rng() % 5) + ":1";
    switch (rng() % 6) {  // 5: a GC
      case 0:
        ASSERT_TRUE(store_->Tag(name, made[rng() % made.size()]).ok());
        break;
      case 1:
        (void)store_->Remove(name);
        break;
      case 2:
        (void)store_->Remove("base:" + std::to_string(rng() % 4));
        break;
      case 3:
        MakeCacheEntry(std::string(64, "abcdef"[rng() % 6]), "c" + std::to_string(round));
        break;
      case 4: {  // an output: compressed copies of an image's layers, cached
        const image::Image& img = made[rng() % made.size()];
        if (!store_->blobs().Has(img.manifest_digest)) break;
        image::OutputCompression oc;
        oc.compression = rng() % 2 ? image::Compression::kZstd : image::Compression::kGzip;
        oc.force = true;
        oc.level = 1 + static_cast<int>(rng() % 2);
        auto out = image::ImageForOutput(store_->blobs(), img, oc);
        ASSERT_TRUE(out.ok()) << out.status().message();
        break;
      }
      case 5: {
        GcPolicy p;
        p.all = rng() % 3 == 0;
        p.cache = rng() % 4 != 0;
        if (rng() % 2) p.keep_storage = static_cast<int64_t>(rng() % 200000);
        auto r = CollectGarbage(dir_.path(), p, false, false);
        ASSERT_TRUE(r.ok()) << r.status().message();
        ExpectEverythingReferencedExists();
        // Images made earlier may have been freed; keep only those still tagged for Tag.
        std::vector<image::Image> alive;
        for (const auto& img : made) {
          if (store_->blobs().Has(img.manifest_digest)) alive.push_back(img);
        }
        if (!alive.empty())
          made = alive;
        else
          made.push_back(MakeImage("base:0", "again" + std::to_string(round)));
      }
    }
  }
  ASSERT_TRUE(CollectGarbage(dir_.path(), GcPolicy{}, false, false).ok());
  ExpectEverythingReferencedExists();
}

}  // namespace
}  // namespace latchkey::build
