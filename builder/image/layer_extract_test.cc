#include "builder/image/layer_extract.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <zstd.h>

#include <filesystem>
#include <thread>

#include "builder/image/digest.h"
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

// A sandbox: <d>/root is the extraction root; <d>/outside holds a host file the layer tries to
// reach.
struct Sandbox {
  ScratchDir d;
  std::string root = d / "root";
  std::string outside = d / "outside";
  std::string tar = d / "layer.tar";
  Sandbox() {
    std::filesystem::create_directories(root);
    WriteText(outside + "/secret", "host-secret");
  }
  Result<ExtractResult> Extract(const std::vector<TarEntry>& entries,
                                WhiteoutMode mode = WhiteoutMode::kApply) {
    WriteTar(tar, entries);
    ExtractOptions o;
    o.whiteouts = mode;
    return ExtractLayerTo(tar, root, o);
  }
  bool HostUntouched() {
    return ReadText(outside + "/secret") == "host-secret" &&
           std::filesystem::hard_link_count(outside + "/secret") == 1 &&
           std::distance(std::filesystem::directory_iterator(outside),
                         std::filesystem::directory_iterator()) == 1 &&
           std::distance(std::filesystem::directory_iterator(d.path()),
                         std::filesystem::directory_iterator()) == 3;
  }
};

TEST(LayerExtract, DotDotIsClampedToTheRoot) {
  Sandbox s;
  auto r = s.Extract({F("../../../escape", "x"), F("../outside/secret", "overwritten")});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(ReadText(s.root + "/escape"), "x");
  EXPECT_EQ(ReadText(s.root + "/outside/secret"), "overwritten");
  EXPECT_TRUE(s.HostUntouched());
}

TEST(LayerExtract, AbsolutePathsLandInsideTheRoot) {
  Sandbox s;
  auto r = s.Extract({F(s.outside + "/secret", "overwritten")});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(ReadText(s.root + s.outside + "/secret"), "overwritten");
  EXPECT_TRUE(s.HostUntouched());
}

TEST(LayerExtract, WritesThroughAbsoluteSymlinkStayInside) {
  Sandbox s;
  // "link" points at the host directory; writing "link/secret" must not reach it.
  auto r = s.Extract({L("link", s.outside), F("link/secret", "overwritten")});
  EXPECT_TRUE(s.HostUntouched());
  if (r.ok()) {
    EXPECT_EQ(ReadText(s.root + s.outside + "/secret"), "overwritten");
  } else {
    EXPECT_EQ(r.status().code(), StatusCode::kNotFound) << r.status().ToString();
  }
}

TEST(LayerExtract, WritesThroughRelativeDotDotSymlinkStayInside) {
  Sandbox s;
  auto r = s.Extract(
      {L("up", "../../../../.."), F("up/outside/secret", "overwritten"), F("up/planted", "p")});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(ReadText(s.root + "/outside/secret"), "overwritten");
  EXPECT_EQ(ReadText(s.root + "/planted"), "p");
  EXPECT_TRUE(s.HostUntouched());
}

TEST(LayerExtract, SymlinkThenFileReplacesTheLinkNotItsTarget) {
  Sandbox s;
  auto r = s.Extract({L("s", s.outside + "/secret"), F("s", "replaced")});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  struct stat st;
  ASSERT_EQ(::lstat((s.root + "/s").c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(ReadText(s.root + "/s"), "replaced");
  EXPECT_TRUE(s.HostUntouched());
}

TEST(LayerExtract, HardlinkToOutsideIsRefused) {
  Sandbox s;
  auto r = s.Extract({H("h", "../outside/secret")});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "extract layer " + s.tar +
                                      ": entry \"h\": hardlink target \"../outside/secret\" is "
                                      "not in the layer");
  EXPECT_FALSE(Exists(s.root + "/h"));
  EXPECT_TRUE(s.HostUntouched());
}

TEST(LayerExtract, HardlinkThroughSymlinkToOutsideIsRefused) {
  Sandbox s;
  auto r = s.Extract({L("d", s.outside), H("h", "d/secret")});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "extract layer " + s.tar +
                                      ": entry \"h\": hardlink target \"d/secret\" is not in "
                                      "the layer");
  EXPECT_TRUE(s.HostUntouched());
}

TEST(LayerExtract, HardlinkToASymlinkLinksTheSymlinkItself) {
  Sandbox s;
  auto r = s.Extract({L("sl", s.outside + "/secret"), H("h", "sl"), F("h", "write-through?")});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(s.HostUntouched());
}

TEST(LayerExtract, HardlinkInsideTheLayerWorks) {
  Sandbox s;
  auto r = s.Extract({F("a", "same"), H("b", "a")});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  struct stat a, b;
  ASSERT_EQ(::stat((s.root + "/a").c_str(), &a), 0);
  ASSERT_EQ(::stat((s.root + "/b").c_str(), &b), 0);
  EXPECT_EQ(a.st_ino, b.st_ino);
}

