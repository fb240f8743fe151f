// Helpers for the image tests only (header-only; not part of latchkey_image): scratch
// directories, small file writers, and a libarchive tar builder for crafting (hostile) layers.
#ifndef LATCHKEY_BUILDER_IMAGE_TEST_UTIL_H_
#define LATCHKEY_BUILDER_IMAGE_TEST_UTIL_H_

#include <archive.h>
#include <archive_entry.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace latchkey::image::testing {

// A fresh directory under $TMPDIR (or /tmp), removed recursively on destruction.
class ScratchDir {
 public:
  ScratchDir() {
    const char* t = std::getenv("TMPDIR");
    std::string tmpl = std::string(t && *t ? t : "/tmp") + "/lk-image-test-XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
    path_ = tmpl;
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& rel) const { return path_ + "/" + rel; }

 private:
  std::string path_;
};

inline void WriteText(const std::string& path, const std::string& text, mode_t mode = 0644) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
  ::chmod(path.c_str(), mode);
}

inline std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline bool Exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

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
inline TarEntry L(std::string name, std::string target) {
  TarEntry e;
  e.name = std::move(name);
  e.type = 'l';
  e.target = std::move(target);
  return e;
}
inline TarEntry H(std::string name, std::string target) {
  TarEntry e;
  e.name = std::move(name);
  e.type = 'h';
  e.target = std::move(target);
  return e;
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
