// The hostile-input tests of the shared tar unpacker, run against both of its option sets:
// layer extraction and ADD. Every attack must stay inside the destination with either.
#include "builder/image/tar_unpack.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include <filesystem>

#include "base/unique_fd.h"
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

struct OptionSet {
  const char* name;
  UnpackOptions options;
  std::string error_prefix;  // before `entry "..."` in errors
  std::string missing_hardlink;
  bool is_layer;
};

void PrintTo(const OptionSet& o, std::ostream* os) { *os << o.name; }

std::vector<OptionSet> OptionSets() {
  return {
      {"Layer", LayerUnpackOptions(WhiteoutMode::kApply, ::geteuid() == 0), "",
       "is not in the layer", true},
      {"Add", AddUnpackOptions("ADD evil.tar"), "ADD evil.tar: ", "is not a file in the archive",
       false},
  };
}

class TarUnpackTest : public ::testing::TestWithParam<OptionSet> {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(root_);
    testing::WriteText(outside_ + "/secret", "host-secret");
  }
  Status Unpack(const std::vector<TarEntry>& entries) {
    WriteTar(tar_, entries);
    base::UniqueFd in(::open(tar_.c_str(), O_RDONLY | O_CLOEXEC));
    base::UniqueFd root(::open(root_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!in.valid() || !root.valid()) return InternalError("cannot open the sandbox");
    return UnpackArchive(in.get(), root.get(), GetParam().options);
  }
  std::string Error(const std::string& entry, const std::string& what) const {
    return GetParam().error_prefix + "entry \"" + entry + "\": " + what;
  }
  bool HostUntouched() {
    return ReadText(outside_ + "/secret") == "host-secret" &&
           std::filesystem::hard_link_count(outside_ + "/secret") == 1 &&
           std::distance(std::filesystem::directory_iterator(outside_),
                         std::filesystem::directory_iterator()) == 1 &&
           std::distance(std::filesystem::directory_iterator(d_.path()),
                         std::filesystem::directory_iterator()) == 3;
  }

  ScratchDir d_;
  std::string root_ = d_ / "root";
  std::string outside_ = d_ / "outside";
  std::string tar_ = d_ / "evil.tar";
};

TEST_P(TarUnpackTest, DotDotIsClampedToTheRoot) {
  Status s = Unpack({F("../../../escape", "x"), F("../outside/secret", "overwritten")});
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(ReadText(root_ + "/escape"), "x");
  EXPECT_EQ(ReadText(root_ + "/outside/secret"), "overwritten");
  EXPECT_TRUE(HostUntouched());
}

TEST_P(TarUnpackTest, AbsolutePathsLandInsideTheRoot) {
  Status s = Unpack({F(outside_ + "/secret", "overwritten")});
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(ReadText(root_ + outside_ + "/secret"), "overwritten");
  EXPECT_TRUE(HostUntouched());
}

TEST_P(TarUnpackTest, WritesThroughAbsoluteSymlinkStayInside) {
  // "link" points at the host directory; writing "link/secret" must not reach it.
  Status s = Unpack({L("link", outside_), F("link/secret", "overwritten")});
  EXPECT_TRUE(HostUntouched());
  if (s.ok()) {
    EXPECT_EQ(ReadText(root_ + outside_ + "/secret"), "overwritten");
  } else {
    EXPECT_EQ(s.code(), StatusCode::kNotFound) << s.ToString();
  }
}

TEST_P(TarUnpackTest, WritesThroughRelativeDotDotSymlinkStayInside) {
  Status s =
      Unpack({L("up", "../../../../.."), F("up/outside/secret", "overwritten"), F("up/p", "p")});
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(ReadText(root_ + "/outside/secret"), "overwritten");
  EXPECT_EQ(ReadText(root_ + "/p"), "p");
  EXPECT_TRUE(HostUntouched());
}

TEST_P(TarUnpackTest, SymlinkThenFileReplacesTheLinkNotItsTarget) {
  Status s = Unpack({L("s", outside_ + "/secret"), F("s", "replaced")});
  ASSERT_TRUE(s.ok()) << s.ToString();
  struct stat st;
  ASSERT_EQ(::lstat((root_ + "/s").c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(ReadText(root_ + "/s"), "replaced");
  EXPECT_TRUE(HostUntouched());
}

TEST_P(TarUnpackTest, HardlinkToOutsideIsRefused) {
  Status s = Unpack({H("h", "../outside/secret")});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            Error("h", "hardlink target \"../outside/secret\" " + GetParam().missing_hardlink));
  EXPECT_FALSE(Exists(root_ + "/h"));
  EXPECT_TRUE(HostUntouched());
}

TEST_P(TarUnpackTest, HardlinkThroughSymlinkToOutsideIsRefused) {
  Status s = Unpack({L("d", outside_), H("h", "d/secret")});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(), Error("h", "hardlink target \"d/secret\" " + GetParam().missing_hardlink));
  EXPECT_TRUE(HostUntouched());
}

TEST_P(TarUnpackTest, HardlinkToASymlinkLinksTheSymlinkItself) {
  Status s = Unpack({L("sl", outside_ + "/secret"), H("h", "sl"), F("h", "write-through?")});
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_TRUE(HostUntouched());
}

TEST_P(TarUnpackTest, HardlinkToADirectoryIsRefused) {
  Status s = Unpack({D("dir"), H("h", "dir")});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(), Error("h", "hardlink target \"dir\" is a directory"));
}

