#include "builder/image/oci_image.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <memory>

#include "builder/image/config_json.h"
#include "builder/image/media_types.h"
#include "builder/image/test_util.h"

namespace latchkey::image {
namespace {

using testing::D;
using testing::Exists;
using testing::F;
using testing::H;
using testing::L;
using testing::ReadText;
using testing::ScratchDir;
using testing::TarEntry;
using testing::WriteTar;
using testing::WriteText;

// Two layers: the base has etc/a, etc/b and dir/x; the top deletes etc/a and makes dir opaque.
Image TwoLayerImage(const ScratchDir& d, BlobStore& blobs) {
  WriteText(d / "base/etc/a", "a");
  WriteText(d / "base/etc/b", "b");
  WriteText(d / "base/dir/x", "x");
  LayerOptions ro;
  ro.source = LayerSource::kRootfs;
  ro.source_date_epoch = 0;
  auto base = WriteLayer(d / "base", ro, blobs);
  WriteTar(d / "top.tar", {F("etc/.wh.a"), D("dir", 0755), F("dir/.wh..wh..opq"), F("dir/y", "y")});
  auto top_blob = blobs.PutFile(d / "top.tar");
  LayerDescriptor top;
  top.media_type = kMediaTypeLayerTar;
  top.digest = top_blob->digest;
  top.size = top_blob->size;
  top.diff_id = top_blob->digest;  // uncompressed: the same
  frontend::ImageConfig c = frontend::ImageConfig::Scratch();
  c.created = "1970-01-01T00:00:00Z";
  c.cmd = std::vector<std::string>{"/bin/sh"};
  auto img = CommitImage(c, {*base, top}, blobs);
  EXPECT_TRUE(img.ok()) << img.status().ToString();
  return *img;
}

TEST(OciImage, CommitThenLoadRoundTrips) {
  ScratchDir d;
  auto blobs = BlobStore::Open(d / "store");
  ASSERT_TRUE(blobs.ok());
  Image img = TwoLayerImage(d, *blobs);
  auto back = LoadImage(*blobs, img.manifest_digest);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->config, img.config);
  EXPECT_EQ(back->config_digest, img.config_digest);
  ASSERT_EQ(back->layers.size(), 2u);
  EXPECT_EQ(back->layers[1].media_type, kMediaTypeLayerTar);
  EXPECT_EQ(back->layers[0].diff_id, img.layers[0].diff_id);
  auto m = nlohmann::json::parse(*blobs->ReadBytes(img.manifest_digest));
  EXPECT_EQ(m["mediaType"], kMediaTypeManifest);
  EXPECT_EQ(m["config"]["mediaType"], kMediaTypeConfig);
  EXPECT_EQ(m["schemaVersion"], 2);
}

TEST(OciImage, SameInputsSameManifestDigest) {
  ScratchDir d1, d2;
  auto b1 = BlobStore::Open(d1 / "store");
  auto b2 = BlobStore::Open(d2 / "store");
  ASSERT_TRUE(b1.ok() && b2.ok());
  EXPECT_EQ(TwoLayerImage(d1, *b1).manifest_digest, TwoLayerImage(d2, *b2).manifest_digest);
}

TEST(OciImage, CommitRejectsMissingLayerBlob) {
  ScratchDir d;
  auto blobs = BlobStore::Open(d / "store");
  ASSERT_TRUE(blobs.ok());
  LayerDescriptor l;
  l.digest = Sha256Digest("absent");
  l.diff_id = l.digest;
  auto r = CommitImage(frontend::ImageConfig::Scratch(), {l}, *blobs);
  EXPECT_EQ(r.status().message(), "blob " + l.digest + " is not in the store at " + (d / "store"));
}

TEST(OciImage, LayoutArchiveAndRootfsExports) {
  ScratchDir d;
  auto blobs = BlobStore::Open(d / "store");
  ASSERT_TRUE(blobs.ok());
  Image img = TwoLayerImage(d, *blobs);

  ASSERT_TRUE(WriteOciLayout(*blobs, img, d / "layout", "v1").ok());
  EXPECT_EQ(ReadText(d / "layout/oci-layout"), "{\"imageLayoutVersion\":\"1.0.0\"}");
  auto idx = ReadIndex(d / "layout");
  ASSERT_TRUE(idx.ok());
  ASSERT_EQ(idx->size(), 1u);
  EXPECT_EQ((*idx)[0].ref_name, "v1");
  EXPECT_EQ((*idx)[0].digest, img.manifest_digest);
  EXPECT_TRUE(Exists(d / "layout/blobs/sha256/" + std::string(DigestHex(img.layers[0].digest))));
  // Writing again with another name adds an entry; the same name replaces.
  ASSERT_TRUE(WriteOciLayout(*blobs, img, d / "layout", "v2").ok());
  ASSERT_TRUE(WriteOciLayout(*blobs, img, d / "layout", "v2").ok());
  EXPECT_EQ(ReadIndex(d / "layout")->size(), 2u);

  ASSERT_TRUE(WriteOciArchive(*blobs, img, d / "a.tar", "v1").ok());
  ASSERT_TRUE(WriteOciArchive(*blobs, img, d / "b.tar", "v1").ok());
  EXPECT_EQ(ReadText(d / "a.tar"), ReadText(d / "b.tar"));
  auto listing = testing::ListTar(d / "a.tar");
  ASSERT_GE(listing.lines.size(), 4u);
  EXPECT_EQ(listing.lines[0], "oci-layout f");
  EXPECT_EQ(listing.lines[1], "index.json f");

  ASSERT_TRUE(ExportRootfs(*blobs, img, d / "rootfs").ok());
  EXPECT_FALSE(Exists(d / "rootfs/etc/a"));
  EXPECT_EQ(ReadText(d / "rootfs/etc/b"), "b");
  EXPECT_FALSE(Exists(d / "rootfs/dir/x"));
  EXPECT_EQ(ReadText(d / "rootfs/dir/y"), "y");
}

// issue 11: a layer with a device node exports to a directory without it, and says so.
TEST(OciImage, RootfsExportSkipsDeviceNodes) {
  ScratchDir d;
  auto blobs = BlobStore::Open(d / "store");
  ASSERT_TRUE(blobs.ok());
  TarEntry mem;
  mem.name = "dev/mem";
  mem.type = 'c';
  mem.mode = 0666;
  mem.rdev_major = 1;
  mem.rdev_minor = 1;
  WriteTar(d / "dev.tar", {testing::D("dev"), mem, testing::F("dev/ok", "ok")});
  auto blob = blobs->PutFile(d / "dev.tar");
  ASSERT_TRUE(blob.ok());
  LayerDescriptor l;
  l.media_type = kMediaTypeLayerTar;
  l.digest = blob->digest;
  l.size = blob->size;
  l.diff_id = blob->digest;
  auto img = CommitImage(frontend::ImageConfig::Scratch(), {l}, *blobs);
  ASSERT_TRUE(img.ok()) << img.status().ToString();
  std::vector<std::string> skipped;
  ASSERT_TRUE(ExportRootfs(*blobs, *img, d / "rootfs", &skipped).ok());
  EXPECT_EQ(skipped, std::vector<std::string>{"/dev/mem"});
  EXPECT_FALSE(Exists(d / "rootfs/dev/mem"));
  EXPECT_EQ(ReadText(d / "rootfs/dev/ok"), "ok");
  EXPECT_EQ(SkippedDeviceWarning("/dev/mem"),
            "warning: device node /dev/mem was not exported (the local exporter never creates "
            "device nodes)");
}

TEST(OciImage, LayoutRefusesANonLayoutDirectory) {
  ScratchDir d;
  auto blobs = BlobStore::Open(d / "store");
  ASSERT_TRUE(blobs.ok());
  Image img = TwoLayerImage(d, *blobs);
  WriteText(d / "busy/file", "mine");
  EXPECT_EQ(WriteOciLayout(*blobs, img, d / "busy", "v1").message(),
            d / "busy" +
                " exists and is not an OCI image layout (no oci-layout file); choose an empty or "
                "new directory");
  EXPECT_EQ(ReadText(d / "busy/file"), "mine");
}

TEST(OciImage, LoadDetectsCorruptConfig) {
  ScratchDir d;
  auto blobs = BlobStore::Open(d / "store");
  ASSERT_TRUE(blobs.ok());
  Image img = TwoLayerImage(d, *blobs);
  WriteText(blobs->PathFor(img.config_digest), "{}");
  auto r = LoadImage(*blobs, img.manifest_digest);
  EXPECT_EQ(r.status().code(), StatusCode::kDataLoss);
}

// Cancellation (issue 10): whenever it comes (before the write, at any tar entry, blob, layer
// or data chunk, or just before publishing), each exporter returns the check's CANCELLED status
// and publishes nothing.
class OciCancelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto blobs = BlobStore::Open(d_ / "store");
    ASSERT_TRUE(blobs.ok());
    blobs_ = std::make_unique<BlobStore>(std::move(blobs).value());
    WriteText(d_ / "big/blob", std::string(300 * 1024, 'q'));  // several chunks
    LayerOptions ro;
    ro.source = LayerSource::kRootfs;
    ro.gzip_level = 1;
    auto big = WriteLayer(d_ / "big", ro, *blobs_);
    ASSERT_TRUE(big.ok());
    img_ = TwoLayerImage(d_, *blobs_);
    img_.layers.push_back(*big);
    auto img = CommitImage(img_.config, img_.layers, *blobs_);
    ASSERT_TRUE(img.ok()) << img.status().ToString();
    img_ = *img;
  }
  // Runs `write` once uncancelled to count its polls, then once cancelled at each of them,
  // calling `check` after each cancelled run.
  void Sweep(const std::function<Status(const base::CancelCheck&, int run)>& write,
             const std::function<void(int run)>& check, int min_polls = 5) {
    testing::CancelAfter count;
    ASSERT_TRUE(write(count.Check(), -1).ok());
    ASSERT_GE(count.polls(), min_polls);
    for (int allowed = 0; allowed < count.polls(); ++allowed) {
      SCOPED_TRACE("cancelled after " + std::to_string(allowed) + " polls");
      testing::CancelAfter cancel(allowed);
      EXPECT_EQ(write(cancel.Check(), allowed).ToString(), "CANCELLED: build cancelled");
      EXPECT_EQ(cancel.polls(), allowed + 1);
      check(allowed);
    }
  }
  std::string Run(const char* what, int run) const {
    return d_ / (std::string(what) + (run < 0 ? "-full" : "-" + std::to_string(run)));
  }

  ScratchDir d_;
  std::unique_ptr<BlobStore> blobs_;
  Image img_;
};

