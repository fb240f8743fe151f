// Helpers for the image tests only (header-only; not part of latchkey_image): scratch
// directories and file helpers (base/testutil.h), the one libarchive tar builder and lister for
// crafting (hostile) layers and reading written ones, and a fake cancellation source.
#ifndef LATCHKEY_BUILDER_IMAGE_TEST_UTIL_H_
#define LATCHKEY_BUILDER_IMAGE_TEST_UTIL_H_

#include <archive.h>
#include <archive_entry.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "base/cancel.h"
#include "base/testutil.h"
#include "latchkey/status.h"

namespace latchkey::image::testing {

using base::testing::Exists;
using base::testing::ReadText;
using base::testing::WriteText;

// A fresh directory under $TMPDIR (or /tmp), removed recursively on destruction; d / "x" is
// "<dir>/x".
class ScratchDir : public base::testing::TempDir {
 public:
  ScratchDir() : TempDir("lk-image-test-") {}
  std::string operator/(const std::string& rel) const { return Join(rel); }
};

// The paths below `dir` (relative, recursively, sorted); "" entries never appear. What a failed
// or cancelled write left behind.
inline std::vector<std::string> ListTree(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    out.push_back(std::filesystem::relative(it->path(), dir).string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// A fake cancellation source (base/cancel.h): its check lets `allowed` polls pass and returns
// the builder's CANCELLED "build cancelled" from the next one on. It counts the polls, so a test
// can count a whole run's polls first and then cancel at each of them in turn.
class CancelAfter {
 public:
  explicit CancelAfter(int allowed = std::numeric_limits<int>::max()) : allowed_(allowed) {}
  base::CancelCheck Check() {
    return [this]() -> Status {
      return ++polls_ > allowed_ ? CancelledError("build cancelled") : Status::OK();
    };
  }
  int polls() const { return polls_; }

 private:
  int allowed_;
  int polls_ = 0;
};

// One tar entry for TarBuilder.
struct TarEntry {
  std::string name;
  char type = 'f';     // 'f' file, 'd' dir, 'l' symlink, 'h' hardlink, 'c' char dev
  std::string data;    // file content
  std::string target;  // symlink or hardlink target
  int mode = 0644;
  std::map<std::string, std::string> xattrs;
  unsigned rdev_major = 0, rdev_minor = 0;
};

inline TarEntry F(std::string name, std::string data = "", int mode = 0644) {
  TarEntry e;
  e.name = std::move(name);
  e.data = std::move(data);
  e.mode = mode;
  return e;
}
inline TarEntry D(std::string name, int mode = 0755) {
  TarEntry e;
  e.name = std::move(name);
  e.type = 'd';
  e.mode = mode;
  return e;
}
// A link entry of `type` ('l' symlink, 'h' hardlink) named `name` pointing at `target`.
inline TarEntry Link(char type, std::string name, std::string target) {
  TarEntry e;
  e.name = std::move(name);
  e.type = type;
  e.target = std::move(target);
  return e;
}
inline TarEntry L(std::string name, std::string target) {
  return Link('l', std::move(name), std::move(target));
}
inline TarEntry H(std::string name, std::string target) {
  return Link('h', std::move(name), std::move(target));
}

// Writes `entries` as a pax tar (gzip-compressed when `gzip`) to `path`.
inline void WriteTar(const std::string& path, const std::vector<TarEntry>& entries,
                     bool gzip = false) {
  struct archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  if (gzip) archive_write_add_filter_gzip(a);
  archive_write_open_filename(a, path.c_str());
  for (const auto& t : entries) {
    struct archive_entry* e = archive_entry_new();
    archive_entry_copy_pathname(e, t.name.c_str());
    archive_entry_set_perm(e, t.mode);
    archive_entry_set_mtime(e, 1000000000, 0);
    switch (t.type) {
      case 'd':
        archive_entry_set_filetype(e, AE_IFDIR);
        break;
      case 'l':
        archive_entry_set_filetype(e, AE_IFLNK);
        archive_entry_copy_symlink(e, t.target.c_str());
        break;
      case 'h':
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_copy_hardlink(e, t.target.c_str());
        archive_entry_set_size(e, 0);
        break;
      case 'c':
        archive_entry_set_filetype(e, AE_IFCHR);
        archive_entry_set_rdevmajor(e, t.rdev_major);
        archive_entry_set_rdevminor(e, t.rdev_minor);
        break;
      default:
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_size(e, static_cast<la_int64_t>(t.data.size()));
    }
    for (const auto& [k, v] : t.xattrs) {
      archive_entry_xattr_add_entry(e, k.c_str(), v.data(), v.size());
    }
    archive_write_header(a, e);
    if (t.type == 'f' && !t.data.empty()) archive_write_data(a, t.data.data(), t.data.size());
    archive_entry_free(e);
  }
  archive_write_close(a);
  archive_write_free(a);
}

// What a tar (optionally gzip) contains, in order: "name type [-> target]" lines where type is
// f/d/l/h/c/p, plus the file contents keyed by name.
struct TarListing {
  std::vector<std::string> lines;
  std::map<std::string, std::string> data;
  std::map<std::string, std::map<std::string, std::string>> xattrs;
  std::map<std::string, unsigned> modes;
  std::map<std::string, long> mtimes;
};

inline TarListing ListTar(const std::string& path) {
  TarListing out;
  struct archive* a = archive_read_new();
  archive_read_support_filter_gzip(a);
  archive_read_support_format_tar(a);
  if (archive_read_open_filename(a, path.c_str(), 65536) != ARCHIVE_OK) {
    archive_read_free(a);
    return out;
  }
  struct archive_entry* e;
  while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
    std::string name = archive_entry_pathname(e);
    std::string line = name + " ";
    if (archive_entry_hardlink(e)) {
      line += std::string("h -> ") + archive_entry_hardlink(e);
    } else {
      switch (archive_entry_filetype(e)) {
        case AE_IFDIR:
          line += "d";
          break;
        case AE_IFLNK:
          line += std::string("l -> ") + archive_entry_symlink(e);
          break;
        case AE_IFCHR:
          line += "c";
          break;
        case AE_IFIFO:
          line += "p";
          break;
        default:
          line += "f";
      }
    }
    out.lines.push_back(line);
    out.modes[name] = archive_entry_perm(e);
    out.mtimes[name] = archive_entry_mtime(e);
    const char* xn;
    const void* xv;
    size_t xs;
    archive_entry_xattr_reset(e);
    while (archive_entry_xattr_next(e, &xn, &xv, &xs) == ARCHIVE_OK) {
      out.xattrs[name][xn] = std::string(static_cast<const char*>(xv), xs);
    }
    std::string data;
    char buf[4096];
    la_ssize_t n;
    while ((n = archive_read_data(a, buf, sizeof buf)) > 0) data.append(buf, n);
    if (!data.empty()) out.data[name] = data;
  }
  archive_read_free(a);
  return out;
}

}  // namespace latchkey::image::testing

#endif  // LATCHKEY_BUILDER_IMAGE_TEST_UTIL_H_
