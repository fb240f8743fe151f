#include "broker/audit/audit_keys.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <vector>

#include "base/errno_status.h"
#include "broker/audit/audit_file.h"
#include "broker/audit/paths.h"

namespace latchkey::audit {

namespace {

constexpr size_t kSeedBytes = crypto_sign_SEEDBYTES;
constexpr size_t kHmacKeyBytes = crypto_auth_hmacsha256_KEYBYTES;

std::string BaseName(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string OctalMode(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

// Reads a secret key file of exactly `size` bytes into a sealed SecretBuffer.
Result<SecretBuffer> ReadSecretFile(const std::string& what, const std::string& path, size_t size) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT) {
      std::string dir = path.substr(0, path.rfind('/') == std::string::npos ? 0 : path.rfind('/'));
      return NotFoundError(what + " " + path + " not found; create the audit keys with `latchkey " +
                           "audit keygen --state-dir " + (dir.empty() ? "." : dir) + "`");
    }
    return UnavailableError("reading " + what + " " + path + ": " + base::ErrnoText(err));
  }
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return UnavailableError("reading " + what + " " + path + ": " + base::ErrnoText(err));
  }
  if ((st.st_mode & 077) != 0) {
    ::close(fd);
    return FailedPreconditionError(what + " " + path + " is readable by group or others (mode " +
                                   OctalMode(st.st_mode) + "); run: chmod 600 " + path);
  }
  if (static_cast<size_t>(st.st_size) != size) {
    ::close(fd);
    return FailedPreconditionError(what + " " + path + " has " + std::to_string(st.st_size) +
                                   " bytes, expected " + std::to_string(size) +
                                   "; regenerate the keys with `latchkey audit keygen --force`");
  }
  auto buf = SecretBuffer::Allocate(size);
  if (!buf.ok()) {
    ::close(fd);
    return buf.status();
  }
  size_t got = 0;
  while (got < size) {
    ssize_t n = ::read(fd, buf->mutable_data() + got, size - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int err = n < 0 ? errno : EIO;
      ::close(fd);
      return UnavailableError("reading " + what + " " + path + ": " + base::ErrnoText(err));
    }
    got += static_cast<size_t>(n);
  }
  ::close(fd);
  buf->Seal();
  return std::move(buf).value();
}

Status WriteKeyFile(const std::string& path, std::span<const uint8_t> bytes, mode_t mode,
                    bool force) {
  int flags = O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | (force ? O_TRUNC : O_EXCL);
  int fd = ::open(path.c_str(), flags, mode);
  if (fd < 0) return UnavailableError("writing " + path + ": " + base::ErrnoText(errno));
  Status st;
  if (::fchmod(fd, mode) != 0)
    st = UnavailableError("chmod " + path + ": " + base::ErrnoText(errno));
  size_t done = 0;
  while (st.ok() && done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      st = UnavailableError("writing " + path + ": " + base::ErrnoText(errno));
      break;
    }
    done += static_cast<size_t>(n);
  }
  if (st.ok() && ::fsync(fd) != 0) {
    st = UnavailableError("syncing " + path + ": " + base::ErrnoText(errno));
  }
  ::close(fd);
  return st;
}

Result<AuditKeys> KeysFromSeed(const SecretBuffer& seed, SecretBuffer hmac_key) {
  LK_ASSIGN_OR_RETURN(SecretBuffer sk, SecretBuffer::Allocate(crypto_sign_SECRETKEYBYTES));
  AuditKeys keys;
  crypto_sign_seed_keypair(keys.public_key.data(), sk.mutable_data(), seed.data());
  sk.Seal();
  keys.signing_key = std::move(sk);
  keys.hmac_key = std::move(hmac_key);
  keys.key_id = KeyId(keys.public_key);
  return keys;
}

Result<SecretBuffer> RandomSecret(size_t size) {
  LK_ASSIGN_OR_RETURN(SecretBuffer buf, SecretBuffer::Allocate(size));
  randombytes_buf(buf.mutable_data(), size);
  buf.Seal();
  return buf;
}

}  // namespace

std::string HexEncode(std::span<const uint8_t> bytes) {
  std::string out(bytes.size() * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), bytes.data(), bytes.size());
  out.pop_back();
  return out;
}

std::string Base64Encode(std::span<const uint8_t> bytes) {
  size_t len = sodium_base64_encoded_len(bytes.size(), sodium_base64_VARIANT_ORIGINAL);
  std::string out(len, '\0');
  sodium_bin2base64(out.data(), out.size(), bytes.data(), bytes.size(),
                    sodium_base64_VARIANT_ORIGINAL);
  out.resize(len - 1);
  return out;
}

std::string Sha256Tagged(std::string_view bytes) {
  uint8_t digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  return "sha256:" + HexEncode(digest);
}

std::string KeyId(const PublicKey& public_key) {
  uint8_t digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, public_key.data(), public_key.size());
  return "ed25519:" + HexEncode(std::span<const uint8_t>(digest, 8));
}

Result<AuditKeys> GenerateKeys() {
  LK_RETURN_IF_ERROR(EnsureSodium());
  LK_ASSIGN_OR_RETURN(SecretBuffer seed, RandomSecret(kSeedBytes));
  LK_ASSIGN_OR_RETURN(SecretBuffer hmac, RandomSecret(kHmacKeyBytes));
  return KeysFromSeed(seed, std::move(hmac));
}

std::string HmacKeyId(const SecretBuffer& hmac_key) {
  static constexpr std::string_view kLabel = "latchkey-audit-hmac-key-id-v1";
  uint8_t mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, hmac_key.data(), hmac_key.size());
  crypto_auth_hmacsha256_update(&st, reinterpret_cast<const uint8_t*>(kLabel.data()),
                                kLabel.size());
  crypto_auth_hmacsha256_final(&st, mac);
  sodium_memzero(&st, sizeof st);
  return "hmac:" + HexEncode(std::span<const uint8_t>(mac, 8));
}