TEST_F(OciCancelTest, ArchiveLeavesNoFile) {
  Sweep([&](const base::CancelCheck& c,
            int run) { return WriteOciArchive(*blobs_, img_, Run("a.tar", run), "v1", "", c); },
        [&](int run) {
          EXPECT_FALSE(Exists(Run("a.tar", run)));
          for (const auto& f : testing::ListTree(d_.path())) {
            EXPECT_EQ(f.find(".tmp-"), std::string::npos) << f;
          }
        });
}

TEST_F(OciCancelTest, NewLayoutIsRemoved) {
  Sweep([&](const base::CancelCheck& c,
            int run) { return WriteOciLayout(*blobs_, img_, Run("layout", run), "v1", "", c); },
        [&](int run) { EXPECT_FALSE(Exists(Run("layout", run))); });
}

TEST_F(OciCancelTest, ExistingLayoutKeepsItsIndex) {
  ASSERT_TRUE(WriteOciLayout(*blobs_, img_, d_ / "layout", "old").ok());
  const std::string index = ReadText(d_ / "layout/index.json");
  Sweep(
      [&](const base::CancelCheck& c, int run) {
        return WriteOciLayout(*blobs_, img_, d_ / "layout", run < 0 ? "full" : "new", "", c);
      },
      [&](int) {
        auto idx = ReadIndex(d_ / "layout");
        ASSERT_TRUE(idx.ok());
        ASSERT_EQ(idx->size(), 2u);  // "old" and the uncancelled run's "full": no "new"
        EXPECT_EQ((*idx)[0].ref_name, "old");
        EXPECT_EQ((*idx)[1].ref_name, "full");
      },
      /*min_polls=*/2);  // its blobs are there already: before the write and before the index
  EXPECT_NE(ReadText(d_ / "layout/index.json"), index);
}

TEST_F(OciCancelTest, NewRootfsDirectoryIsRemoved) {
  Sweep([&](const base::CancelCheck& c,
            int run) { return ExportRootfs(*blobs_, img_, Run("rootfs", run), nullptr, c); },
        [&](int run) { EXPECT_FALSE(Exists(Run("rootfs", run))); });
}

}  // namespace
}  // namespace latchkey::image
