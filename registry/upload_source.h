// BodySources (http_transport.h) for pushes: a string (a manifest) and a byte range of a file
// (a blob in the local store, whole or one chunk of it), read with pread so that any number of
// ranges of one file can be sent at once.
//
// Thread-safety: one request at a time per source (BodySource's contract).
#ifndef LATCHKEY_REGISTRY_UPLOAD_SOURCE_H_
#define LATCHKEY_REGISTRY_UPLOAD_SOURCE_H_

#include <cstdint>
#include <string>

#include "registry/http_transport.h"

namespace latchkey::registry {

class StringSource : public BodySource {
 public:
  explicit StringSource(std::string data) : data_(std::move(data)) {}
  int64_t size() const override { return static_cast<int64_t>(data_.size()); }
  Status Rewind() override {
    pos_ = 0;
    return Status::OK();
  }
  Result<size_t> Read(char* buf, size_t n) override;

 private:
  std::string data_;
  size_t pos_ = 0;
};

class FileRangeSource : public BodySource {
 public:
  // Bytes [offset, offset + length) of the file at `path`, opened on the first Rewind.
  FileRangeSource(std::string path, int64_t offset, int64_t length)
      : path_(std::move(path)), offset_(offset), length_(length) {}
  ~FileRangeSource() override;
  FileRangeSource(const FileRangeSource&) = delete;
  FileRangeSource& operator=(const FileRangeSource&) = delete;

  int64_t size() const override { return length_; }
  // NOT_FOUND / the errno text naming the file when it cannot be opened.
  Status Rewind() override;
  // DATA_LOSS "<path>: the file ended early (…)" when it is shorter than the range.
  Result<size_t> Read(char* buf, size_t n) override;

 private:
  std::string path_;
  int64_t offset_, length_;
  int64_t pos_ = 0;
  int fd_ = -1;
};

}  // namespace latchkey::registry

#endif  // LATCHKEY_REGISTRY_UPLOAD_SOURCE_H_
