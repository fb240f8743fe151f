#include "store/unlock_key.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "base/errno_status.h"
#include "base/file.h"
#include "base/path.h"
#include "store/store_crypto.h"

namespace latchkey::store {
namespace {

constexpr size_t kPrefixLen = sizeof(kUnlockKeyPrefix) - 1;
constexpr size_t kMaxKeyFileSize = 4096;

std::string Errno(int err) { return std::strerror(err); }

// base::FsyncDir in the store's wording; every failure is INTERNAL.
Status FsyncDir(const std::string& dir) {
  return base::WithCode(base::FsyncDir(dir, "cannot open directory", "cannot fsync directory"),
                        StatusCode::kInternal);
}

bool IsSpace(uint8_t c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

}  // namespace

Result<SecretBuffer> FormatUnlockKey(const SecretBuffer& key) {
  size_t b64 = sodium_base64_encoded_len(key.size(), sodium_base64_VARIANT_ORIGINAL);
  // b64 includes the NUL that sodium_bin2base64 writes.
  LK_ASSIGN_OR_RETURN(SecretBuffer out, SecretBuffer::Allocate(kPrefixLen + b64));
  std::memcpy(out.mutable_data(), kUnlockKeyPrefix, kPrefixLen);
  sodium_bin2base64(reinterpret_cast<char*>(out.mutable_data() + kPrefixLen), b64, key.data(),
                    key.size(), sodium_base64_VARIANT_ORIGINAL);
  out.Truncate(kPrefixLen + b64 - 1);
  out.Seal();
  return out;
}

Result<SecretBuffer> ParseUnlockKey(std::span<const uint8_t> text, const std::string& origin) {
  Status bad = InvalidArgumentError("unlock key file " + origin +
                                    " does not hold a latchkey store key (expected one line " +
                                    kUnlockKeyPrefix + "<base64>)");
  size_t begin = 0, end = text.size();
  while (begin < end && IsSpace(text[begin])) ++begin;
  while (end > begin && IsSpace(text[end - 1])) --end;
  if (end - begin <= kPrefixLen || std::memcmp(text.data() + begin, kUnlockKeyPrefix, kPrefixLen))
    return bad;
  begin += kPrefixLen;
  LK_ASSIGN_OR_RETURN(SecretBuffer key, SecretBuffer::Allocate(kKeyBytes));
  size_t len = 0;
  const char* b64_end = nullptr;
  int rc = sodium_base642bin(key.mutable_data(), kKeyBytes,
                             reinterpret_cast<const char*>(text.data() + begin), end - begin,
                             nullptr, &len, &b64_end, sodium_base64_VARIANT_ORIGINAL);
  if (rc != 0 || len != kKeyBytes || b64_end != reinterpret_cast<const char*>(text.data() + end)) {
    return bad;
  }
  key.Seal();
  return key;
}

Result<SecretBuffer> ReadUnlockKeyFile(const std::string& path) {
  LK_RETURN_IF_ERROR(EnsureSodium());
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT) return NotFoundError("unlock key file " + path + " does not exist");
    return PermissionDeniedError("cannot open unlock key file " + path + ": " + Errno(err));
  }
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return InvalidArgumentError("unlock key file " + path + " is not a regular file");
  }
  if ((st.st_mode & 077) != 0) {
    ::close(fd);
    char mode[8];
    std::snprintf(mode, sizeof(mode), "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return PermissionDeniedError("unlock key file " + path +
                                 " is accessible by group or others (mode " + mode +
                                 "); run chmod 600 " + path);
  }
  auto buf_or = SecretBuffer::Allocate(kMaxKeyFileSize);
  if (!buf_or.ok()) {
    ::close(fd);
    return buf_or.status();
  }
  SecretBuffer buf = std::move(buf_or).value();
  size_t total = 0;
  while (total < kMaxKeyFileSize) {
    ssize_t n = ::read(fd, buf.mutable_data() + total, kMaxKeyFileSize - total);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      return InternalError("cannot read unlock key file " + path + ": " + Errno(err));
    }
    if (n == 0) break;
    total += static_cast<size_t>(n);
  }
  ::close(fd);
  buf.Truncate(total);
  buf.Seal();
  return ParseUnlockKey(buf.bytes(), path);
}

Status WriteUnlockKeyFile(const std::string& path, const SecretBuffer& key, bool exclusive) {
  LK_ASSIGN_OR_RETURN(SecretBuffer text, FormatUnlockKey(key));
  int flags = O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | (exclusive ? O_EXCL : O_TRUNC);
  int fd = ::open(path.c_str(), flags, 0600);
  if (fd < 0) {
    int err = errno;
    if (err == EEXIST) return AlreadyExistsError("unlock key file " + path + " already exists");
    return PermissionDeniedError("cannot create unlock key file " + path + ": " + Errno(err));
  }
  Status st;
  if (::fchmod(fd, 0600) != 0) {
    st = InternalError("cannot chmod unlock key file " + path + ": " + Errno(errno));
  }
  const uint8_t nl = '\n';
  for (std::span<const uint8_t> part : {text.bytes(), std::span<const uint8_t>(&nl, 1)}) {
    size_t done = 0;
    while (st.ok() && done < part.size()) {
      ssize_t n = ::write(fd, part.data() + done, part.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        st = InternalError("cannot write unlock key file " + path + ": " + Errno(errno));
        break;
      }
      done += static_cast<size_t>(n);
    }
  }
  if (st.ok() && ::fsync(fd) != 0) {
    st = InternalError("cannot fsync unlock key file " + path + ": " + Errno(errno));
  }
  ::close(fd);
  if (!st.ok()) return st;
  return FsyncDir(base::DirName(path));
}

Status RenameDurably(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) {
    return InternalError("cannot rename " + from + " to " + to + ": " + Errno(errno));
  }
  return FsyncDir(base::DirName(to));
}

}  // namespace latchkey::store