KeyFiles KeyFilesIn(const std::string& state_dir) {
  return {SigningKeyPath(state_dir), PublicKeyPath(state_dir), HmacKeyPath(state_dir)};
}

std::string PublicKeyPathFor(const std::string& signing_key_path) {
  static const std::string kKey = ".key";
  const std::string& p = signing_key_path;
  if (p.size() > kKey.size() && p.compare(p.size() - kKey.size(), kKey.size(), kKey) == 0) {
    return p.substr(0, p.size() - kKey.size()) + ".pub";
  }
  return p + ".pub";
}

namespace {

std::string DirOf(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

}  // namespace

Result<AuditKeys> WriteNewKeys(const KeyFiles& key_files, bool force) {
  LK_RETURN_IF_ERROR(EnsureSodium());
  const std::string files[] = {key_files.signing, key_files.public_key, key_files.hmac};
  if (!force) {
    for (const std::string& f : files) {
      struct stat st;
      if (::lstat(f.c_str(), &st) == 0) {
        return AlreadyExistsError("audit keys already exist in " + DirOf(f) + " (" + BaseName(f) +
                                  "); pass --force to replace them");
      }
    }
  }
  for (const std::string& f : files) LK_RETURN_IF_ERROR(PosixAuditFs()->CreateDirs(DirOf(f)));
  LK_ASSIGN_OR_RETURN(SecretBuffer seed, RandomSecret(kSeedBytes));
  LK_ASSIGN_OR_RETURN(SecretBuffer hmac, RandomSecret(kHmacKeyBytes));
  LK_RETURN_IF_ERROR(WriteKeyFile(files[0], seed.bytes(), 0600, force));
  LK_RETURN_IF_ERROR(WriteKeyFile(files[2], hmac.bytes(), 0600, force));
  LK_ASSIGN_OR_RETURN(AuditKeys keys, KeysFromSeed(seed, std::move(hmac)));
  std::string pub = Base64Encode(keys.public_key) + "\n";
  LK_RETURN_IF_ERROR(WriteKeyFile(
      files[1], std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(pub.data()), pub.size()),
      0644, force));
  return keys;
}

Result<AuditKeys> WriteNewKeys(const std::string& state_dir, bool force) {
  return WriteNewKeys(KeyFilesIn(state_dir), force);
}

Result<AuditKeys> LoadKeys(const KeyFiles& files) {
  LK_RETURN_IF_ERROR(EnsureSodium());
  LK_ASSIGN_OR_RETURN(SecretBuffer seed,
                      ReadSecretFile("audit signing key", files.signing, kSeedBytes));
  LK_ASSIGN_OR_RETURN(SecretBuffer hmac, LoadHmacKey(files.hmac));
  return KeysFromSeed(seed, std::move(hmac));
}

Result<AuditKeys> LoadKeys(const std::string& state_dir) { return LoadKeys(KeyFilesIn(state_dir)); }

Result<SecretBuffer> LoadHmacKey(const std::string& path) {
  LK_RETURN_IF_ERROR(EnsureSodium());
  return ReadSecretFile("audit HMAC key", path, kHmacKeyBytes);
}

Result<PublicKey> LoadPublicKey(const std::string& path) {
  LK_RETURN_IF_ERROR(EnsureSodium());
  auto text = ReadWholeFile(path);
  if (!text.ok()) {
    if (text.status().code() == StatusCode::kNotFound) {
      return NotFoundError("audit public key " + path + " not found");
    }
    return text.status();
  }
  std::string b64 = *text;
  while (!b64.empty() && (b64.back() == '\n' || b64.back() == '\r' || b64.back() == ' ')) {
    b64.pop_back();
  }
  PublicKey pk{};
  size_t len = 0;
  if (sodium_base642bin(pk.data(), pk.size(), b64.data(), b64.size(), nullptr, &len, nullptr,
                        sodium_base64_VARIANT_ORIGINAL) != 0 ||
      len != pk.size()) {
    return InvalidArgumentError("audit public key " + path +
                                " is not a base64 Ed25519 public key (32 bytes)");
  }
  return pk;
}

std::string ValueHmac(const SecretBuffer& hmac_key, std::span<const uint8_t> value) {
  uint8_t mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_state state;
  crypto_auth_hmacsha256_init(&state, hmac_key.data(), hmac_key.size());
  crypto_auth_hmacsha256_update(&state, value.data(), value.size());
  crypto_auth_hmacsha256_final(&state, mac);
  sodium_memzero(&state, sizeof state);
  return "hmac-sha256:" + HexEncode(mac);
}

std::string SignBase64(const AuditKeys& keys, std::string_view message) {
  uint8_t sig[crypto_sign_BYTES];
  crypto_sign_detached(sig, nullptr, reinterpret_cast<const uint8_t*>(message.data()),
                       message.size(), keys.signing_key.data());
  return Base64Encode(sig);
}

bool VerifyBase64(const PublicKey& public_key, std::string_view message,
                  std::string_view sig_base64) {
  uint8_t sig[crypto_sign_BYTES];
  size_t len = 0;
  if (sodium_base642bin(sig, sizeof sig, sig_base64.data(), sig_base64.size(), nullptr, &len,
                        nullptr, sodium_base64_VARIANT_ORIGINAL) != 0 ||
      len != sizeof sig) {
    return false;
  }
  return crypto_sign_verify_detached(sig, reinterpret_cast<const uint8_t*>(message.data()),
                                     message.size(), public_key.data()) == 0;
}

}  // namespace latchkey::audit
