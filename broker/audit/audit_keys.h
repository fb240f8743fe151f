// The audit log's keys: an Ed25519 key pair that signs checkpoints and a 32-byte HMAC key that
// fingerprints secret values ("hmac-sha256:<hex>") without revealing them.
//
// On disk, in the state directory: audit-signing.key (the 32-byte Ed25519 seed, raw, mode
// 0600), audit-signing.pub (the 32-byte public key as one base64 line, mode 0644) and
// audit-hmac.key (32 random bytes, raw, mode 0600). Secret key material lives only in
// SecretBuffers.
#ifndef LATCHKEY_BROKER_AUDIT_AUDIT_KEYS_H_
#define LATCHKEY_BROKER_AUDIT_AUDIT_KEYS_H_

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "latchkey/status.h"
#include "secure/secret_buffer.h"

namespace latchkey::audit {

using PublicKey = std::array<uint8_t, 32>;

// The key material a writer needs. Move-only (holds SecretBuffers); a const AuditKeys may be
// used from many threads.
struct AuditKeys {
  SecretBuffer signing_key;  // crypto_sign secret key (64 bytes: seed || public key), sealed
  PublicKey public_key{};
  SecretBuffer hmac_key;  // 32 bytes, sealed
  std::string key_id;     // KeyId(public_key)
};

// "ed25519:" + hex of the first 8 bytes of SHA-256(public key). Names a key in checkpoints.
std::string KeyId(const PublicKey& public_key);

// Fresh random keys, in memory only (tests, benchmarks).
Result<AuditKeys> GenerateKeys();

// "hmac:" + hex of the first 8 bytes of HMAC-SHA256(hmac_key, "latchkey-audit-hmac-key-id-v1").
// Names an HMAC key without revealing it; checkpoints record it so that `audit search --hmac`
// can tell a hash made with another key from "never handed out".
std::string HmacKeyId(const SecretBuffer& hmac_key);

// Where the three key files are. KeyFilesIn(dir) gives the defaults inside a state directory;
// the configuration may name the signing and HMAC key files (audit.signing_key_file,
// audit.hmac_key_file); the public key sits beside the signing key (PublicKeyPathFor).
struct KeyFiles {
  std::string signing;
  std::string public_key;
  std::string hmac;
};
KeyFiles KeyFilesIn(const std::string& state_dir);
// The public key file of a signing key file: a trailing ".key" replaced by ".pub", else ".pub"
// appended ("/s/audit-signing.key" -> "/s/audit-signing.pub").
std::string PublicKeyPathFor(const std::string& signing_key_path);

// Creates the three key files (their directories with mode 0700 when missing). Without
// `force`, fails with ALREADY_EXISTS when any of them exists:
// "audit keys already exist in <dir> (audit-signing.key); pass --force to replace them".
// Returns the new keys.
Result<AuditKeys> WriteNewKeys(const KeyFiles& files, bool force);
Result<AuditKeys> WriteNewKeys(const std::string& state_dir, bool force);

// Loads the signing and HMAC keys (and derives the public key). Fails with NOT_FOUND naming the
// missing file and the keygen command, FAILED_PRECONDITION when a secret key file is readable by
// group or others or has the wrong size.
Result<AuditKeys> LoadKeys(const KeyFiles& files);
Result<AuditKeys> LoadKeys(const std::string& state_dir);

// Loads only the HMAC key file at `path` (same checks as LoadKeys).
Result<SecretBuffer> LoadHmacKey(const std::string& path);

// Reads a public key file (one base64 line). INVALID_ARGUMENT when malformed.
Result<PublicKey> LoadPublicKey(const std::string& path);

// "hmac-sha256:" + hex(HMAC-SHA256(hmac_key, value)).
std::string ValueHmac(const SecretBuffer& hmac_key, std::span<const uint8_t> value);

// Detached Ed25519 signature of `message`, standard base64 with padding.
std::string SignBase64(const AuditKeys& keys, std::string_view message);

// True when `sig_base64` is a valid Ed25519 signature of `message` by `public_key`.
bool VerifyBase64(const PublicKey& public_key, std::string_view message,
                  std::string_view sig_base64);

// Hex and base64 helpers (not for secrets).
std::string HexEncode(std::span<const uint8_t> bytes);
std::string Base64Encode(std::span<const uint8_t> bytes);

// "sha256:" + hex(SHA-256(bytes)).
std::string Sha256Tagged(std::string_view bytes);

}  // namespace latchkey::audit

#endif  // LATCHKEY_BROKER_AUDIT_AUDIT_KEYS_H_
