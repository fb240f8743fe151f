#include "builder/image/layer_writer.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <filesystem>

#include "builder/image/layer_extract.h"
#include "builder/image/media_types.h"
#include "builder/image/test_util.h"

namespace latchkey::image {
namespace {

using testing::ListTar;
using testing::ScratchDir;
using testing::WriteText;

std::string Gunzip(const std::string& gz) {
  z_stream zs = {};
  inflateInit2(&zs, 15 + 16);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gz.data()));
  zs.avail_in = static_cast<uInt>(gz.size());
  std::string out;
  char buf[65536];
  int rc;
  do {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof buf;
    rc = inflate(&zs, Z_NO_FLUSH);
    out.append(buf, sizeof buf - zs.avail_out);
  } while (rc == Z_OK);
  inflateEnd(&zs);
  return out;
}

void MakeTree(const std::string& root) {
  WriteText(root + "/etc/passwd", "root:x:0:0::/root:/bin/sh\n");
  WriteText(root + "/bin/tool", "#!/bin/sh\necho hi\n", 04755);
  std::filesystem::create_directories(root + "/empty");
  ::symlink("tool", (root + "/bin/sh").c_str());
  ::link((root + "/bin/tool").c_str(), (root + "/bin/tool2").c_str());
  ::mkfifo((root + "/fifo").c_str(), 0600);
  ::setxattr((root + "/etc/passwd").c_str(), "user.note", "n1", 2, 0);
  ::setxattr((root + "/etc/passwd").c_str(), "trusted.secret", "t", 1, 0);
  ::chmod((root + "/bin").c_str(), 0755);
}

TEST(LayerWriter, WritesSortedEntriesWithMetadataAndDigests) {
  ScratchDir d;
  MakeTree(d / "tree");
  auto store = BlobStore::Open(d / "store");
  ASSERT_TRUE(store.ok());
  LayerOptions o;
  o.source = LayerSource::kRootfs;
  auto layer = WriteLayer(d / "tree", o, *store);
  ASSERT_TRUE(layer.ok()) << layer.status().ToString();
  EXPECT_EQ(layer->media_type, kMediaTypeLayerGzip);
  std::string blob = testing::ReadText(store->PathFor(layer->digest));
  EXPECT_EQ(Sha256Digest(blob), layer->digest);
  EXPECT_EQ(static_cast<int64_t>(blob.size()), layer->size);
  std::string tar = Gunzip(blob);
  EXPECT_EQ(Sha256Digest(tar), layer->diff_id);
  EXPECT_EQ(static_cast<int64_t>(tar.size()), layer->uncompressed_size);
  // gzip header: mtime 0, no file name flag.
  EXPECT_EQ(blob[3], 0);
  EXPECT_EQ(blob.substr(4, 4), std::string(4, '\0'));

  auto l = ListTar(store->PathFor(layer->digest));
  std::vector<std::string> want = {
      "bin/ d",   "bin/sh l -> tool", "bin/tool f",   "bin/tool2 h -> bin/tool",
      "empty/ d", "etc/ d",           "etc/passwd f", "fifo p"};
  EXPECT_EQ(l.lines, want);
  EXPECT_EQ(layer->entries, 8);
  EXPECT_EQ(l.modes["bin/tool"], 04755u);
  EXPECT_EQ(l.data["etc/passwd"], "root:x:0:0::/root:/bin/sh\n");
  EXPECT_EQ(l.xattrs["etc/passwd"].count("user.note"), 1u);
  EXPECT_EQ(l.xattrs["etc/passwd"].count("trusted.secret"), 0u);
}

