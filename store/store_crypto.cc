#include "store/store_crypto.h"

#include <sodium.h>

#include <cstdlib>
#include <cstring>
#include <string>

namespace latchkey::store {
namespace {

constexpr char kKekCheckContext[] = "latchkey-store-kek-check-v1";
constexpr char kDekContext[] = "latchkey-store-dek-v1";
constexpr char kVersionContext[] = "latchkey-store-secret-v1";

void AppendU64(std::vector<uint8_t>* out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<uint8_t>(v >> (8 * i)));
}

void AppendBytes(std::vector<uint8_t>* out, const void* p, size_t n) {
  const auto* b = static_cast<const uint8_t*>(p);
  out->insert(out->end(), b, b + n);
}

}  // namespace

Result<PwhashParams> DefaultPwhashParams() {
  PwhashParams p;
  p.alg = crypto_pwhash_ALG_ARGON2ID13;
  p.opslimit = crypto_pwhash_argon2id_OPSLIMIT_MODERATE;
  p.memlimit = crypto_pwhash_argon2id_MEMLIMIT_MODERATE;
  const char* env = std::getenv("LATCHKEY_STORE_PWHASH_LIMITS");
  if (env == nullptr || *env == '\0') return p;
  std::string v(env);
  if (v == "min") {
    p.opslimit = crypto_pwhash_argon2id_OPSLIMIT_MIN;
    p.memlimit = crypto_pwhash_argon2id_MEMLIMIT_MIN;
  } else if (v == "interactive") {
    p.opslimit = crypto_pwhash_argon2id_OPSLIMIT_INTERACTIVE;
    p.memlimit = crypto_pwhash_argon2id_MEMLIMIT_INTERACTIVE;
  } else if (v == "sensitive") {
    p.opslimit = crypto_pwhash_argon2id_OPSLIMIT_SENSITIVE;
    p.memlimit = crypto_pwhash_argon2id_MEMLIMIT_SENSITIVE;
  } else if (v != "moderate") {
    return InvalidArgumentError("LATCHKEY_STORE_PWHASH_LIMITS=" + v +
                                " is not one of min, interactive, moderate, sensitive");
  }
  return p;
}

bool PwhashParamsValid(const PwhashParams& p) {
  return p.alg == crypto_pwhash_ALG_ARGON2ID13 &&
         p.opslimit >= crypto_pwhash_argon2id_OPSLIMIT_MIN &&
         p.opslimit <= crypto_pwhash_argon2id_OPSLIMIT_SENSITIVE * 4 &&
         p.memlimit >= crypto_pwhash_argon2id_MEMLIMIT_MIN &&
         p.memlimit <= crypto_pwhash_argon2id_MEMLIMIT_SENSITIVE * 4ull;
}

Result<SecretBuffer> RandomKey() {
  LK_ASSIGN_OR_RETURN(SecretBuffer key, SecretBuffer::Allocate(kKeyBytes));
  randombytes_buf(key.mutable_data(), kKeyBytes);
  key.Seal();
  return key;
}

std::vector<uint8_t> RandomBytes(size_t n) {
  std::vector<uint8_t> out(n);
  (void)EnsureSodium();
  if (n > 0) randombytes_buf(out.data(), n);
  return out;
}

Result<SecretBuffer> DeriveKek(std::span<const uint8_t> passphrase, std::span<const uint8_t> salt,
                               const PwhashParams& params) {
  if (salt.size() != crypto_pwhash_SALTBYTES) {
    return InternalError("passphrase salt has " + std::to_string(salt.size()) +
                         " bytes, expected " + std::to_string(crypto_pwhash_SALTBYTES));
  }
  LK_ASSIGN_OR_RETURN(SecretBuffer kek, SecretBuffer::Allocate(kKeyBytes));
  if (crypto_pwhash(kek.mutable_data(), kKeyBytes, reinterpret_cast<const char*>(passphrase.data()),
                    passphrase.size(), salt.data(), params.opslimit,
                    static_cast<size_t>(params.memlimit), params.alg) != 0) {
    return ResourceExhaustedError("Argon2id could not allocate " +
                                  std::to_string(params.memlimit / (1024 * 1024)) +
                                  " MiB to derive the key from the passphrase");
  }
  kek.Seal();
  return kek;
}

std::vector<uint8_t> KekCheck(const SecretBuffer& kek, std::span<const uint8_t> store_id) {
  std::vector<uint8_t> msg;
  AppendBytes(&msg, kKekCheckContext, sizeof(kKekCheckContext) - 1);
  AppendBytes(&msg, store_id.data(), store_id.size());
  std::vector<uint8_t> out(kKekCheckBytes);
  crypto_generichash(out.data(), out.size(), msg.data(), msg.size(), kek.data(), kek.size());
  return out;
}

bool KekCheckMatches(const SecretBuffer& kek, std::span<const uint8_t> store_id,
                     std::span<const uint8_t> expected) {
  if (expected.size() != kKekCheckBytes) return false;
  std::vector<uint8_t> actual = KekCheck(kek, store_id);
  return sodium_memcmp(actual.data(), expected.data(), kKekCheckBytes) == 0;
}

std::vector<uint8_t> DekAd(std::span<const uint8_t> store_id, int64_t dek_id) {
  std::vector<uint8_t> ad;
  AppendBytes(&ad, kDekContext, sizeof(kDekContext));  // includes the NUL separator
  AppendBytes(&ad, store_id.data(), store_id.size());
  AppendU64(&ad, static_cast<uint64_t>(dek_id));
  return ad;
}

std::vector<uint8_t> VersionAd(std::span<const uint8_t> store_id, std::string_view name,
                               uint64_t version, int64_t dek_id) {
  std::vector<uint8_t> ad;
  AppendBytes(&ad, kVersionContext, sizeof(kVersionContext));  // includes the NUL separator
  AppendBytes(&ad, store_id.data(), store_id.size());
  AppendU64(&ad, name.size());
  AppendBytes(&ad, name.data(), name.size());
  AppendU64(&ad, version);
  AppendU64(&ad, static_cast<uint64_t>(dek_id));
  return ad;
}

std::vector<uint8_t> Seal(const SecretBuffer& key, std::span<const uint8_t> plaintext,
                          std::span<const uint8_t> ad) {
  std::vector<uint8_t> out(kSealOverhead + plaintext.size());
  randombytes_buf(out.data(), kNonceBytes);
  unsigned long long clen = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(out.data() + kNonceBytes, &clen, plaintext.data(),
                                             plaintext.size(), ad.data(), ad.size(), nullptr,
                                             out.data(), key.data());
  return out;
}

size_t OpenedSize(std::span<const uint8_t> sealed) {
  return sealed.size() <= kSealOverhead ? 0 : sealed.size() - kSealOverhead;
}

bool Unseal(const SecretBuffer& key, std::span<const uint8_t> sealed, std::span<const uint8_t> ad,
            uint8_t* out) {
  size_t n = OpenedSize(sealed);
  if (n == 0 || key.size() != kKeyBytes) return false;
  unsigned long long mlen = 0;
  int rc = crypto_aead_xchacha20poly1305_ietf_decrypt(
      out, &mlen, nullptr, sealed.data() + kNonceBytes, sealed.size() - kNonceBytes, ad.data(),
      ad.size(), sealed.data(), key.data());
  if (rc != 0) {
    sodium_memzero(out, n);
    return false;
  }
  return true;
}

}  // namespace latchkey::store
