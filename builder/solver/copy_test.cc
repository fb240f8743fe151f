#include "builder/solver/copy.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/testutil.h"

namespace latchkey::build {
namespace {

using base::testing::Exists;
using base::testing::ReadText;
using base::testing::WriteText;

namespace fs = std::filesystem;

// A tar entry for MakeTar.
struct TarItem {
  std::string name;
  char type = 'f';   // 'f' file, 'd' dir, 'l' symlink, 'h' hardlink
  std::string data;  // file content, or link target
  int mode = 0644;
};

class CopyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(::geteuid(), 0u) << "the copy tests run as root (ownership is asserted)";
    std::string tmpl = "/tmp/lk-copy-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    base_ = tmpl;
    ctx_ = base_ + "/ctx";
    root_ = base_ + "/root";
    fs::create_directories(ctx_);
    fs::create_directories(root_);
  }
  void TearDown() override { fs::remove_all(base_); }

  static struct stat Lstat(const std::string& path) {
    struct stat st = {};
    EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
    return st;
  }
  static void SetMtime(const std::string& path, time_t t) {
    struct timespec ts[2] = {{t, 0}, {t, 0}};
    ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), ts, AT_SYMLINK_NOFOLLOW), 0);
  }

  CopySourceRoot Context() const {
    CopySourceRoot s;
    s.dir = ctx_;
    s.ignore = &ignore_;
    return s;
  }
  Status Copy(std::vector<std::string> sources, std::string dest, CopyInstruction ins = {}) {
    ins.sources = std::move(sources);
    ins.dest = std::move(dest);
    return ExecuteCopy(Context(), ins, root_);
  }
  void Ignore(const std::string& text) {
    auto m = IgnoreMatcher::Parse(text);
    ASSERT_TRUE(m.ok());
    ignore_ = *m;
  }
  Result<std::string> Digest(std::vector<std::string> sources, std::string dest = "/d/",
                             const std::string& dir = "") {
    CopyInstruction ins;
    ins.sources = std::move(sources);
    ins.dest = std::move(dest);
    CopySourceRoot s = Context();
    if (!dir.empty()) s.dir = dir;
    return CopySourceDigest(s, ins);
  }

  // Writes a tar (optionally compressed: "gzip", "bzip2", "xz") at `path`.
  static void MakeTar(const std::string& path, const std::vector<TarItem>& items,
                      const std::string& filter = "") {
    struct archive* a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    if (filter == "gzip") archive_write_add_filter_gzip(a);
    if (filter == "bzip2") archive_write_add_filter_bzip2(a);
    if (filter == "xz") archive_write_add_filter_xz(a);
    ASSERT_EQ(archive_write_open_filename(a, path.c_str()), ARCHIVE_OK);
    for (const auto& it : items) {
      struct archive_entry* e = archive_entry_new();
      archive_entry_set_pathname(e, it.name.c_str());
      archive_entry_set_perm(e, static_cast<mode_t>(it.mode));
      archive_entry_set_uid(e, 1234);
      archive_entry_set_gid(e, 5678);
      archive_entry_set_mtime(e, 1000000, 0);
      if (it.type == 'f') {
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_size(e, static_cast<la_int64_t>(it.data.size()));
      } else if (it.type == 'd') {
        archive_entry_set_filetype(e, AE_IFDIR);
      } else if (it.type == 'l') {
        archive_entry_set_filetype(e, AE_IFLNK);
        archive_entry_set_symlink(e, it.data.c_str());
      } else {
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_hardlink(e, it.data.c_str());
      }
      ASSERT_EQ(archive_write_header(a, e), ARCHIVE_OK) << archive_error_string(a);
      if (it.type == 'f' && !it.data.empty()) {
        archive_write_data(a, it.data.data(), it.data.size());
      }
      archive_entry_free(e);
    }
    archive_write_close(a);
    archive_write_free(a);
  }

  std::string base_, ctx_, root_;
  IgnoreMatcher ignore_;
};

// ---- destination rules ----