TEST_P(TarUnpackTest, HardlinkInsideTheArchiveWorks) {
  Status s = Unpack({F("a", "same"), H("b", "a")});
  ASSERT_TRUE(s.ok()) << s.ToString();
  struct stat a, b;
  ASSERT_EQ(::stat((root_ + "/a").c_str(), &a), 0);
  ASSERT_EQ(::stat((root_ + "/b").c_str(), &b), 0);
  EXPECT_EQ(a.st_ino, b.st_ino);
}

TEST_P(TarUnpackTest, WhiteoutNamesCannotReachOutside) {
  Status s = Unpack({F("../outside/.wh.secret"), F("../.wh.outside")});
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_TRUE(HostUntouched());
  (void)Unpack({L("x", outside_), F("x/.wh..wh..opq")});
  EXPECT_TRUE(HostUntouched());  // either outcome is fine as long as the host is untouched
}

TEST_P(TarUnpackTest, DirectoryReplacedByASymlinkLater) {
  Status s = Unpack({D("a", 0700), F("a/f", "x"), L("a", outside_)});
  ASSERT_TRUE(s.ok()) << s.ToString();
  struct stat st;
  ASSERT_EQ(::lstat((root_ + "/a").c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  EXPECT_TRUE(HostUntouched());
  struct stat host;
  ASSERT_EQ(::stat(outside_.c_str(), &host), 0);
  EXPECT_NE(host.st_mode & 07777, 0700u);
}

TEST_P(TarUnpackTest, DirectoryReplacedByAFileLater) {
  Status s = Unpack({D("a", 0700), F("a/f", "x"), F("a", "file")});
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(ReadText(root_ + "/a"), "file");
}

TEST_P(TarUnpackTest, TrustedXattrsAreNeverApplied) {
  TarEntry d = D("d");
  d.xattrs = {{"trusted.overlay.opaque", "y"}, {"user.ok", "1"}};
  Status s = Unpack({d});
  ASSERT_TRUE(s.ok()) << s.ToString();
  char v[8];
  EXPECT_LT(::getxattr((root_ + "/d").c_str(), "trusted.overlay.opaque", v, sizeof v), 0);
  // user.* only with the layer option set (ADD does not apply xattrs).
  EXPECT_EQ(::getxattr((root_ + "/d").c_str(), "user.ok", v, sizeof v) == 1, GetParam().is_layer);
}

TEST_P(TarUnpackTest, ModesAndDirectoryMtimesAreApplied) {
  Status s = Unpack({D("ro", 0555), F("ro/f", "x", 04711)});
  ASSERT_TRUE(s.ok()) << s.ToString();
  struct stat st;
  ASSERT_EQ(::stat((root_ + "/ro").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0555u);
  EXPECT_EQ(st.st_mtim.tv_sec, 1000000000);
  ASSERT_EQ(::stat((root_ + "/ro/f").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 04711u);
}

TEST_P(TarUnpackTest, EntryNamingTheRoot) {
  Status s = Unpack({F("a/..", "x")});
  if (GetParam().is_layer) {
    EXPECT_EQ(s.message(), Error("a/..", "would replace the root directory"));
  } else {
    EXPECT_TRUE(s.ok()) << s.ToString();  // ADD leaves the destination as it is
  }
  EXPECT_TRUE(HostUntouched());
}

TEST_P(TarUnpackTest, WhiteoutsApplyOnlyToLayers) {
  Status s = Unpack({F("x", "1"), F(".wh.x")});
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(Exists(root_ + "/x"), !GetParam().is_layer);
  EXPECT_EQ(Exists(root_ + "/.wh.x"), !GetParam().is_layer);
}

TEST_P(TarUnpackTest, SymlinkWithoutATargetIsAnError) {
  Status s = Unpack({L("l", "")});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(), Error("l", "symlink without a target"));
}

INSTANTIATE_TEST_SUITE_P(BothOptionSets, TarUnpackTest, ::testing::ValuesIn(OptionSets()),
                         [](const ::testing::TestParamInfo<OptionSet>& p) {
                           return std::string(p.param.name);
                         });

TEST(UnpackArchive, GarbageIsDataLoss) {
  ScratchDir d;
  std::string path = d / "garbage";
  testing::WriteText(path, "this is not a tar archive at all");
  base::UniqueFd in(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  base::UniqueFd root(::open(d.path().c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  EXPECT_FALSE(IsTarArchive(in.get()));
  Status s = UnpackArchive(in.get(), root.get(), AddUnpackOptions("ADD g"));
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
}

// Cancellation (issue 10), for both option sets: a cancelled unpack returns the check's status
// unchanged and creates no entry after the poll that cancelled it.
TEST_P(TarUnpackTest, CancelledUnpackStopsAtTheEntry) {
  UnpackOptions options = GetParam().options;
  testing::CancelAfter cancel(4);  // the archive, entry "a" and its two data reads pass; "b" stops
  options.cancel = cancel.Check();
  WriteTar(tar_, {F("a", "a"), F("b", "b"), F("c", "c")});
  base::UniqueFd in(::open(tar_.c_str(), O_RDONLY | O_CLOEXEC));
  base::UniqueFd root(::open(root_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  ASSERT_TRUE(in.valid() && root.valid());
  EXPECT_EQ(UnpackArchive(in.get(), root.get(), options).ToString(), "CANCELLED: build cancelled");
  EXPECT_EQ(testing::ListTree(root_), std::vector<std::string>{"a"});

  testing::CancelAfter before(0);
  options.cancel = before.Check();
  EXPECT_EQ(UnpackArchive(in.get(), root.get(), options).ToString(), "CANCELLED: build cancelled");
  EXPECT_EQ(before.polls(), 1);
}

}  // namespace
}  // namespace latchkey::image
