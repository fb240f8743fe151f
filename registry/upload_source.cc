#include "registry/upload_source.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "builder/image/fs_util.h"

namespace latchkey::registry {

Result<size_t> StringSource::Read(char* buf, size_t n) {
  size_t k = std::min(n, data_.size() - pos_);
  std::memcpy(buf, data_.data() + pos_, k);
  pos_ += k;
  return k;
}

FileRangeSource::~FileRangeSource() {
  if (fd_ >= 0) ::close(fd_);
}

Status FileRangeSource::Rewind() {
  pos_ = 0;
  if (fd_ >= 0) return Status::OK();
  fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) return image::ErrnoStatus("open", path_, errno);
  return Status::OK();
}

Result<size_t> FileRangeSource::Read(char* buf, size_t n) {
  if (fd_ < 0) LK_RETURN_IF_ERROR(Rewind());
  size_t want = static_cast<size_t>(std::min<int64_t>(static_cast<int64_t>(n), length_ - pos_));
  if (want == 0) return size_t{0};
  for (;;) {
    ssize_t got = ::pread(fd_, buf, want, offset_ + pos_);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return image::ErrnoStatus("read", path_, errno);
    if (got == 0) {
      return DataLossError(path_ + ": the file ended early (at byte " +
                           std::to_string(offset_ + pos_) + " of " +
                           std::to_string(offset_ + length_) + ")");
    }
    pos_ += got;
    return static_cast<size_t>(got);
  }
}

}  // namespace latchkey::registry