TEST_F(CopyTest, FileToAFileDestinationTakesTheDestName) {
  WriteText(ctx_ + "/a.txt", "hello", 0640);
  ::chown((ctx_ + "/a.txt").c_str(), 1000, 1000);
  SetMtime(ctx_ + "/a.txt", 123456);
  ASSERT_TRUE(Copy({"a.txt"}, "/x/y").ok());
  EXPECT_EQ(ReadText(root_ + "/x/y"), "hello");
  struct stat st = Lstat(root_ + "/x/y");
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  EXPECT_EQ(st.st_uid, 0u);  // context files become root's
  EXPECT_EQ(st.st_gid, 0u);
  EXPECT_EQ(st.st_mtim.tv_sec, 123456);
  struct stat parent = Lstat(root_ + "/x");
  EXPECT_EQ(parent.st_mode & 07777, 0755u);
}

TEST_F(CopyTest, FileIntoSlashDestLandsAtBasename) {
  WriteText(ctx_ + "/sub/a.txt", "A");
  ASSERT_TRUE(Copy({"sub/a.txt"}, "/d/").ok());
  EXPECT_EQ(ReadText(root_ + "/d/a.txt"), "A");
}

TEST_F(CopyTest, FileIntoExistingDirLandsAtBasename) {
  WriteText(ctx_ + "/a.txt", "A");
  fs::create_directories(root_ + "/opt");
  ASSERT_TRUE(Copy({"a.txt"}, "/opt").ok());
  EXPECT_EQ(ReadText(root_ + "/opt/a.txt"), "A");
}

TEST_F(CopyTest, RelativeDestIsRelativeToWorkdir) {
  WriteText(ctx_ + "/a.txt", "A");
  CopyInstruction ins;
  ins.workdir = "/app/src";
  ASSERT_TRUE(Copy({"a.txt"}, ".", ins).ok());
  EXPECT_EQ(ReadText(root_ + "/app/src/a.txt"), "A");
  ASSERT_TRUE(Copy({"a.txt"}, "b.txt", ins).ok());
  EXPECT_EQ(ReadText(root_ + "/app/src/b.txt"), "A");
}

TEST_F(CopyTest, ExistingFileIsReplaced) {
  WriteText(ctx_ + "/a.txt", "new");
  WriteText(root_ + "/etc/conf", "old");
  ASSERT_TRUE(Copy({"a.txt"}, "/etc/conf").ok());
  EXPECT_EQ(ReadText(root_ + "/etc/conf"), "new");
}

TEST_F(CopyTest, DirectorySourceCopiesItsContents) {
  WriteText(ctx_ + "/src/f.txt", "F", 0600);
  WriteText(ctx_ + "/src/sub/g.txt", "G");
  fs::create_directory_symlink("sub", ctx_ + "/src/link");
  ::chmod((ctx_ + "/src/sub").c_str(), 0700);
  SetMtime(ctx_ + "/src/sub", 777);
  ASSERT_TRUE(Copy({"src"}, "/app").ok());
  EXPECT_EQ(ReadText(root_ + "/app/f.txt"), "F");
  EXPECT_EQ(ReadText(root_ + "/app/sub/g.txt"), "G");
  EXPECT_FALSE(Exists(root_ + "/app/src"));
  EXPECT_EQ(Lstat(root_ + "/app/f.txt").st_mode & 07777, 0600u);
  struct stat sub = Lstat(root_ + "/app/sub");
  EXPECT_EQ(sub.st_mode & 07777, 0700u);
  EXPECT_EQ(sub.st_mtim.tv_sec, 777);  // directory mtimes survive their children's creation
  ASSERT_TRUE(S_ISLNK(Lstat(root_ + "/app/link").st_mode));
  EXPECT_EQ(fs::read_symlink(root_ + "/app/link"), "sub");
}

TEST_F(CopyTest, DirectoryMergesIntoExistingDirectory) {
  WriteText(ctx_ + "/src/new.txt", "N");
  WriteText(root_ + "/app/old.txt", "O");
  ::chmod((root_ + "/app").c_str(), 0711);
  ASSERT_TRUE(Copy({"src/"}, "/app/").ok());
  EXPECT_EQ(ReadText(root_ + "/app/new.txt"), "N");
  EXPECT_EQ(ReadText(root_ + "/app/old.txt"), "O");
  EXPECT_EQ(Lstat(root_ + "/app").st_mode & 07777, 0711u);  // an existing dest is left alone
}

TEST_F(CopyTest, DirectoryOntoAFileIsAnErrorAndKeepsTheFile) {
  WriteText(ctx_ + "/src/f", "F");
  WriteText(root_ + "/app", "existing file");
  Status s = Copy({"src"}, "/app");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "COPY src: cannot copy a directory to non-directory /app");
  EXPECT_EQ(ReadText(root_ + "/app"), "existing file");
  WriteText(root_ + "/d/f/x", "dir content");
  WriteText(ctx_ + "/f", "file");
  EXPECT_EQ(Copy({"f"}, "/d/").message(),
            "COPY f: cannot overwrite directory /d/f with a non-directory");
  EXPECT_EQ(ReadText(root_ + "/d/f/x"), "dir content");
}

