#include "cli/output_receiver.h"

#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "base/file.h"
#include "builder/image/dir_tar.h"
#include "builder/image/oci_image.h"

namespace latchkey::cli {
namespace {

class OutputReceiverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = base::MakeTempDir("/tmp", "lk-output-receiver-");
    ASSERT_TRUE(d.ok());
    dir_ = *d;
  }
  void TearDown() override { (void)base::RemoveAll(dir_); }

  static void Write(const std::string& path, const std::string& text, mode_t mode = 0644) {
    std::ofstream(path) << text;
    ::chmod(path.c_str(), mode);
  }
  static std::string Read(const std::string& path) {
    auto r = base::ReadFile(path);
    return r.ok() ? *r : "<" + r.status().message() + ">";
  }
  static bool Exists(const std::string& path) {
    struct stat st {};
    return ::lstat(path.c_str(), &st) == 0;
  }
  // `bytes` in pieces of `piece` bytes.
  static ByteSource Source(const std::string& bytes, size_t piece = 7) {
    auto off = std::make_shared<size_t>(0);
    return [bytes, piece, off](std::string* out) {
      if (*off >= bytes.size()) return false;
      *out = bytes.substr(*off, piece);
      *off += out->size();
      return true;
    };
  }
  // A tar of the given entries, written with libarchive (names as given: hostile ones too).
  struct TarEntry {
    std::string name;
    mode_t type;
    std::string data_or_target;
  };
  static std::string Tar(const std::vector<TarEntry>& entries) {
    std::string out;
    struct archive* a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    archive_write_open2(
        a, &out, nullptr,
        [](struct archive*, void* d, const void* b, size_t n) -> la_ssize_t {
          static_cast<std::string*>(d)->append(static_cast<const char*>(b), n);
          return static_cast<la_ssize_t>(n);
        },
        nullptr, nullptr);
    for (const auto& t : entries) {
      struct archive_entry* e = archive_entry_new();
      archive_entry_copy_pathname(e, t.name.c_str());
      archive_entry_set_filetype(e, t.type);
      archive_entry_set_perm(e, 0644);
      if (t.type == AE_IFLNK) archive_entry_copy_symlink(e, t.data_or_target.c_str());
      if (t.type == AE_IFCHR) archive_entry_set_rdev(e, makedev(1, 1));
      archive_entry_set_size(e, t.type == AE_IFREG ? t.data_or_target.size() : 0);
      archive_write_header(a, e);
      if (t.type == AE_IFREG)
        archive_write_data(a, t.data_or_target.data(), t.data_or_target.size());
      archive_entry_free(e);
    }
    archive_write_close(a);
    archive_write_free(a);
    return out;
  }

  std::string dir_;
};

// A directory sent by the daemon (WriteDirectoryTar) arrives as the same tree: files with their
// modes, directories, symlinks, hardlinks.
TEST_F(OutputReceiverTest, DirectoryRoundTrip) {
  const std::string src = dir_ + "/src";
  ASSERT_TRUE(base::MakeDirs(src + "/etc/app").ok());
  Write(src + "/etc/app/conf", "x=1\n", 0600);
  Write(src + "/run.sh", "#!/bin/sh\necho hi\n", 0755);
  ASSERT_EQ(::symlink("etc/app/conf", (src + "/conf").c_str()), 0);
  ASSERT_EQ(::link((src + "/run.sh").c_str(), (src + "/run2.sh").c_str()), 0);
  std::string big(3 << 20, 'b');
  Write(src + "/big", big);
  std::string stream;
  ASSERT_TRUE(image::WriteDirectoryTar(src, [&](std::string_view b) {
                stream.append(b);
                return Status::OK();
              }).ok());

  OutputReceiver r;
  const std::string dest = dir_ + "/out";
  ASSERT_TRUE(r.Expect(0, ClientOutputKind::kDirectory, dest).ok());
  EXPECT_EQ(r.Missing().message(), "latchkeyd did not send the output " + dest);
  Status st = r.Receive(0, Source(stream, 65536));
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_TRUE(r.Missing().ok());
  EXPECT_EQ(Read(dest + "/etc/app/conf"), "x=1\n");
  EXPECT_EQ(Read(dest + "/run.sh"), "#!/bin/sh\necho hi\n");
  EXPECT_EQ(Read(dest + "/run2.sh"), "#!/bin/sh\necho hi\n");
  EXPECT_EQ(Read(dest + "/big"), big);
  struct stat a {
  }, b{};
  ASSERT_EQ(::stat((dest + "/run.sh").c_str(), &a), 0);
  ASSERT_EQ(::stat((dest + "/run2.sh").c_str(), &b), 0);
  EXPECT_EQ(a.st_ino, b.st_ino);
  EXPECT_EQ(a.st_mode & 07777, 0755u);
  ASSERT_EQ(::stat((dest + "/etc/app/conf").c_str(), &a), 0);
  EXPECT_EQ(a.st_mode & 07777, 0600u);
  char target[64] = {};
  ASSERT_GT(::readlink((dest + "/conf").c_str(), target, sizeof target - 1), 0);
  EXPECT_STREQ(target, "etc/app/conf");
  // A second delivery of the same output is refused.
  EXPECT_EQ(r.Receive(0, Source(stream)).message(), "output 0 was not requested");
  EXPECT_EQ(r.Receive(4, Source(stream)).message(), "output 4 was not requested");
}