TEST(LayerWriter, SourceDateEpochMakesSeparatelyCreatedTreesIdentical) {
  ScratchDir d;
  MakeTree(d / "a");
  MakeTree(d / "b");
  // Give every entry of b a different (later) mtime than a's.
  struct timespec later[2] = {{1800000000, 0}, {1800000000, 0}};
  for (const auto& e : std::filesystem::recursive_directory_iterator(d / "b")) {
    ::utimensat(AT_FDCWD, e.path().c_str(), later, AT_SYMLINK_NOFOLLOW);
  }
  struct timespec old[2] = {{100, 0}, {100, 0}};
  ::utimensat(AT_FDCWD, (d / "b/etc/passwd").c_str(), old, AT_SYMLINK_NOFOLLOW);
  ::utimensat(AT_FDCWD, (d / "a/etc/passwd").c_str(), old, AT_SYMLINK_NOFOLLOW);
  auto store = BlobStore::Open(d / "store");
  ASSERT_TRUE(store.ok());
  LayerOptions o;
  o.source = LayerSource::kRootfs;
  o.source_date_epoch = 1700000000;
  auto a = WriteLayer(d / "a", o, *store);
  auto b = WriteLayer(d / "b", o, *store);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->digest, b->digest);
  EXPECT_EQ(a->diff_id, b->diff_id);
  auto l = ListTar(store->PathFor(a->digest));
  EXPECT_EQ(l.mtimes["etc/passwd"], 100);  // older than the epoch: kept
  EXPECT_EQ(l.mtimes["bin/tool"], 1700000000);

  // Without the epoch the two trees differ (their mtimes do).
  o.source_date_epoch.reset();
  auto c = WriteLayer(d / "a", o, *store);
  auto e = WriteLayer(d / "b", o, *store);
  ASSERT_TRUE(c.ok() && e.ok());
  EXPECT_NE(c->digest, e->digest);
}

TEST(LayerWriter, ConvertsOverlayWhiteoutsInAnUpperDir) {
  ScratchDir d;
  std::string up = d / "upper";
  std::filesystem::create_directories(up + "/etc/opaque");
  WriteText(up + "/etc/opaque/kept", "k");
  ASSERT_EQ(::mknod((up + "/etc/gone").c_str(), S_IFCHR | 0, makedev(0, 0)), 0);
  ASSERT_EQ(::setxattr((up + "/etc/opaque").c_str(), "trusted.overlay.opaque", "y", 1, 0), 0);
  auto store = BlobStore::Open(d / "store");
  ASSERT_TRUE(store.ok());
  auto layer = WriteLayer(up, LayerOptions{}, *store);
  ASSERT_TRUE(layer.ok()) << layer.status().ToString();
  auto l = ListTar(store->PathFor(layer->digest));
  std::vector<std::string> want = {"etc/ d", "etc/.wh.gone f", "etc/opaque/ d",
                                   "etc/opaque/.wh..wh..opq f", "etc/opaque/kept f"};
  EXPECT_EQ(l.lines, want);
  EXPECT_EQ(l.xattrs["etc/opaque/"].size(), 0u);  // the overlay xattr itself is not copied

  // The same tree as a rootfs keeps the device as a device.
  LayerOptions ro;
  ro.source = LayerSource::kRootfs;
  auto raw = WriteLayer(up, ro, *store);
  ASSERT_TRUE(raw.ok());
  EXPECT_EQ(ListTar(store->PathFor(raw->digest)).lines[1], "etc/gone c");
}

TEST(LayerWriter, KeepsManyXattrs) {
  ScratchDir d;
  WriteText(d / "tree/f", "x");
  for (int i = 0; i < 40; ++i) {
    std::string name = "user.a-rather-long-attribute-name-number-" + std::to_string(i);
    ASSERT_EQ(::setxattr((d / "tree/f").c_str(), name.c_str(), "v", 1, 0), 0);
  }
  auto store = BlobStore::Open(d / "store");
  ASSERT_TRUE(store.ok());
  auto layer = WriteLayer(d / "tree", LayerOptions{}, *store);
  ASSERT_TRUE(layer.ok()) << layer.status().ToString();
  EXPECT_EQ(ListTar(store->PathFor(layer->digest)).xattrs["f"].size(), 40u);
}

TEST(LayerWriter, RejectsRedirectDirUppers) {
  ScratchDir d;
  std::filesystem::create_directories(d / "upper/moved");
  ::setxattr((d / "upper/moved").c_str(), "trusted.overlay.redirect", "/old", 4, 0);
  auto store = BlobStore::Open(d / "store");
  ASSERT_TRUE(store.ok());
  auto layer = WriteLayer(d / "upper", LayerOptions{}, *store);
  EXPECT_EQ(layer.status().message(),
            "layer: " + (d / "upper/moved") +
                " has overlay xattr trusted.overlay.redirect; the overlay must be mounted with "
                "redirect_dir=off,metacopy=off");
  EXPECT_TRUE(std::filesystem::is_empty(d / "store/ingest"));
}