TEST_F(CopyTest, TopLevelSymlinkIsFollowedAndKeepsItsName) {
  WriteText(ctx_ + "/real.txt", "R");
  fs::create_symlink("real.txt", ctx_ + "/link.txt");
  ASSERT_TRUE(Copy({"link.txt"}, "/d/").ok());
  EXPECT_TRUE(S_ISREG(Lstat(root_ + "/d/link.txt").st_mode));
  EXPECT_EQ(ReadText(root_ + "/d/link.txt"), "R");
}

TEST_F(CopyTest, HardLinksInsideASourceStayLinked) {
  WriteText(ctx_ + "/src/a", "same");
  ASSERT_EQ(::link((ctx_ + "/src/a").c_str(), (ctx_ + "/src/b").c_str()), 0);
  ASSERT_TRUE(Copy({"src"}, "/out").ok());
  EXPECT_EQ(Lstat(root_ + "/out/a").st_ino, Lstat(root_ + "/out/b").st_ino);
}

TEST_F(CopyTest, HeredocSourceBecomesAFile) {
  CopyInstruction ins;
  ins.inline_sources.push_back({"script.sh", "echo hi\n", true});
  ASSERT_TRUE(Copy({}, "/usr/local/bin/", ins).ok());
  EXPECT_EQ(ReadText(root_ + "/usr/local/bin/script.sh"), "echo hi\n");
  EXPECT_EQ(Lstat(root_ + "/usr/local/bin/script.sh").st_mode & 07777, 0644u);
  ins.chmod = "755";
  ASSERT_TRUE(Copy({}, "/run.sh", ins).ok());
  EXPECT_EQ(Lstat(root_ + "/run.sh").st_mode & 07777, 0755u);
}

// ---- several sources ----

TEST_F(CopyTest, SeveralSourcesNeedADirectoryDestination) {
  WriteText(ctx_ + "/a", "A");
  WriteText(ctx_ + "/b", "B");
  Status s = Copy({"a", "b"}, "/dest");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "When using COPY with more than one source file, the destination must be a "
            "directory and end with a /");
  EXPECT_FALSE(Exists(root_ + "/dest"));
  ASSERT_TRUE(Copy({"a", "b"}, "/dest/").ok());
  EXPECT_EQ(ReadText(root_ + "/dest/a"), "A");
  EXPECT_EQ(ReadText(root_ + "/dest/b"), "B");
}

TEST_F(CopyTest, WildcardMatchingSeveralNeedsADirectory) {
  WriteText(ctx_ + "/app.jar", "1");
  WriteText(ctx_ + "/app-plain.jar", "2");
  CopyInstruction ins;
  ins.add = true;
  Status s = Copy({"*.jar"}, "/app.jar", ins);
  EXPECT_EQ(s.message(),
            "When using ADD with more than one source file, the destination must be a "
            "directory and end with a /");
  ASSERT_TRUE(Copy({"*.jar"}, "/jars/").ok());
  EXPECT_EQ(ReadText(root_ + "/jars/app.jar"), "1");
  EXPECT_EQ(ReadText(root_ + "/jars/app-plain.jar"), "2");
}

TEST_F(CopyTest, WildcardMatchingOneFileBehavesLikeThatFile) {
  WriteText(ctx_ + "/target/app-1.0.jar", "jar");
  WriteText(ctx_ + "/target/notes.txt", "n");
  ASSERT_TRUE(Copy({"target/*.jar"}, "/app.jar").ok());
  EXPECT_EQ(ReadText(root_ + "/app.jar"), "jar");
}

TEST_F(CopyTest, WildcardsMatchPerComponent) {
  WriteText(ctx_ + "/pkg/a/go.mod", "a");
  WriteText(ctx_ + "/pkg/b/go.mod", "b");
  WriteText(ctx_ + "/pkg/c/other", "c");
  ASSERT_TRUE(Copy({"pkg/[ab]/go.mo?"}, "/m/").ok());
  EXPECT_EQ(ReadText(root_ + "/m/go.mod"), "b");  // sorted: a then b; the last one wins
  EXPECT_FALSE(Exists(root_ + "/m/other"));
}

