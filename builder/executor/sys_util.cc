#include "builder/executor/sys_util.h"

#include <dirent.h>
#include <fcntl.h>
#include <sodium.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace latchkey::executor {

std::string RandomHex(size_t bytes) {
  std::vector<unsigned char> raw(bytes);
  size_t got = 0;
  while (got < bytes) {
    ssize_t n = getrandom(raw.data() + got, bytes - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      std::abort();  // the kernel's random source is not optional
    }
    got += static_cast<size_t>(n);
  }
  static const char* kHex = "0123456789abcdef";
  std::string out;
  out.reserve(bytes * 2);
  for (unsigned char c : raw) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

std::string Sha256Hex(std::string_view data) {
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(data.data()), data.size());
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned char c : digest) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

Status MountFs(const std::string& fstype, const std::string& source, const std::string& target,
               unsigned long flags, const std::string& data) {
  if (::mount(source.c_str(), target.c_str(), fstype.c_str(), flags,
              data.empty() ? nullptr : data.c_str()) != 0) {
    return ErrnoStatus("mount " + fstype + " on", target, errno);
  }
  return Status::OK();
}

Status Unmount(const std::string& target) {
  if (::umount2(target.c_str(), 0) == 0) return Status::OK();
  if (errno == EBUSY && ::umount2(target.c_str(), MNT_DETACH) == 0) return Status::OK();
  return ErrnoStatus("unmount", target, errno);
}

Status WriteNewFile(const std::string& path, std::string_view data, mode_t mode) {
  base::UniqueFd fd(
      ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode));
  if (!fd.valid()) return ErrnoStatus("create", path, errno);
  return WriteAll(fd.get(), data.data(), data.size(), path);
}

namespace {

void WipeAt(int dir_fd) {
  DIR* d = ::fdopendir(::dup(dir_fd));
  if (d == nullptr) return;
  std::vector<std::pair<std::string, unsigned char>> entries;
  while (struct dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n == "." || n == "..") continue;
    entries.emplace_back(n, e->d_type);
  }
  ::closedir(d);
  static const char kZeros[4096] = {};
  for (const auto& [name, type] : entries) {
    struct stat st;
    if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    if (S_ISDIR(st.st_mode)) {
      base::UniqueFd sub(
          ::openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (sub.valid()) WipeAt(sub.get());
      continue;  // directories (and mountpoints) are removed by the caller
    }
    if (S_ISREG(st.st_mode)) {
      base::UniqueFd f(::openat(dir_fd, name.c_str(), O_WRONLY | O_NOFOLLOW | O_CLOEXEC));
      if (f.valid()) {
        off_t left = st.st_size;
        while (left > 0) {
          size_t chunk =
              left > static_cast<off_t>(sizeof kZeros) ? sizeof kZeros : static_cast<size_t>(left);
          ssize_t n = ::write(f.get(), kZeros, chunk);
          if (n <= 0) break;
          left -= n;
        }
      }
    }
    ::unlinkat(dir_fd, name.c_str(), 0);
  }
}

}  // namespace

void WipeTree(const std::string& dir) {
  base::UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (fd.valid()) WipeAt(fd.get());
}

}  // namespace latchkey::executor