TEST(LayerExtract, WhiteoutsCannotReachOutside) {
  Sandbox s;
  auto r = s.Extract({F("../outside/.wh.secret"), F("../.wh.outside")});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(s.HostUntouched());
  auto o = s.Extract({L("x", s.outside), F("x/.wh..wh..opq")});
  (void)o;  // either outcome is fine as long as the host is untouched
  EXPECT_TRUE(s.HostUntouched());
}

TEST(LayerExtract, InvalidWhiteoutAndRootReplacementAreErrors) {
  Sandbox s;
  auto r = s.Extract({F("dir/.wh..")});
  EXPECT_EQ(r.status().message(),
            "extract layer " + s.tar + ": entry \"dir/.wh..\": is not a valid whiteout");
  auto root = s.Extract({F("a/..", "x")});
  EXPECT_EQ(root.status().message(),
            "extract layer " + s.tar + ": entry \"a/..\": would replace the root directory");
}

TEST(LayerExtract, OnlyUserAndCapabilityXattrsAreApplied) {
  Sandbox s;
  TarEntry d = D("d");
  d.xattrs = {{"trusted.overlay.opaque", "y"}, {"user.ok", "1"}};
  auto r = s.Extract({d}, WhiteoutMode::kOverlay);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  char v[8];
  EXPECT_LT(::getxattr((s.root + "/d").c_str(), "trusted.overlay.opaque", v, sizeof v), 0);
  EXPECT_EQ(::getxattr((s.root + "/d").c_str(), "user.ok", v, sizeof v), 1);
}