TEST_F(CopyTest, WildcardWithNoMatchIsAnError) {
  WriteText(ctx_ + "/a.txt", "A");
  Status s = Copy({"*.go"}, "/d/");
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_EQ(s.message(), "\"*.go\": no source files were specified");
}

// ---- missing and ignored sources ----

TEST_F(CopyTest, MissingSourceIsNotFound) {
  Status s = Copy({"nope.txt"}, "/d/");
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_EQ(s.message(), "\"nope.txt\": not found in build context");
  WriteText(ctx_ + "/file", "x");
  EXPECT_EQ(Copy({"file/below"}, "/d/").message(), "\"file/below\": not found in build context");
}

TEST_F(CopyTest, NonContextSourceNamesItsOrigin) {
  CopySourceRoot s;
  s.dir = ctx_;
  s.is_context = false;
  s.display = "stage \"build\"";
  CopyInstruction ins;
  ins.sources = {"/out/app"};
  ins.dest = "/app";
  Status st = ExecuteCopy(s, ins, root_);
  EXPECT_EQ(st.message(), "\"/out/app\": not found in stage \"build\"");
}

TEST_F(CopyTest, IgnoredSourceSaysSo) {
  WriteText(ctx_ + "/secret.env", "TOKEN");
  Ignore("*.env\n");
  Status s = Copy({"secret.env"}, "/d/");
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_EQ(s.message(), "\"secret.env\": excluded by .dockerignore in build context");
  EXPECT_FALSE(Exists(root_ + "/d/secret.env"));
  EXPECT_EQ(Copy({"*.env"}, "/d/").message(), "\"*.env\": no source files were specified");
}

TEST_F(CopyTest, IgnoredFilesAreInvisibleInDirectoryCopies) {
  WriteText(ctx_ + "/main.c", "c");
  WriteText(ctx_ + "/.git/config", "g");
  WriteText(ctx_ + "/docs/a.md", "a");
  WriteText(ctx_ + "/docs/keep.md", "k");
  WriteText(ctx_ + "/notes/x.md", "x");
  Ignore(".git\ndocs\n!docs/keep.md\nnotes\n");
  ASSERT_TRUE(Copy({"."}, "/src").ok());
  EXPECT_TRUE(Exists(root_ + "/src/main.c"));
  EXPECT_FALSE(Exists(root_ + "/src/.git"));
  EXPECT_FALSE(Exists(root_ + "/src/docs/a.md"));
  EXPECT_EQ(ReadText(root_ + "/src/docs/keep.md"), "k");
  EXPECT_FALSE(Exists(root_ + "/src/notes"));
  // An excluded dir re-included by an exception is a valid source itself.
  ASSERT_TRUE(Copy({"docs"}, "/docs").ok());
  EXPECT_TRUE(Exists(root_ + "/docs/keep.md"));
  EXPECT_FALSE(Exists(root_ + "/docs/a.md"));
  EXPECT_EQ(Copy({"notes"}, "/n").message(),
            "\"notes\": excluded by .dockerignore in build context");
}

TEST_F(CopyTest, ExcludeFlagSkipsMatchingEntries) {
  WriteText(ctx_ + "/src/a.go", "a");
  WriteText(ctx_ + "/src/a_test.go", "t");
  WriteText(ctx_ + "/src/sub/b_test.go", "t");
  CopyInstruction ins;
  ins.excludes = {"**/*_test.go"};
  ASSERT_TRUE(Copy({"src"}, "/app", ins).ok());
  EXPECT_TRUE(Exists(root_ + "/app/a.go"));
  EXPECT_FALSE(Exists(root_ + "/app/a_test.go"));
  EXPECT_FALSE(Exists(root_ + "/app/sub/b_test.go"));
}

TEST_F(CopyTest, BadExcludePatternIsAnError) {
  WriteText(ctx_ + "/src/a", "a");
  CopyInstruction ins;
  ins.excludes = {"*.tmp", "[bad"};
  Status s = Copy({"src"}, "/app", ins);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "invalid --exclude pattern \"[bad\": syntax error in pattern");
  ins.excludes = {"!"};
  EXPECT_EQ(Copy({"src"}, "/app", ins).message(),
            "invalid --exclude pattern \"!\": \"!\" must be followed by a pattern");
  EXPECT_FALSE(Exists(root_ + "/app"));
}

