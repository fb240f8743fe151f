#include "builder/build/leak_blob_reader.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace latchkey::build {
namespace {

constexpr size_t kBlock = 64 * 1024;

}  // namespace

Result<std::unique_ptr<LeakBlobReader>> LeakBlobReader::Open(const std::string& path) {
  image::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return image::ErrnoStatus("open", path, errno);
  unsigned char magic[2] = {0, 0};
  ssize_t m;
  do {
    m = ::pread(fd.get(), magic, sizeof magic, 0);
  } while (m < 0 && errno == EINTR);
  if (m < 0) return image::ErrnoStatus("read", path, errno);
  bool gzip = m == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
  std::unique_ptr<LeakBlobReader> r(new LeakBlobReader(std::move(fd), gzip, path));
  if (gzip && inflateInit2(&r->zs_, 15 + 16) != Z_OK) {
    r->gzip_ = false;  // nothing to inflateEnd
    return InternalError(path + ": cannot initialise zlib");
  }
  return r;
}

LeakBlobReader::LeakBlobReader(image::UniqueFd fd, bool gzip, std::string path)
    : fd_(std::move(fd)), gzip_(gzip), path_(std::move(path)), in_(kBlock), out_(kBlock) {}

LeakBlobReader::~LeakBlobReader() {
  if (gzip_) inflateEnd(&zs_);
}

ssize_t LeakBlobReader::Read(const void** buf) {
  if (!error_.ok()) return -1;
  *buf = out_.data();
  if (!gzip_) return ReadRaw(out_.data(), out_.size());
  for (;;) {
    if (zs_.avail_in == 0 && !in_eof_) {
      ssize_t n = ReadRaw(in_.data(), in_.size());
      if (n < 0) return -1;
      if (n == 0) in_eof_ = true;
      zs_.next_in = reinterpret_cast<Bytef*>(in_.data());
      zs_.avail_in = static_cast<uInt>(n);
    }
    if (stream_end_) {
      // Another gzip member may follow; anything else fails its header check below.
      if (zs_.avail_in == 0) {
        if (in_eof_) return 0;
        continue;
      }
      if (inflateReset(&zs_) != Z_OK) return Fail(InternalError(path_ + ": cannot reset zlib"));
      stream_end_ = false;
    }
    zs_.next_out = reinterpret_cast<Bytef*>(out_.data());
    zs_.avail_out = static_cast<uInt>(out_.size());
    int rc = inflate(&zs_, Z_NO_FLUSH);
    size_t produced = out_.size() - zs_.avail_out;
    if (rc == Z_STREAM_END) {
      stream_end_ = true;
    } else if (rc == Z_BUF_ERROR && produced == 0) {
      // No progress: zlib needs more input, and at the end of the file there is none.
      if (in_eof_ && zs_.avail_in == 0)
        return Fail(DataLossError(path_ + ": gzip data is truncated"));
    } else if (rc != Z_OK) {
      return Fail(DataLossError(
          path_ + ": gzip data is corrupt: " + (zs_.msg != nullptr ? zs_.msg : "inflate failed")));
    }
    if (produced > 0) return static_cast<ssize_t>(produced);
    if (in_eof_ && zs_.avail_in == 0 && !stream_end_) {
      return Fail(DataLossError(path_ + ": gzip data is truncated"));
    }
  }
}

Status LeakBlobReader::Drain() {
  const void* buf;
  for (;;) {
    ssize_t n = Read(&buf);
    if (n < 0) return error_;
    if (n == 0) return Status::OK();
  }
}

ssize_t LeakBlobReader::ReadRaw(char* p, size_t n) {
  for (;;) {
    ssize_t r = ::read(fd_.get(), p, n);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return Fail(image::ErrnoStatus("read", path_, errno));
    return r;
  }
}

ssize_t LeakBlobReader::Fail(Status s) {
  if (error_.ok()) error_ = std::move(s);
  return -1;
}

}  // namespace latchkey::build