TEST(LayerExtract, ModesAndDirectoryMtimesAreApplied) {
  Sandbox s;
  auto r = s.Extract({D("ro", 0555), F("ro/f", "x", 04711)});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  struct stat st;
  ASSERT_EQ(::stat((s.root + "/ro").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0555u);
  EXPECT_EQ(st.st_mtim.tv_sec, 1000000000);
  ASSERT_EQ(::stat((s.root + "/ro/f").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 04711u);
}

TEST(LayerExtract, DirectoryReplacedByASymlinkLaterInTheLayer) {
  Sandbox s;
  auto r = s.Extract({D("a", 0700), F("a/f", "x"), L("a", s.outside)});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  struct stat st;
  ASSERT_EQ(::lstat((s.root + "/a").c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  EXPECT_TRUE(s.HostUntouched());
  struct stat host;
  ASSERT_EQ(::stat(s.outside.c_str(), &host), 0);
  EXPECT_NE(host.st_mode & 07777, 0700u);
}

// A tar+zstd layer (a registry's, or latchkey's own compression=zstd push) extracts like a
// gzip one; damaged compressed data of either kind is DATA_LOSS naming the layer.
TEST(LayerExtract, ZstdLayersExtractAndDamagedOnesAreDataLoss) {
  Sandbox s;
  WriteTar(s.tar, {D("etc", 0755), F("etc/hostname", "zbox")});
  const std::string tar = ReadText(s.tar);
  std::string z(ZSTD_compressBound(tar.size()), '\0');
  size_t n = ZSTD_compress(z.data(), z.size(), tar.data(), tar.size(), 3);
  ASSERT_FALSE(ZSTD_isError(n));
  z.resize(n);
  WriteText(s.tar, z);
  ExtractOptions o;
  auto ok = ExtractLayerTo(s.tar, s.root, o);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ReadText(s.root + "/etc/hostname"), "zbox");
  EXPECT_EQ(ok->diff_id, Sha256Digest(tar));

  WriteText(s.tar, z.substr(0, z.size() / 2));
  EXPECT_EQ(ExtractLayerTo(s.tar, s.root, o).status().ToString(),
            "DATA_LOSS: extract layer " + s.tar + ": zstd data is truncated");
  WriteText(s.tar, std::string("\x1f\x8b\x08\x00", 4) + "truncated");
  auto r = ExtractLayerTo(s.tar, s.root, o);
  EXPECT_EQ(r.status().code(), StatusCode::kDataLoss) << r.status().ToString();
}

TEST(LayerCache, ExtractsOnceVerifiesAndSharesConcurrently) {
  ScratchDir d;
  auto blobs = BlobStore::Open(d / "store");
  ASSERT_TRUE(blobs.ok());
  WriteTar(d / "l.tgz", {D("etc", 0755), F("etc/hostname", "box"), F("etc/.wh.gone")},
           /*gzip=*/true);
  auto info = blobs->PutFile(d / "l.tgz");
  ASSERT_TRUE(info.ok());
  // diff_id: extract once without expectations to learn it.
  std::filesystem::create_directories(d / "probe");
  auto probe = ExtractLayerTo(d / "l.tgz", d / "probe", ExtractOptions{});
  ASSERT_TRUE(probe.ok()) << probe.status().ToString();
  EXPECT_EQ(probe->digest, info->digest);

  std::vector<std::thread> ts;
  std::vector<std::string> paths(4);
  for (int i = 0; i < 4; ++i) {
    ts.emplace_back([&, i] {
      auto p = ExtractLayer(*blobs, info->digest, probe->diff_id, d / "state");
      paths[i] = p.ok() ? *p : p.status().ToString();
    });
  }
  for (auto& t : ts) t.join();
  std::string want = d / "state/layers/sha256/" + std::string(DigestHex(probe->diff_id));
  for (const auto& p : paths) EXPECT_EQ(p, want);
  EXPECT_EQ(ReadText(want + "/etc/hostname"), "box");
  struct stat st;
  ASSERT_EQ(::lstat((want + "/etc/gone").c_str(), &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_TRUE(std::filesystem::is_empty(d / "state/layers/tmp"));

  // A wrong diff_id publishes nothing.
  std::string wrong = Sha256Digest("wrong");
  auto bad = ExtractLayer(*blobs, info->digest, wrong, d / "state");
  EXPECT_EQ(bad.status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(bad.status().message(), "extract layer " + blobs->PathFor(info->digest) +
                                        ": uncompressed content has diff_id " + probe->diff_id +
                                        ", expected " + wrong);
  EXPECT_FALSE(Exists(d / "state/layers/sha256/" + std::string(DigestHex(wrong))));
  EXPECT_TRUE(std::filesystem::is_empty(d / "state/layers/tmp"));
}

// The local exporter never creates device nodes on the host (issue 11): skip_devices lists them
// instead; fifos and everything else are still written.
TEST(LayerExtract, SkipDevicesCreatesNoDeviceNodes) {
  Sandbox s;
  TarEntry mem;
  mem.name = "dev/mem";
  mem.type = 'c';
  mem.mode = 0666;
  mem.rdev_major = 1;
  mem.rdev_minor = 1;
  WriteTar(s.tar, {D("dev"), mem, F("dev/ok", "fine")});
  ExtractOptions o;
  o.whiteouts = WhiteoutMode::kApply;
  o.skip_devices = true;
  auto r = ExtractLayerTo(s.tar, s.root, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->skipped_devices, std::vector<std::string>{"/dev/mem"});
  struct stat st;
  EXPECT_NE(::lstat((s.root + "/dev/mem").c_str(), &st), 0);
  EXPECT_EQ(ReadText(s.root + "/dev/ok"), "fine");
  EXPECT_TRUE(s.HostUntouched());
}

// Cancellation (issue 10): ExtractLayerTo returns the check's status without its "extract layer"
// prefix, and the layer cache publishes nothing, whenever the cancellation comes (before the
// first entry, at any entry or data chunk, before the rename).
TEST(LayerExtract, CancelledExtractionPublishesNoCacheEntry) {
  ScratchDir d;
  WriteTar(d / "layer.tar", {D("etc"), F("etc/a", "a"), F("etc/big", std::string(150000, 'x')),
                             L("etc/l", "a"), F("z", "z")});
  auto blobs = BlobStore::Open(d / "store");
  ASSERT_TRUE(blobs.ok());
  auto blob = blobs->PutFile(d / "layer.tar");
  ASSERT_TRUE(blob.ok());

  testing::CancelAfter count;
  {
    auto dir = ExtractLayer(*blobs, blob->digest, blob->digest, d / "counted", count.Check());
    ASSERT_TRUE(dir.ok()) << dir.status().ToString();
  }
  ASSERT_GE(count.polls(), 8);  // before, per entry (5), per data chunk, before publishing
  for (int allowed = 0; allowed < count.polls(); ++allowed) {
    SCOPED_TRACE("cancelled after " + std::to_string(allowed) + " polls");
    const std::string state = d / ("state" + std::to_string(allowed));
    testing::CancelAfter cancel(allowed);
    auto dir = ExtractLayer(*blobs, blob->digest, blob->digest, state, cancel.Check());
    EXPECT_EQ(dir.status().ToString(), "CANCELLED: build cancelled");
    EXPECT_EQ(testing::ListTree(state + "/layers"), (std::vector<std::string>{"sha256", "tmp"}));
  }

  testing::CancelAfter before(0);
  ExtractOptions o;
  o.cancel = before.Check();
  std::filesystem::create_directories(d / "dest");
  EXPECT_EQ(ExtractLayerTo(d / "layer.tar", d / "dest", o).status().ToString(),
            "CANCELLED: build cancelled");
  EXPECT_TRUE(testing::ListTree(d / "dest").empty());
}

}  // namespace
}  // namespace latchkey::image