// ---- ownership and modes ----

TEST_F(CopyTest, ChownByNameUsesTheDestinationPasswd) {
  WriteText(root_ + "/etc/passwd",
            "root:x:0:0::/root:/bin/sh\napp:x:1001:1002::/home/app:/bin/sh\n");
  WriteText(root_ + "/etc/group", "root:x:0:\nstaff:x:50:\n");
  WriteText(ctx_ + "/src/f", "f");
  CopyInstruction ins;
  ins.chown = "app";
  ASSERT_TRUE(Copy({"src"}, "/new/dir", ins).ok());
  for (const char* p : {"/new", "/new/dir", "/new/dir/f"}) {
    struct stat st = Lstat(root_ + p);
    EXPECT_EQ(st.st_uid, 1001u) << p;
    EXPECT_EQ(st.st_gid, 1002u) << p;
  }
  ins.chown = "app:staff";
  ASSERT_TRUE(Copy({"src/f"}, "/g", ins).ok());
  EXPECT_EQ(Lstat(root_ + "/g").st_uid, 1001u);
  EXPECT_EQ(Lstat(root_ + "/g").st_gid, 50u);
  ins.chown = "42";
  ASSERT_TRUE(Copy({"src/f"}, "/n", ins).ok());
  EXPECT_EQ(Lstat(root_ + "/n").st_uid, 42u);
  EXPECT_EQ(Lstat(root_ + "/n").st_gid, 42u);
  ins.chown = "42:7";
  ASSERT_TRUE(Copy({"src/f"}, "/m", ins).ok());
  EXPECT_EQ(Lstat(root_ + "/m").st_gid, 7u);
}

TEST_F(CopyTest, ChownUnknownUserOrGroupIsAnError) {
  WriteText(root_ + "/etc/passwd", "root:x:0:0::/root:/bin/sh\n");
  WriteText(ctx_ + "/f", "f");
  CopyInstruction ins;
  ins.chown = "nobody2";
  Status s = Copy({"f"}, "/f", ins);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "unable to convert uid/gid chown string to host mapping: can't find uid for user "
            "nobody2: no such user: nobody2");
  ins.chown = "root:wheel";
  EXPECT_EQ(Copy({"f"}, "/f", ins).message(),
            "unable to convert uid/gid chown string to host mapping: can't find gid for group "
            "wheel: no such group: wheel");
  EXPECT_FALSE(Exists(root_ + "/f"));
}

TEST_F(CopyTest, ChownIsNotLookedUpOnTheHost) {
  // "root" exists in the host's /etc/passwd, but the destination has no passwd file.
  WriteText(ctx_ + "/f", "f");
  CopyInstruction ins;
  ins.chown = "root";
  EXPECT_EQ(Copy({"f"}, "/f", ins).message(),
            "unable to convert uid/gid chown string to host mapping: can't find uid for user "
            "root: no such user: root");
}

TEST_F(CopyTest, ChmodAppliesToFilesAndDirectories) {
  WriteText(ctx_ + "/src/f", "f", 0600);
  fs::create_directories(ctx_ + "/src/d");
  CopyInstruction ins;
  ins.chmod = "0750";
  ASSERT_TRUE(Copy({"src"}, "/out", ins).ok());
  EXPECT_EQ(Lstat(root_ + "/out/f").st_mode & 07777, 0750u);
  EXPECT_EQ(Lstat(root_ + "/out/d").st_mode & 07777, 0750u);
}

TEST_F(CopyTest, BadChmodIsAnError) {
  WriteText(ctx_ + "/f", "f");
  for (const char* bad : {"abc", "888", "u+x", "77777"}) {
    CopyInstruction ins;
    ins.chmod = bad;
    Status s = Copy({"f"}, "/f", ins);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(s.message(), std::string("invalid chmod parameter: ") + bad);
  }
  EXPECT_FALSE(Exists(root_ + "/f"));
}

TEST_F(CopyTest, StageSourcesKeepTheirOwners) {
  WriteText(ctx_ + "/out/app", "bin", 0755);
  ASSERT_EQ(::chown((ctx_ + "/out/app").c_str(), 1000, 2000), 0);
  CopySourceRoot s;
  s.dir = ctx_;
  s.is_context = false;
  s.display = "stage \"build\"";
  CopyInstruction ins;
  ins.sources = {"/out/app"};
  ins.dest = "/usr/bin/";
  ASSERT_TRUE(ExecuteCopy(s, ins, root_).ok());
  EXPECT_EQ(Lstat(root_ + "/usr/bin/app").st_uid, 1000u);
  EXPECT_EQ(Lstat(root_ + "/usr/bin/app").st_gid, 2000u);
}