// Hostile streams: nothing lands outside dest, and a device node fails the output.
TEST_F(OutputReceiverTest, HostileStreamsStayInsideDest) {
  ASSERT_TRUE(base::MakeDirs(dir_ + "/outside").ok());
  OutputReceiver r;
  const std::string dest = dir_ + "/outside/dest";
  ASSERT_TRUE(r.Expect(0, ClientOutputKind::kDirectory, dest).ok());
  Status st = r.Receive(0, Source(Tar({{"../escaped", AE_IFREG, "x"},
                                       {"/abs", AE_IFREG, "y"},
                                       {"l", AE_IFLNK, "/"},
                                       {"l/tmp-escape", AE_IFREG, "z"}})));
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_FALSE(Exists(dir_ + "/outside/escaped"));
  EXPECT_FALSE(Exists("/tmp-escape"));
  EXPECT_EQ(Read(dest + "/escaped"), "x");
  EXPECT_EQ(Read(dest + "/abs"), "y");
  EXPECT_EQ(Read(dest + "/tmp-escape"), "z");

  OutputReceiver r2;
  const std::string dest2 = dir_ + "/dev-out";
  ASSERT_TRUE(r2.Expect(1, ClientOutputKind::kDirectory, dest2).ok());
  st = r2.Receive(1, Source(Tar({{"dev", AE_IFDIR, ""}, {"dev/mem", AE_IFCHR, ""}})));
  EXPECT_EQ(st.message(), "output " + dest2 +
                              ": latchkeyd sent a device node, /dev/mem (the local exporter "
                              "never creates device nodes)");
  EXPECT_FALSE(Exists(dest2 + "/dev/mem"));
  r2.Abandon();  // dest2 did not exist before Expect: removed
  EXPECT_FALSE(Exists(dest2));

  OutputReceiver r3;
  ASSERT_TRUE(r3.Expect(0, ClientOutputKind::kDirectory, dir_ + "/garbage").ok());
  st = r3.Receive(0, Source(std::string(2048, 'g')));
  EXPECT_EQ(st.code(), StatusCode::kDataLoss);
  EXPECT_EQ(st.message().rfind("output " + dir_ + "/garbage: cannot read the stream: ", 0), 0u)
      << st.message();
}

TEST_F(OutputReceiverTest, FileIsPublishedAtomically) {
  OutputReceiver r;
  const std::string dest = dir_ + "/app.tar";
  Write(dest, "old");
  ASSERT_TRUE(r.Expect(2, ClientOutputKind::kFile, dest).ok());
  EXPECT_EQ(Read(dest), "old");  // untouched until the bytes arrived
  ASSERT_TRUE(r.Receive(2, Source("the archive bytes")).ok());
  EXPECT_EQ(Read(dest), "the archive bytes");
  struct stat st {};
  ASSERT_EQ(::stat(dest.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir_)) {
    names.push_back(e.path().filename().string());
  }
  EXPECT_EQ(names, std::vector<std::string>{"app.tar"});
}

// dest=-: the archive's bytes go to standard output as they arrive, nothing is created.
TEST_F(OutputReceiverTest, DashWritesToStdout) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  OutputReceiver r;
  r.set_stdout_fd(fds[1]);
  ASSERT_TRUE(r.Expect(0, ClientOutputKind::kFile, "-").ok());
  ASSERT_TRUE(r.Receive(0, Source("archive on stdout")).ok());
  ::close(fds[1]);
  char buf[64] = {};
  ssize_t n = ::read(fds[0], buf, sizeof buf - 1);
  ::close(fds[0]);
  EXPECT_EQ(std::string(buf, n > 0 ? static_cast<size_t>(n) : 0), "archive on stdout");
  EXPECT_FALSE(Exists("-"));
  EXPECT_TRUE(r.Missing().ok());
}

// A stream the sender gave up on (the call was cancelled) is not published: the old file stays,
// and the output is still missing.
TEST_F(OutputReceiverTest, CutShortStreamIsNotPublished) {
  const std::string dest = dir_ + "/app.tar";
  Write(dest, "old");
  OutputReceiver r;
  ASSERT_TRUE(r.Expect(0, ClientOutputKind::kFile, dest).ok());
  Status st = r.Receive(0, Source("half an archi"), [] { return true; });
  EXPECT_EQ(st.code(), StatusCode::kAborted);
  EXPECT_EQ(st.message(), "output " + dest +
                              ": the stream from latchkeyd ended early (the build was cancelled "
                              "or the daemon went away)");
  EXPECT_EQ(Read(dest), "old");
  EXPECT_EQ(r.Missing().message(), "latchkeyd did not send the output " + dest);
  r.Abandon();
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir_)) {
    names.push_back(e.path().filename().string());
  }
  EXPECT_EQ(names, std::vector<std::string>{"app.tar"});

  OutputReceiver d;
  ASSERT_TRUE(d.Expect(1, ClientOutputKind::kDirectory, dir_ + "/tree").ok());
  st = d.Receive(1, Source(Tar({{"a", AE_IFREG, "x"}})), [] { return true; });
  EXPECT_EQ(st.code(), StatusCode::kAborted);
}

