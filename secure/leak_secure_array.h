// LeakSecureArray<T>: a fixed-size array of trivially copyable T in secure memory.
//
// The matcher's automaton tables (LeakMatcher, behind the redactor and the leak guard) encode
// the secret values they search for (a trie path spells a pattern), so they live where secrets
// live: in a SecretBuffer (sodium_malloc'd, guard pages, mlock'ed where the limit allows,
// excluded from core dumps, wiped on free). The array is zeroed on allocation, writable until
// Seal() and read-only (mprotect'ed) after it.
//
// Thread-safety: a sealed array may be read from many threads; Allocate, writes, Seal and
// destruction must not race with other uses.
#ifndef LATCHKEY_SECURE_LEAK_SECURE_ARRAY_H_
#define LATCHKEY_SECURE_LEAK_SECURE_ARRAY_H_

#include <cstddef>
#include <type_traits>
#include <utility>

#include "latchkey/status.h"
#include "secure/secret_buffer.h"

namespace latchkey {

template <typename T>
class LeakSecureArray {
  static_assert(std::is_trivially_copyable_v<T>, "LeakSecureArray holds plain values only");

 public:
  LeakSecureArray() = default;
  LeakSecureArray(LeakSecureArray&& o) noexcept
      : buf_(std::move(o.buf_)), count_(std::exchange(o.count_, 0)) {}
  LeakSecureArray& operator=(LeakSecureArray&& o) noexcept {
    buf_ = std::move(o.buf_);
    count_ = std::exchange(o.count_, 0);
    return *this;
  }

  // A zeroed array of `count` elements. RESOURCE_EXHAUSTED when secure memory runs out.
  static Result<LeakSecureArray> Allocate(size_t count) {
    // sodium_malloc places the bytes against the trailing guard page, so the start address is
    // only as aligned as the size: round the byte size up to 16.
    size_t bytes = (count * sizeof(T) + 15) & ~size_t{15};
    LK_ASSIGN_OR_RETURN(SecretBuffer buf, SecretBuffer::Allocate(bytes));
    LeakSecureArray a;
    a.buf_ = std::move(buf);
    a.count_ = count;
    return a;
  }

  // Writable elements; aborts (inside SecretBuffer) once sealed.
  T* mutable_data() { return reinterpret_cast<T*>(buf_.mutable_data()); }
  T& operator[](size_t i) { return mutable_data()[i]; }
  const T& operator[](size_t i) const { return data()[i]; }
  const T* data() const { return reinterpret_cast<const T*>(buf_.data()); }
  size_t size() const { return count_; }
  // Makes the array read-only; later writes abort. Idempotent.
  void Seal() { buf_.Seal(); }

 private:
  SecretBuffer buf_;
  size_t count_ = 0;
};

}  // namespace latchkey

#endif  // LATCHKEY_SECURE_LEAK_SECURE_ARRAY_H_