// ---- hostile inputs ----

TEST_F(CopyTest, DotDotSourceStaysInTheContext) {
  Status s = Copy({"../../etc/passwd"}, "/p");
  EXPECT_EQ(s.message(), "\"../../etc/passwd\": not found in build context");
  EXPECT_FALSE(Exists(root_ + "/p"));
  WriteText(ctx_ + "/etc/passwd", "context copy");
  ASSERT_TRUE(Copy({"../../etc/passwd"}, "/p").ok());
  EXPECT_EQ(ReadText(root_ + "/p"), "context copy");
  ASSERT_TRUE(Copy({"/etc/passwd"}, "/q").ok());
  EXPECT_EQ(ReadText(root_ + "/q"), "context copy");
}

TEST_F(CopyTest, ContextSymlinkToHostEtcIsResolvedInsideTheContext) {
  fs::create_directory_symlink("/etc", ctx_ + "/etc-link");
  fs::create_symlink("/etc/hostname", ctx_ + "/host-file");
  fs::create_symlink("../../../../../../etc/passwd", ctx_ + "/up");
  EXPECT_EQ(Copy({"etc-link"}, "/x").message(), "\"etc-link\": not found in build context");
  EXPECT_EQ(Copy({"etc-link/passwd"}, "/x").message(),
            "\"etc-link/passwd\": not found in build context");
  EXPECT_EQ(Copy({"host-file"}, "/x").message(), "\"host-file\": not found in build context");
  EXPECT_EQ(Copy({"up"}, "/x").message(), "\"up\": not found in build context");
  EXPECT_FALSE(Exists(root_ + "/x"));
  // With the target present inside the context, the link resolves there.
  WriteText(ctx_ + "/etc/passwd", "inside");
  ASSERT_TRUE(Copy({"up"}, "/x").ok());
  EXPECT_EQ(ReadText(root_ + "/x"), "inside");
  // Copying the whole context keeps the links as links and does not follow them.
  ASSERT_TRUE(Copy({"."}, "/all").ok());
  EXPECT_TRUE(S_ISLNK(Lstat(root_ + "/all/etc-link").st_mode));
  EXPECT_EQ(fs::read_symlink(root_ + "/all/etc-link"), "/etc");
}

TEST_F(CopyTest, DestinationSymlinksStayInsideTheRoot) {
  WriteText(ctx_ + "/a.txt", "payload");
  fs::create_directories(root_ + "/etc");
  fs::create_directory_symlink("/etc", root_ + "/dst");
  fs::create_directory_symlink("../../../../..", root_ + "/up");
  std::string host_probe = "/etc/lk-copy-test-probe-" + std::to_string(::getpid());
  ASSERT_TRUE(Copy({"a.txt"}, "/dst/" + host_probe.substr(5)).ok());
  EXPECT_FALSE(Exists(host_probe));
  EXPECT_EQ(ReadText(root_ + host_probe), "payload");
  ASSERT_TRUE(Copy({"a.txt"}, "/up/tmp/escaped.txt").ok());
  EXPECT_EQ(ReadText(root_ + "/tmp/escaped.txt"), "payload");
  EXPECT_FALSE(Exists(base_ + "/tmp/escaped.txt"));
  // A dest that is a symlink to a directory receives the file inside it (in the root).
  ASSERT_TRUE(Copy({"a.txt"}, "/dst").ok());
  EXPECT_EQ(ReadText(root_ + "/etc/a.txt"), "payload");
  // A directory copied through a symlinked dest lands inside the root too.
  WriteText(ctx_ + "/tree/x", "X");
  ASSERT_TRUE(Copy({"tree"}, "/up").ok());
  EXPECT_EQ(ReadText(root_ + "/x"), "X");
}

TEST_F(CopyTest, DestinationFileSymlinkIsReplacedNotFollowed) {
  WriteText(ctx_ + "/a.txt", "new");
  std::string outside = base_ + "/outside.txt";
  WriteText(outside, "keep");
  fs::create_symlink(outside, root_ + "/target");
  ASSERT_TRUE(Copy({"a.txt"}, "/target").ok());
  EXPECT_EQ(ReadText(outside), "keep");
  EXPECT_FALSE(S_ISLNK(Lstat(root_ + "/target").st_mode));
  EXPECT_EQ(ReadText(root_ + "/target"), "new");
}

