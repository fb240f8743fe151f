#include "secure/secret_buffer.h"

#include <sodium.h>

#include <cstdlib>
#include <cstring>
#include <mutex>

namespace latchkey {

Status EnsureSodium() {
  static const int rc = sodium_init();
  if (rc < 0) return InternalError("libsodium failed to initialise (sodium_init returned -1)");
  return Status::OK();
}

SecretBuffer::~SecretBuffer() { Release(); }

SecretBuffer::SecretBuffer(SecretBuffer&& other) noexcept
    : data_(other.data_), size_(other.size_), capacity_(other.capacity_), sealed_(other.sealed_) {
  other.data_ = nullptr;
  other.size_ = other.capacity_ = 0;
  other.sealed_ = false;
}

SecretBuffer& SecretBuffer::operator=(SecretBuffer&& other) noexcept {
  if (this != &other) {
    Release();
    data_ = other.data_;
    size_ = other.size_;
    capacity_ = other.capacity_;
    sealed_ = other.sealed_;
    other.data_ = nullptr;
    other.size_ = other.capacity_ = 0;
    other.sealed_ = false;
  }
  return *this;
}

void SecretBuffer::Release() {
  if (data_ == nullptr) return;
  // sodium_free wipes before unmapping; it needs the pages writable.
  sodium_mprotect_readwrite(data_);
  sodium_memzero(data_, capacity_);
  sodium_free(data_);
  data_ = nullptr;
  size_ = capacity_ = 0;
  sealed_ = false;
}

Result<SecretBuffer> SecretBuffer::Allocate(size_t size) {
  LK_RETURN_IF_ERROR(EnsureSodium());
  // sodium_malloc(0) is valid but keep one byte so that data() is never NULL for a live buffer.
  size_t capacity = size == 0 ? 1 : size;
  void* p = sodium_malloc(capacity);
  if (p == nullptr) {
    return ResourceExhaustedError("out of secure memory allocating " + std::to_string(size) +
                                  " bytes for a secret");
  }
  std::memset(p, 0, capacity);
  return SecretBuffer(static_cast<uint8_t*>(p), size, capacity);
}

Result<SecretBuffer> SecretBuffer::CopyOf(std::span<const uint8_t> bytes) {
  LK_ASSIGN_OR_RETURN(SecretBuffer buf, Allocate(bytes.size()));
  if (!bytes.empty()) std::memcpy(buf.mutable_data(), bytes.data(), bytes.size());
  buf.Seal();
  return buf;
}

SecretBuffer SecretBuffer::Adopt(uint8_t* data, size_t size) {
  SecretBuffer buf(data, size, size);
  if (data != nullptr) buf.Seal();
  return buf;
}

uint8_t* SecretBuffer::mutable_data() {
  if (sealed_) std::abort();
  return data_;
}

void SecretBuffer::Seal() {
  if (sealed_ || data_ == nullptr) {
    sealed_ = true;
    return;
  }
  sodium_mprotect_readonly(data_);
  sealed_ = true;
}

void SecretBuffer::Truncate(size_t size) {
  if (sealed_ || size > size_) std::abort();
  if (data_ != nullptr) sodium_memzero(data_ + size, size_ - size);
  size_ = size;
}

bool SecretBuffer::Equals(std::span<const uint8_t> other) const {
  if (other.size() != size_) return false;
  if (size_ == 0) return true;
  return sodium_memcmp(data_, other.data(), size_) == 0;
}

void WipeStringBytes(std::string* s) {
  sodium_memzero(s->data(), s->size());
  s->clear();
}

}  // namespace latchkey
