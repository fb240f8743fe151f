#include "cli/context_tar.h"

#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "base/testutil.h"

namespace latchkey::cli {
namespace {

using base::testing::TempDir;
using base::testing::WriteText;

// "name type uid:gid [-> target | =data]" per entry, in tar order.
std::vector<std::string> List(const std::string& tar) {
  std::vector<std::string> out;
  struct archive* a = archive_read_new();
  archive_read_support_format_tar(a);
  EXPECT_EQ(archive_read_open_memory(a, tar.data(), tar.size()), ARCHIVE_OK);
  archive_entry* e;
  while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
    std::string line = archive_entry_pathname(e);
    mode_t type = archive_entry_filetype(e);
    line += type == AE_IFDIR ? " dir" : type == AE_IFLNK ? " link" : " file";
    line += " " + std::to_string(archive_entry_uid(e)) + ":" + std::to_string(archive_entry_gid(e));
    if (type == AE_IFLNK) line += std::string(" -> ") + archive_entry_symlink(e);
    if (type == AE_IFREG) {
      std::string data(static_cast<size_t>(archive_entry_size(e)), '\0');
      archive_read_data(a, data.data(), data.size());
      line += " =" + data;
    }
    out.push_back(line);
  }
  archive_read_free(a);
  return out;
}

Result<std::string> Tar(const std::string& dir, const std::string& ignore_text) {
  auto ignore = build::IgnoreMatcher::Parse(ignore_text);
  if (!ignore.ok()) return ignore.status();
  std::string tar;
  LK_RETURN_IF_ERROR(WriteContextTar(dir, *ignore, [&](std::string_view b) {
    tar.append(b);
    return Status::OK();
  }));
  return tar;
}

TEST(ContextTar, SortedOwnedByRootWithDockerignoreApplied) {
  TempDir d;
  WriteText(d.path() + "/Dockerfile", "FROM x\n");
  WriteText(d.path() + "/b.txt", "bee");
  WriteText(d.path() + "/a.txt", "ay");
  WriteText(d.path() + "/debug.log", "noise");
  std::filesystem::create_directories(d.path() + "/node_modules/keep");
  WriteText(d.path() + "/node_modules/x.js", "x");
  WriteText(d.path() + "/node_modules/keep/k.js", "k");
  ASSERT_EQ(::symlink("a.txt", (d.path() + "/link").c_str()), 0);
  ASSERT_EQ(::mkfifo((d.path() + "/fifo").c_str(), 0600), 0);
  ASSERT_EQ(::chown((d.path() + "/b.txt").c_str(), 1000, 1000), 0);
  auto tar = Tar(d.path(), "*.log\nnode_modules\n!node_modules/keep\n");
  ASSERT_TRUE(tar.ok()) << tar.status().message();
  EXPECT_EQ(List(*tar), (std::vector<std::string>{
                            "Dockerfile file 0:0 =FROM x\n", "a.txt file 0:0 =ay",
                            "b.txt file 0:0 =bee", "link link 0:0 -> a.txt",
                            "node_modules/keep/ dir 0:0", "node_modules/keep/k.js file 0:0 =k"}));
}

TEST(ContextTar, AnUnreadableDirectoryNamesThePath) {
  TempDir d;
  auto tar = Tar(d.path() + "/nosuch", "");
  EXPECT_EQ(tar.status(), UnavailableError("build context " + d.path() +
                                           "/nosuch: .: No such file or directory"));
}

TEST(ContextTar, TheSinksErrorStopsTheStream) {
  TempDir d;
  WriteText(d.path() + "/big", std::string(300000, 'z'));
  int calls = 0;
  Status st = WriteContextTar(d.path(), build::IgnoreMatcher(), [&](std::string_view) {
    ++calls;
    return UnavailableError("Docker Engine at unix:///x: write: Broken pipe");
  });
  EXPECT_EQ(st, UnavailableError("Docker Engine at unix:///x: write: Broken pipe"));
  EXPECT_EQ(calls, 1);
}

}  // namespace
}  // namespace latchkey::cli