// ---- ADD ----

TEST_F(CopyTest, AddUnpacksLocalArchivesOfEveryCompression) {
  for (std::string filter : {"", "gzip", "bzip2", "xz"}) {
    SCOPED_TRACE(filter);
    std::string name = "a" + filter + ".tar";
    MakeTar(ctx_ + "/" + name,
            {{"top/", 'd', "", 0750}, {"top/f.txt", 'f', "data", 0640}, {"top/l", 'l', "f.txt"}},
            filter);
    CopyInstruction ins;
    ins.add = true;
    ASSERT_TRUE(Copy({name}, "/x" + filter, ins).ok());
    std::string d = root_ + "/x" + filter;
    EXPECT_EQ(ReadText(d + "/top/f.txt"), "data");
    struct stat st = Lstat(d + "/top/f.txt");
    EXPECT_EQ(st.st_mode & 07777, 0640u);
    EXPECT_EQ(st.st_uid, 1234u);  // entry owners are kept, as Docker's ADD
    EXPECT_EQ(st.st_mtim.tv_sec, 1000000);
    EXPECT_EQ(Lstat(d + "/top").st_mode & 07777, 0750u);
    EXPECT_EQ(fs::read_symlink(d + "/top/l"), "f.txt");
  }
}

TEST_F(CopyTest, CopyDoesNotUnpackArchives) {
  MakeTar(ctx_ + "/a.tar", {{"f", 'f', "x"}});
  ASSERT_TRUE(Copy({"a.tar"}, "/a.tar").ok());
  EXPECT_TRUE(S_ISREG(Lstat(root_ + "/a.tar").st_mode));
}

TEST_F(CopyTest, AddCopiesNonArchivesLikeCopy) {
  WriteText(ctx_ + "/plain.tar.gz", "not really a tarball");
  CopyInstruction ins;
  ins.add = true;
  ASSERT_TRUE(Copy({"plain.tar.gz"}, "/p", ins).ok());
  EXPECT_EQ(ReadText(root_ + "/p"), "not really a tarball");
}

TEST_F(CopyTest, AddArchiveCannotEscapeTheDestination) {
  MakeTar(ctx_ + "/evil.tar", {{"../../evil", 'f', "e1"},
                               {"/abs-evil", 'f', "e2"},
                               {"esc", 'l', "/"},
                               {"esc/tmp/planted", 'f', "e3"},
                               {"up", 'l', "../../../.."},
                               {"up/planted2", 'f', "e4"},
                               {"hl", 'h', "../../../etc/passwd"}});
  fs::create_directories(root_ + "/tmp");
  CopyInstruction ins;
  ins.add = true;
  Status s = Copy({"evil.tar"}, "/unpack", ins);
  // The hardlink to a path outside the archive fails; everything before it stayed inside.
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "ADD evil.tar: entry \"hl\": hardlink target \"../../../etc/passwd\" "
            "is not a file in the archive");
  EXPECT_EQ(ReadText(root_ + "/unpack/evil"), "e1");
  EXPECT_EQ(ReadText(root_ + "/unpack/abs-evil"), "e2");
  EXPECT_EQ(ReadText(root_ + "/unpack/tmp/planted"), "e3");
  EXPECT_EQ(ReadText(root_ + "/unpack/planted2"), "e4");
  EXPECT_FALSE(Exists(root_ + "/evil"));
  EXPECT_FALSE(Exists(root_ + "/tmp/planted"));
  EXPECT_FALSE(Exists(base_ + "/evil"));
  EXPECT_FALSE(Exists("/evil"));
  EXPECT_FALSE(Exists("/abs-evil"));
  EXPECT_FALSE(Exists("/planted2"));
}

TEST_F(CopyTest, AddRefusesRemoteSources) {
  CopyInstruction ins;
  ins.add = true;
  for (const char* url : {"https://example.com/x.tar.gz", "http://h/x",
                          "git@github.com:moby/buildkit.git", "ssh://h/repo.git#v1"}) {
    Status s = Copy({url}, "/x", ins);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(s.message(), std::string("ADD ") + url +
                               ": remote sources are not supported yet (latchkey builds "
                               "offline); download it into the context and COPY it");
  }
  // COPY takes such a string as a path.
  EXPECT_EQ(Copy({"http://h/x"}, "/x").message(), "\"http://h/x\": not found in build context");
}

