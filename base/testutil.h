// Test-only helpers shared by every component's tests (LevelDB's util/testutil.h): a scratch
// directory and whole-file reads and writes that need no error handling. Header-only, so that it
// is not compiled into any library; it aborts where a test could not go on.
//
// Thread-safety: a TempDir is a value owned by one test; the functions have no shared state.
#ifndef LATCHKEY_BASE_TESTUTIL_H_
#define LATCHKEY_BASE_TESTUTIL_H_

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

namespace latchkey::base::testing {

// A fresh directory "<$TMPDIR or /tmp>/<prefix>XXXXXX", removed with everything in it on
// destruction.
class TempDir {
 public:
  explicit TempDir(std::string_view prefix = "lk-test-") {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / (std::string(prefix) + "XXXXXX")).string();
    if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // "<path>/<name>".
  std::string Join(std::string_view name) const { return path_ + "/" + std::string(name); }

 private:
  std::string path_;
};

// The bytes of the file at `path`; "" when it cannot be read.
inline std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Replaces the file at `path` with `text` (creating missing parent directories) and sets its
// permission bits to `mode`.
inline void WriteText(const std::string& path, std::string_view text, mode_t mode = 0644) {
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
  ::chmod(path.c_str(), mode);
}

// True when something (a dangling symlink included) is at `path`.
inline bool Exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

}  // namespace latchkey::base::testing

#endif  // LATCHKEY_BASE_TESTUTIL_H_
