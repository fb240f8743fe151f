// SHA-256 content digests in the OCI form "sha256:<64 lowercase hex>".
//
// Sha256 is a streaming hasher (OpenSSL's SHA-256, which uses the CPU's SHA extensions where
// present: about 6x libsodium's portable code on this project's machines, and every pulled,
// imported and written blob goes through it); feed it bytes with Update and read the digest
// once with Finish. Copyable. Not thread-safe: one hasher per stream.
#ifndef LATCHKEY_BUILDER_IMAGE_DIGEST_H_
#define LATCHKEY_BUILDER_IMAGE_DIGEST_H_

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
  using State = unsigned char[128];
  alignas(16) State state_;  // an OpenSSL SHA256_CTX (digest.cc)
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