// ---- digest ----

TEST_F(CopyTest, DigestIsStableAndTracksContentAndNames) {
  WriteText(ctx_ + "/src/a", "1");
  WriteText(ctx_ + "/src/b/c", "2");
  auto d1 = Digest({"src"});
  auto d2 = Digest({"src"});
  ASSERT_TRUE(d1.ok()) << d1.status().ToString();
  EXPECT_EQ(d1->substr(0, 7), "sha256:");
  EXPECT_EQ(d1->size(), 71u);
  EXPECT_EQ(*d1, *d2);

  SetMtime(ctx_ + "/src/a", 42);
  SetMtime(ctx_ + "/src/b", 43);
  EXPECT_EQ(*Digest({"src"}), *d1);  // mtimes do not matter

  // The same tree created in another order elsewhere gives the same digest.
  std::string other = base_ + "/other";
  WriteText(other + "/src/b/c", "2");
  WriteText(other + "/src/a", "1");
  EXPECT_EQ(*Digest({"src"}, "/d/", other), *d1);

  WriteText(ctx_ + "/src/a", "changed");
  auto d3 = Digest({"src"});
  EXPECT_NE(*d3, *d1);
  WriteText(ctx_ + "/src/a", "1");
  EXPECT_EQ(*Digest({"src"}), *d1);
  fs::rename(ctx_ + "/src/a", ctx_ + "/src/a2");
  EXPECT_NE(*Digest({"src"}), *d1);
  fs::rename(ctx_ + "/src/a2", ctx_ + "/src/a");
  ::chmod((ctx_ + "/src/a").c_str(), 0755);
  EXPECT_NE(*Digest({"src"}), *d1);
  ::chmod((ctx_ + "/src/a").c_str(), 0644);
  EXPECT_EQ(*Digest({"src"}), *d1);
  EXPECT_NE(*Digest({"src"}, "/e/"), *d1);  // the instruction is part of it
}

TEST_F(CopyTest, DigestIgnoresDockerignoredFilesAndReportsMissingSources) {
  WriteText(ctx_ + "/src/a", "1");
  WriteText(ctx_ + "/src/secret", "s1");
  Ignore("src/secret\n");
  auto d1 = Digest({"src"});
  ASSERT_TRUE(d1.ok());
  WriteText(ctx_ + "/src/secret", "s2");
  EXPECT_EQ(*Digest({"src"}), *d1);
  EXPECT_EQ(Digest({"missing"}).status().message(), "\"missing\": not found in build context");
  EXPECT_EQ(Digest({"src/secret"}).status().message(),
            "\"src/secret\": excluded by .dockerignore in build context");
  EXPECT_EQ(Digest({"*.none"}).status().message(), "\"*.none\": no source files were specified");
}

TEST_F(CopyTest, DigestReadsNothingOutsideTheContext) {
  fs::create_directory_symlink("/etc", ctx_ + "/etc-link");
  EXPECT_EQ(Digest({"etc-link/passwd"}).status().message(),
            "\"etc-link/passwd\": not found in build context");
  // The link itself is hashed as a link (its target text), not followed.
  auto d1 = Digest({"."});
  ASSERT_TRUE(d1.ok());
  fs::remove(ctx_ + "/etc-link");
  fs::create_directory_symlink("/usr", ctx_ + "/etc-link");
  EXPECT_NE(*Digest({"."}), *d1);
}

TEST_F(CopyTest, DigestCoversOwnersOfStageSources) {
  WriteText(ctx_ + "/f", "x");
  CopySourceRoot s;
  s.dir = ctx_;
  s.is_context = false;
  CopyInstruction ins;
  ins.sources = {"f"};
  ins.dest = "/f";
  auto d1 = CopySourceDigest(s, ins);
  ASSERT_TRUE(d1.ok());
  ASSERT_EQ(::chown((ctx_ + "/f").c_str(), 5, 5), 0);
  EXPECT_NE(*CopySourceDigest(s, ins), *d1);
  // For the context, owners do not matter (everything becomes 0:0).
  auto c1 = Digest({"f"});
  ASSERT_EQ(::chown((ctx_ + "/f").c_str(), 6, 6), 0);
  EXPECT_EQ(*Digest({"f"}), *c1);
}

}  // namespace
}  // namespace latchkey::build
