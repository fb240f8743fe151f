// SHA-256 content digests in the OCI form "sha256:<64 lowercase hex>".
//
// Sha256 is a streaming hasher (libsodium's crypto_hash_sha256); feed it bytes with Update and
// read the digest once with Finish. Not thread-safe: one hasher per stream.
#ifndef LATCHKEY_BUILDER_IMAGE_DIGEST_H_
#define LATCHKEY_BUILDER_IMAGE_DIGEST_H_

#include <sodium.h>

#include <cstddef>
#include <string>
#include <string_view>

namespace latchkey::image {

class Sha256 {
 public:
  Sha256();
  void Update(const void* data, size_t size);
  // Returns "sha256:<hex>". Call once; the hasher is spent afterwards.
  std::string Finish();

 private:
  crypto_hash_sha256_state state_;
};

// "sha256:<hex>" of `data`.
std::string Sha256Digest(std::string_view data);

// True when `digest` is "sha256:" followed by exactly 64 lowercase hex digits. Anything else
// (other algorithms, uppercase, path characters) is rejected, so a valid digest is always safe
// to use as a file name.
bool IsValidDigest(std::string_view digest);

// The hex part of a valid digest ("sha256:abc..." -> "abc..."). Precondition: IsValidDigest.
std::string_view DigestHex(std::string_view digest);

}  // namespace latchkey::image

#endif  // LATCHKEY_BUILDER_IMAGE_DIGEST_H_