TEST(LayerWriter, MissingSourceAndBadLevel) {
  ScratchDir d;
  auto store = BlobStore::Open(d / "store");
  ASSERT_TRUE(store.ok());
  EXPECT_EQ(WriteLayer(d / "nope", LayerOptions{}, *store).status().message(),
            "layer: source directory " + (d / "nope") + ": No such file or directory");
  LayerOptions o;
  o.gzip_level = 0;
  std::filesystem::create_directories(d / "x");
  EXPECT_EQ(WriteLayer(d / "x", o, *store).status().message(),
            "layer: gzip level 0 is out of range 1..9");
}

// A real overlay mount: delete a file and a directory in the merged view, recreate the
// directory, then write the upper dir as a layer and unpack it both ways.
TEST(LayerWriter, RealOverlayRoundTrip) {
  ScratchDir d;
  WriteText(d / "lower/a/file", "lower-file");
  WriteText(d / "lower/a/keep", "keep");
  WriteText(d / "lower/dir/old1", "1");
  WriteText(d / "lower/dir/sub/old2", "2");
  for (const char* p : {"upper", "work", "merged"}) std::filesystem::create_directories(d / p);
  // Mount in a private mount namespace of this test process, so nothing outlives it.
  if (::unshare(CLONE_NEWNS) != 0 ||
      ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    GTEST_SKIP() << "cannot create a private mount namespace: " << std::strerror(errno);
  }
  std::string opts = "lowerdir=" + (d / "lower") + ",upperdir=" + (d / "upper") +
                     ",workdir=" + (d / "work") + ",redirect_dir=off,metacopy=off,index=off";
  if (::mount("overlay", (d / "merged").c_str(), "overlay", 0, opts.c_str()) != 0) {
    GTEST_SKIP() << "overlay mount not permitted here: " << std::strerror(errno);
  }
  std::filesystem::remove(d / "merged/a/file");
  std::filesystem::remove_all(d / "merged/dir");
  std::filesystem::create_directories(d / "merged/dir");
  WriteText(d / "merged/dir/new", "new");
  ASSERT_EQ(::umount2((d / "merged").c_str(), MNT_DETACH), 0);

  auto store = BlobStore::Open(d / "store");
  ASSERT_TRUE(store.ok());
  auto layer = WriteLayer(d / "upper", LayerOptions{}, *store);
  ASSERT_TRUE(layer.ok()) << layer.status().ToString();
  auto l = ListTar(store->PathFor(layer->digest));
  std::vector<std::string> want = {"a/ d", "a/.wh.file f", "dir/ d", "dir/.wh..wh..opq f",
                                   "dir/new f"};
  EXPECT_EQ(l.lines, want);

  // Overlay-lowerdir form: whiteout device and opaque xattr come back.
  std::filesystem::create_directories(d / "ovl");
  ExtractOptions eo;
  eo.whiteouts = WhiteoutMode::kOverlay;
  auto r = ExtractLayerTo(store->PathFor(layer->digest), d / "ovl", eo);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->diff_id, layer->diff_id);
  struct stat st;
  ASSERT_EQ(::lstat((d / "ovl/a/file").c_str(), &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_EQ(st.st_rdev, makedev(0, 0));
  char v[4] = {};
  EXPECT_EQ(::getxattr((d / "ovl/dir").c_str(), "trusted.overlay.opaque", v, sizeof v), 1);
  EXPECT_EQ(v[0], 'y');

  // Stacked as lowerdirs, the unpacked layer shows the same view as the original merge.
  std::filesystem::create_directories(d / "view");
  std::string ro = "lowerdir=" + (d / "ovl") + ":" + (d / "lower");
  ASSERT_EQ(::mount("overlay", (d / "view").c_str(), "overlay", MS_RDONLY, ro.c_str()), 0)
      << std::strerror(errno);
  EXPECT_FALSE(testing::Exists(d / "view/a/file"));
  EXPECT_TRUE(testing::Exists(d / "view/a/keep"));
  EXPECT_FALSE(testing::Exists(d / "view/dir/old1"));
  EXPECT_EQ(testing::ReadText(d / "view/dir/new"), "new");
  ::umount2((d / "view").c_str(), MNT_DETACH);

  // Applied onto a copy of the lower dir: the deletions happen.
  std::filesystem::copy(d / "lower", d / "flat", std::filesystem::copy_options::recursive);
  eo.whiteouts = WhiteoutMode::kApply;
  auto r2 = ExtractLayerTo(store->PathFor(layer->digest), d / "flat", eo);
  ASSERT_TRUE(r2.ok()) << r2.status().ToString();
  EXPECT_FALSE(testing::Exists(d / "flat/a/file"));
  EXPECT_TRUE(testing::Exists(d / "flat/a/keep"));
  EXPECT_FALSE(testing::Exists(d / "flat/dir/old1"));
  EXPECT_FALSE(testing::Exists(d / "flat/dir/sub"));
  EXPECT_EQ(testing::ReadText(d / "flat/dir/new"), "new");
}

// A ".wh." name in a new layer would delete a file of the image for every consumer (issue 11):
// refused, naming the path and what it would do, whatever the source kind.
TEST(LayerWriter, RefusesWhiteoutNames) {
  for (LayerSource source : {LayerSource::kOverlayUpper, LayerSource::kRootfs}) {
    ScratchDir d;
    auto store = BlobStore::Open(d / "store");
    ASSERT_TRUE(store.ok());
    LayerOptions o;
    o.source = source;
    WriteText(d / "a/etc/.wh.passwd", "");
    WriteText(d / "a/etc/hosts", "");
    auto a = WriteLayer(d / "a", o, *store);
    ASSERT_FALSE(a.ok());
    EXPECT_EQ(a.status().code(), StatusCode::kFailedPrecondition);
    EXPECT_EQ(a.status().message(),
              "layer: /etc/.wh.passwd: a file name starting with \".wh.\" is an OCI whiteout and "
              "would delete /etc/passwd from the image; rename or remove it");
    std::filesystem::create_directories(d / "b/bin/.wh..wh..opq");
    EXPECT_EQ(WriteLayer(d / "b", o, *store).status().message(),
              "layer: /bin/.wh..wh..opq: a file name starting with \".wh.\" is an OCI whiteout "
              "and would hide everything else in /bin; rename or remove it");
    std::filesystem::create_directories(d / "c");
    ASSERT_EQ(::symlink("x", (d / "c/.wh..wh..opq").c_str()), 0);
    EXPECT_EQ(WriteLayer(d / "c", o, *store).status().message(),
              "layer: /.wh..wh..opq: a file name starting with \".wh.\" is an OCI whiteout and "
              "would hide everything else in /; rename or remove it");
  }
}

// Cancellation (issue 10): requested before the write, or at any poll during it (per entry, per
// 64 KiB of a file's data, before publishing), the write returns the check's CANCELLED status and
// publishes nothing: no blob, no temporary file in the store.
TEST(LayerWriter, CancelledAtAnyPointPublishesNothing) {
  ScratchDir d;
  MakeTree(d / "tree");
  WriteText(d / "tree/big", std::string(200 * 1024, 'b'));  // several data chunks
  LayerOptions o;
  o.source = LayerSource::kRootfs;
  testing::CancelAfter count;
  o.cancel = count.Check();
  {
    auto blobs = BlobStore::Open(d / "counted");
    ASSERT_TRUE(blobs.ok());
    ASSERT_TRUE(WriteLayer(d / "tree", o, *blobs).ok());
  }
  ASSERT_GT(count.polls(), 10);  // one per entry and per chunk, at least
  for (int allowed = 0; allowed < count.polls(); ++allowed) {
    SCOPED_TRACE("cancelled after " + std::to_string(allowed) + " polls");
    auto blobs = BlobStore::Open(d / ("s" + std::to_string(allowed)));
    ASSERT_TRUE(blobs.ok());
    testing::CancelAfter cancel(allowed);
    o.cancel = cancel.Check();
    auto r = WriteLayer(d / "tree", o, *blobs);
    EXPECT_EQ(r.status().ToString(), "CANCELLED: build cancelled");
    EXPECT_EQ(cancel.polls(), allowed + 1);  // stopped at the first cancelled poll
    EXPECT_EQ(testing::ListTree(blobs->root()),
              (std::vector<std::string>{"blobs", "blobs/sha256", "ingest"}));
  }
}

}  // namespace
}  // namespace latchkey::image
