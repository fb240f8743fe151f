// SecretBuffer: the only place a secret value lives in a latchkey process.
//
// The bytes sit in sodium_malloc'd memory: guard pages around them, mlock'ed where the memlock
// limit allows, excluded from core dumps. A buffer is writable until Seal(), read-only after
// it, and wiped and freed on destruction. It is move-only and never converts to std::string
// (whose small-string copies are never wiped).
//
// Thread-safety: a sealed buffer may be read from many threads; Allocate/Seal/destruction
// must not race with other uses of the same buffer.
#ifndef LATCHKEY_SECURE_SECRET_BUFFER_H_
#define LATCHKEY_SECURE_SECRET_BUFFER_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "latchkey/status.h"

namespace latchkey {

class SecretBuffer {
 public:
  // An empty buffer (size 0, nothing allocated).
  SecretBuffer() = default;
  ~SecretBuffer();
  SecretBuffer(SecretBuffer&& other) noexcept;
  SecretBuffer& operator=(SecretBuffer&& other) noexcept;
  SecretBuffer(const SecretBuffer&) = delete;
  SecretBuffer& operator=(const SecretBuffer&) = delete;

  // A writable, zeroed buffer of `size` bytes. RESOURCE_EXHAUSTED when secure memory runs out.
  static Result<SecretBuffer> Allocate(size_t size);
  // A sealed copy of `bytes`.
  static Result<SecretBuffer> CopyOf(std::span<const uint8_t> bytes);
  // Takes ownership of `data` (from sodium_malloc, `size` bytes) and seals it.
  static SecretBuffer Adopt(uint8_t* data, size_t size);

  // Writable bytes; aborts when sealed.
  uint8_t* mutable_data();
  // Makes the bytes read-only. Idempotent.
  void Seal();
  // Shrinks the visible size (for reads that came up short) before sealing; aborts when sealed
  // or when `size` grows the buffer.
  void Truncate(size_t size);

  std::span<const uint8_t> bytes() const { return {data_, size_}; }
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  bool sealed() const { return sealed_; }

  // Constant-time comparison of contents.
  bool Equals(std::span<const uint8_t> other) const;

 private:
  SecretBuffer(uint8_t* data, size_t size, size_t capacity)
      : data_(data), size_(size), capacity_(capacity) {}
  void Release();

  uint8_t* data_ = nullptr;
  size_t size_ = 0;
  size_t capacity_ = 0;
  bool sealed_ = false;
};

// Calls sodium_init once; INTERNAL when libsodium cannot initialise. Thread-safe.
Status EnsureSodium();

// Zeroes the bytes in use of a std::string that held secret bytes (a generated message's bytes
// field: protobuf forces them into a std::string) and empties it, keeping its capacity so the
// next use reuses the same memory. Bytes past size() are left alone: a caller that reuses the
// string wipes it after every use, so they are zeros already (one that does not, resizes it to
// its capacity first).
void WipeStringBytes(std::string* s);

}  // namespace latchkey

#endif  // LATCHKEY_SECURE_SECRET_BUFFER_H_