// Expect checks dest before the build, with the embedded build's texts.
TEST_F(OutputReceiverTest, BadDestinations) {
  OutputReceiver r;
  EXPECT_EQ(r.Expect(0, ClientOutputKind::kFile, dir_ + "/nope/app.tar").message(),
            "create " + dir_ + "/nope/app.tar: No such file or directory");
  Write(dir_ + "/file", "x");
  EXPECT_EQ(r.Expect(0, ClientOutputKind::kDirectory, dir_ + "/file").message(),
            "mkdir " + dir_ + "/file: Not a directory");
  ASSERT_TRUE(base::MakeDirs(dir_ + "/full").ok());
  Write(dir_ + "/full/x", "x");
  EXPECT_EQ(r.Expect(0, ClientOutputKind::kOciLayout, dir_ + "/full").message(),
            dir_ +
                "/full exists and is not an OCI image layout (no oci-layout file); choose an "
                "empty or new directory");
}

TEST_F(OutputReceiverTest, AbandonRemovesWhatExpectCreated) {
  ASSERT_TRUE(base::MakeDirs(dir_ + "/kept").ok());
  {
    OutputReceiver r;
    ASSERT_TRUE(r.Expect(0, ClientOutputKind::kFile, dir_ + "/a.tar").ok());
    ASSERT_TRUE(r.Expect(1, ClientOutputKind::kDirectory, dir_ + "/new").ok());
    ASSERT_TRUE(r.Expect(2, ClientOutputKind::kDirectory, dir_ + "/kept").ok());
    EXPECT_TRUE(Exists(dir_ + "/new"));
    r.Abandon();
  }
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir_)) {
    names.push_back(e.path().filename().string());
  }
  EXPECT_EQ(names, std::vector<std::string>{"kept"});
}

// An OCI layout is merged into an existing one as the embedded build adds an image: blobs
// added, the entry with the same ref name replaced, others kept.
TEST_F(OutputReceiverTest, LayoutMergesIntoAnExistingLayout) {
  auto entry = [](const std::string& ref, char c) {
    image::IndexEntry e;
    e.ref_name = ref;
    e.media_type = "application/vnd.oci.image.manifest.v1+json";
    e.digest = "sha256:" + std::string(64, c);
    e.size = 10;
    e.annotations["org.opencontainers.image.ref.name"] = ref;
    return e;
  };
  const std::string dest = dir_ + "/layout";
  ASSERT_TRUE(base::MakeDirs(dest + "/blobs/sha256").ok());
  Write(dest + "/oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}");
  Write(dest + "/blobs/sha256/" + std::string(64, 'a'), "A");
  ASSERT_TRUE(image::WriteIndex(dest, {entry("old", 'a'), entry("latest", 'b')}).ok());

  const std::string fresh = dir_ + "/fresh";
  ASSERT_TRUE(base::MakeDirs(fresh + "/blobs/sha256").ok());
  Write(fresh + "/oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}");
  Write(fresh + "/blobs/sha256/" + std::string(64, 'c'), "C");
  ASSERT_TRUE(image::WriteIndex(fresh, {entry("latest", 'c')}).ok());
  std::string stream;
  ASSERT_TRUE(image::WriteDirectoryTar(fresh, [&](std::string_view b) {
                stream.append(b);
                return Status::OK();
              }).ok());

  OutputReceiver r;
  ASSERT_TRUE(r.Expect(0, ClientOutputKind::kOciLayout, dest).ok());
  Status st = r.Receive(0, Source(stream, 4096));
  ASSERT_TRUE(st.ok()) << st.message();
  auto index = image::ReadIndex(dest);
  ASSERT_TRUE(index.ok());
  ASSERT_EQ(index->size(), 2u);
  EXPECT_EQ((*index)[0].ref_name, "old");
  EXPECT_EQ((*index)[1].ref_name, "latest");
  EXPECT_EQ((*index)[1].digest, "sha256:" + std::string(64, 'c'));
  EXPECT_EQ(Read(dest + "/blobs/sha256/" + std::string(64, 'a')), "A");
  EXPECT_EQ(Read(dest + "/blobs/sha256/" + std::string(64, 'c')), "C");
  // No temporary directory is left beside it.
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir_)) {
    names.push_back(e.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"fresh", "layout"}));
}

}  // namespace
}  // namespace latchkey::cli
