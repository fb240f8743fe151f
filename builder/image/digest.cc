// The low-level SHA256_* functions are deprecated in OpenSSL 3 in favour of EVP, which would
// make Sha256 a heap-allocating, move-only type; they are the same code (SHA-NI included).
#define OPENSSL_SUPPRESS_DEPRECATED
#include "builder/image/digest.h"

#include <openssl/sha.h>

#include <cstring>

namespace latchkey::image {

namespace {
constexpr std::string_view kPrefix = "sha256:";
}  // namespace

Sha256::Sha256() {
  static_assert(sizeof(SHA256_CTX) <= sizeof(state_));
  SHA256_Init(reinterpret_cast<SHA256_CTX*>(state_));
}

void Sha256::Update(const void* data, size_t size) {
  SHA256_Update(reinterpret_cast<SHA256_CTX*>(state_), data, size);
}

std::string Sha256::Finish() {
  unsigned char out[SHA256_DIGEST_LENGTH];
  SHA256_Final(out, reinterpret_cast<SHA256_CTX*>(state_));
  static const char kHex[] = "0123456789abcdef";
  std::string s(kPrefix);
  for (unsigned char c : out) {
    s.push_back(kHex[c >> 4]);
    s.push_back(kHex[c & 15]);
  }
  return s;
}

std::string Sha256Digest(std::string_view data) {
  Sha256 h;
  h.Update(data.data(), data.size());
  return h.Finish();
}

bool IsValidDigest(std::string_view digest) {
  if (digest.size() != kPrefix.size() + 64 || digest.substr(0, kPrefix.size()) != kPrefix) {
    return false;
  }
  for (char c : digest.substr(kPrefix.size())) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::string_view DigestHex(std::string_view digest) { return digest.substr(kPrefix.size()); }

}  // namespace latchkey::image
