#include "builder/image/layer_stream.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace latchkey::image {
namespace {

constexpr size_t kBlock = 64 * 1024;

}  // namespace

bool HasGzipMagic(const unsigned char* head, size_t n) {
  return n >= 2 && head[0] == 0x1f && head[1] == 0x8b;
}

bool HasZstdMagic(const unsigned char* head, size_t n) {
  return n >= 4 && head[0] == 0x28 && head[1] == 0xb5 && head[2] == 0x2f && head[3] == 0xfd;
}

Result<std::unique_ptr<LayerStream>> LayerStream::Open(UniqueFd fd, std::string path, bool hash) {
  unsigned char magic[4] = {0, 0, 0, 0};
  ssize_t m;
  do {
    m = ::pread(fd.get(), magic, sizeof magic, 0);
  } while (m < 0 && errno == EINTR);
  if (m < 0) return ErrnoStatus("read", path, errno);
  bool gzip = HasGzipMagic(magic, static_cast<size_t>(m));
  std::unique_ptr<LayerStream> s(new LayerStream(std::move(fd), gzip, std::move(path), hash));
  if (gzip) {
    if (inflateInit2(&s->zs_, 15 + 16) != Z_OK) return InternalError("cannot initialise zlib");
    s->zlib_ready_ = true;
  } else if (HasZstdMagic(magic, static_cast<size_t>(m))) {
    s->zds_ = ZSTD_createDStream();
    if (s->zds_ == nullptr || ZSTD_isError(ZSTD_initDStream(s->zds_))) {
      return InternalError("cannot initialise zstd");
    }
  }
  return s;
}

Result<std::unique_ptr<LayerStream>> LayerStream::OpenFile(const std::string& path, bool hash) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return ErrnoStatus("open", path, errno);
  return Open(std::move(fd), path, hash);
}

LayerStream::LayerStream(UniqueFd fd, bool gzip, std::string path, bool hash)
    : fd_(std::move(fd)),
      gzip_(gzip),
      path_(std::move(path)),
      hash_(hash),
      in_(kBlock),
      out_(kBlock) {}

LayerStream::~LayerStream() {
  if (zlib_ready_) inflateEnd(&zs_);
  if (zds_ != nullptr) ZSTD_freeDStream(zds_);
}

ssize_t LayerStream::Produced(size_t n) {
  if (hash_ && (gzip_ || zds_ != nullptr)) produced_.Update(out_.data(), n);
  return static_cast<ssize_t>(n);
}

std::string LayerStream::Digest() {
  if (stored_digest_.empty()) stored_digest_ = stored_.Finish();
  return stored_digest_;
}

std::string LayerStream::DiffId() {
  if (gzip_ || zds_ != nullptr) return produced_.Finish();
  return Digest();
}

ssize_t LayerStream::Read(const void** buf) {
  if (!error_.ok()) return -1;
  *buf = out_.data();
  if (zds_ != nullptr) return ReadZstd();
  if (!gzip_) {
    ssize_t n = ReadRaw(out_.data(), out_.size());
    return n <= 0 ? n : Produced(static_cast<size_t>(n));
  }
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
      if (inflateReset(&zs_) != Z_OK) return Fail(InternalError("cannot reset zlib"));
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
      if (in_eof_ && zs_.avail_in == 0) return Fail(DataLossError("gzip data is truncated"));
    } else if (rc != Z_OK) {
      return Fail(DataLossError(std::string("gzip data is corrupt: ") +
                                (zs_.msg != nullptr ? zs_.msg : "inflate failed")));
    }
    if (produced > 0) return Produced(produced);
    if (in_eof_ && zs_.avail_in == 0 && !stream_end_) {
      return Fail(DataLossError("gzip data is truncated"));
    }
  }
}

ssize_t LayerStream::ReadZstd() {
  for (;;) {
    if (zin_.pos == zin_.size && !in_eof_) {
      ssize_t n = ReadRaw(in_.data(), in_.size());
      if (n < 0) return -1;
      if (n == 0) in_eof_ = true;
      zin_ = {in_.data(), static_cast<size_t>(n), 0};
    }
    // Called with no input too: libzstd may still hold output of the last frame.
    ZSTD_outBuffer out = {out_.data(), out_.size(), 0};
    const size_t consumed_before = zin_.pos;
    size_t rc = ZSTD_decompressStream(zds_, &out, &zin_);
    if (ZSTD_isError(rc)) {
      return Fail(DataLossError(std::string("zstd data is corrupt: ") + ZSTD_getErrorName(rc)));
    }
    // 0: the frame is complete and flushed. A call that moved nothing answers with the next
    // frame's header size, which says nothing about the frame before.
    if (out.pos > 0 || zin_.pos != consumed_before) zstd_in_frame_ = rc != 0;
    if (out.pos > 0) return Produced(out.pos);
    if (in_eof_ && zin_.pos == zin_.size) {
      if (zstd_in_frame_) return Fail(DataLossError("zstd data is truncated"));
      return 0;
    }
  }
}

Status LayerStream::Drain() {
  const void* buf;
  for (;;) {
    ssize_t n = Read(&buf);
    if (n < 0) return error_;
    if (n == 0) return Status::OK();
  }
}

ssize_t LayerStream::ReadRaw(char* p, size_t n) {
  for (;;) {
    ssize_t r = ::read(fd_.get(), p, n);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return Fail(ErrnoStatus("read", path_, errno));
    if (hash_) stored_.Update(p, static_cast<size_t>(r));
    return r;
  }
}

ssize_t LayerStream::Fail(Status s) {
  if (error_.ok()) error_ = std::move(s);
  return -1;
}

la_ssize_t ArchiveReadLayerStream(struct archive* a, void* stream, const void** buf) {
  auto* r = static_cast<LayerStream*>(stream);
  ssize_t n = r->Read(buf);
  if (n < 0) {
    archive_set_error(a, EIO, "%s", r->error().message().c_str());
    return -1;
  }
  return n;
}

}  // namespace latchkey::image
