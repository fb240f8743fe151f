// The store's cryptography, in one place (see docs/store-format.md, "Encryption").
//
//   data key (DEK, 32 bytes)  seals every secret version with XChaCha20-Poly1305;
//                              AD = VersionAd(store id, name, version, dek id).
//   key-encryption key (KEK)   wraps the DEK (AD = DekAd(store id, dek id)); it is the unlock
//                              key itself, or Argon2id(passphrase, salt, recorded limits).
//   key check value            BLAKE2b-256 keyed with the KEK over "latchkey-store-kek-check-v1"
//                              and the store id; tells a wrong KEK apart from a damaged row.
//
// A sealed blob is nonce (24 bytes) ‖ ciphertext ‖ tag (16 bytes).
// Thread-safety: pure functions (libsodium is initialised by EnsureSodium).
#ifndef LATCHKEY_STORE_STORE_CRYPTO_H_
#define LATCHKEY_STORE_STORE_CRYPTO_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "latchkey/status.h"
#include "secure/secret_buffer.h"

namespace latchkey::store {

inline constexpr size_t kKeyBytes = 32;
inline constexpr size_t kStoreIdBytes = 16;
inline constexpr size_t kSaltBytes = 16;
inline constexpr size_t kNonceBytes = 24;
inline constexpr size_t kTagBytes = 16;
inline constexpr size_t kSealOverhead = kNonceBytes + kTagBytes;
inline constexpr size_t kKekCheckBytes = 32;

// Argon2id limits recorded with every passphrase-derived KEK.
struct PwhashParams {
  int32_t alg = 0;
  uint64_t opslimit = 0;
  uint64_t memlimit = 0;
};

// MODERATE Argon2id limits, or those named by $LATCHKEY_STORE_PWHASH_LIMITS ("min",
// "interactive", "moderate", "sensitive"; tests use "min"). INVALID_ARGUMENT for another value.
Result<PwhashParams> DefaultPwhashParams();

// True when `p` names Argon2id with limits inside libsodium's accepted range (a check on
// values read back from a database file).
bool PwhashParamsValid(const PwhashParams& p);

// A fresh random 32-byte key in secure memory.
Result<SecretBuffer> RandomKey();
// `n` random bytes (salts, store ids; not secret).
std::vector<uint8_t> RandomBytes(size_t n);

// Argon2id(passphrase, salt) into a 32-byte key. RESOURCE_EXHAUSTED when the memory limit
// cannot be allocated.
Result<SecretBuffer> DeriveKek(std::span<const uint8_t> passphrase, std::span<const uint8_t> salt,
                               const PwhashParams& params);

// The key check value of `kek` for `store_id`.
std::vector<uint8_t> KekCheck(const SecretBuffer& kek, std::span<const uint8_t> store_id);
// Constant-time comparison.
bool KekCheckMatches(const SecretBuffer& kek, std::span<const uint8_t> store_id,
                     std::span<const uint8_t> expected);

// Associated data binding a sealed DEK to its store and key id.
std::vector<uint8_t> DekAd(std::span<const uint8_t> store_id, int64_t dek_id);
// Associated data binding a sealed secret version to its store, name, version and key id.
std::vector<uint8_t> VersionAd(std::span<const uint8_t> store_id, std::string_view name,
                               uint64_t version, int64_t dek_id);

// Seals `plaintext` under `key` with a random nonce.
std::vector<uint8_t> Seal(const SecretBuffer& key, std::span<const uint8_t> plaintext,
                          std::span<const uint8_t> ad);
// Plaintext size of a sealed blob, or 0 when it is too short to be one.
size_t OpenedSize(std::span<const uint8_t> sealed);
// Unseals `sealed` into `out` (exactly OpenedSize(sealed) bytes). False when authentication
// fails (wrong key, wrong AD or modified bytes); `out` is then zeroed.
bool Unseal(const SecretBuffer& key, std::span<const uint8_t> sealed, std::span<const uint8_t> ad,
            uint8_t* out);

}  // namespace latchkey::store

#endif  // LATCHKEY_STORE_STORE_CRYPTO_H_
