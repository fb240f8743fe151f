// Store: the encrypted, versioned secret store (issue 6; docs/store-format.md).
//
// A store is one SQLite database (WAL, synchronous=FULL). Every secret version is sealed with
// the store's data key (DEK) under associated data that names the store, the secret and the
// version; the DEK is wrapped by a key-encryption key (KEK) from an unlock key file or a
// passphrase (Argon2id). Listing and inspecting never return data.
//
// Every error message names the store or the secret. Secret names and messages follow swarm:
// "secret <name> already exists", "secret <name> not found". A damaged database reports
// DATA_LOSS "store <path> is corrupt: ...". A wrong key reports UNAUTHENTICATED
// "wrong unlock key or passphrase for store <path>".
//
// Thread-safety: a Store is safe to use from many threads (one mutex around its connection).
// Many processes may open the same store: readers run alongside one writer, and writers wait
// for each other up to the busy timeout.
#ifndef LATCHKEY_STORE_STORE_H_
#define LATCHKEY_STORE_STORE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "latchkey/status.h"
#include "secure/secret_buffer.h"
#include "store/name.h"
#include "store/sqlite_db.h"
#include "store/store_crypto.h"

namespace latchkey::store {

enum class KeyKind { kUnlockKey, kPassphrase };
const char* KeyKindName(KeyKind kind);  // "unlock-key" / "passphrase"

// Where a key-encryption key comes from. Move-only (a passphrase is secret).
class KeySource {
 public:
  // An unlock key file (LKSKEY-1-...). For Init/RekeyKek the file is created.
  static KeySource UnlockKeyFile(std::string path);
  // A passphrase; the KEK is Argon2id(passphrase, salt) with the recorded limits.
  static KeySource Passphrase(SecretBuffer passphrase);

  KeyKind kind() const { return kind_; }
  const std::string& unlock_key_file() const { return path_; }
  const SecretBuffer& passphrase() const { return passphrase_; }

 private:
  KeyKind kind_ = KeyKind::kUnlockKey;
  std::string path_;
  SecretBuffer passphrase_;
};

using Labels = std::map<std::string, std::string>;

// Parses "key=value" (value may be empty). INVALID_ARGUMENT
// "invalid label \"<text>\": expected key=value with a non-empty key" otherwise.
Status ParseLabel(std::string_view text, Labels* labels);

struct VersionInfo {
  uint64_t version = 0;
  int64_t created_at_ms = 0;
  uint64_t size = 0;
};

// Metadata of one secret. Never holds data.
struct SecretInfo {
  std::string name;
  uint64_t latest_version = 0;
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
  Labels labels;
  std::vector<VersionInfo> versions;  // filled by Inspect only, oldest first
};

// `label=key` (key present) or `label=key=value` (exact value).
struct LabelFilter {
  std::string key;
  std::optional<std::string> value;
};

// Docker's semantics: a secret matches when its name starts with any of `name_prefixes` (or
// there are none) and it matches every label filter.
struct ListFilter {
  std::vector<std::string> name_prefixes;
  std::vector<LabelFilter> labels;
};

struct NewSecret {
  std::string name;
  std::span<const uint8_t> data;  // owned by the caller, valid during the call
  Labels labels;
};

struct StoreStatus {
  std::string path;
  std::string store_id;  // hex
  int schema_version = 0;
  KeyKind key_kind = KeyKind::kUnlockKey;
  PwhashParams pwhash;  // for kPassphrase
  int64_t data_key_id = 0;
  int64_t created_at_ms = 0;
  uint64_t secrets = 0;
  uint64_t versions = 0;
};

// The data of one version, in secure memory.
struct SecretValue {
  SecretBuffer data;
  uint64_t version = 0;
};

// Returns `len` writable bytes of secure memory owned by the caller, or nullptr when out of
// memory. Used to decrypt straight into memory the caller owns (a plugin host's secret_alloc).
using SecretAllocator = std::function<uint8_t*(size_t len)>;

struct OpenOptions {
  int busy_timeout_ms = 10000;
};

class Store {
 public:
  // Creates a new store at `path` (and its directory, mode 0700, if missing) locked by `key`.
  // For an unlock key file, a new random key is written to that path (mode 0600, which must
  // not exist yet) and returned formatted ("LKSKEY-1-...") in `*unlock_key_text` so it can be
  // shown once. ALREADY_EXISTS "store <path> already exists" for an initialised database.
  static Result<std::unique_ptr<Store>> Init(const std::string& path, const KeySource& key,
                                             SecretBuffer* unlock_key_text,
                                             const OpenOptions& options = {});

  // Opens an existing store. Does no per-secret work (O(1) in the number of secrets).
  //   FAILED_PRECONDITION "store <path> does not exist; create it with `latchkey store init`"
  //   FAILED_PRECONDITION "store <path> is locked with a passphrase, not an unlock key file"
  //                       (and the converse)
  //   UNAUTHENTICATED     "wrong unlock key or passphrase for store <path>"
  //   DATA_LOSS           "store <path> is corrupt: ..."
  // With an unlock key file whose key does not match, a "<file>.new" left by an interrupted
  // rekey is tried and, when it matches, renamed over <file> (roll-forward).
  static Result<std::unique_ptr<Store>> Open(const std::string& path, const KeySource& key,
                                             const OpenOptions& options = {});

  // How the store at `path` is locked, without unlocking it (for choosing a prompt).
  static Result<KeyKind> ProbeKeyKind(const std::string& path);

  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Creates `name` at version 1. Validates name, size and labels first.
  Result<SecretInfo> Create(const std::string& name, std::span<const uint8_t> data,
                            const Labels& labels);
  // Creates every secret in one transaction: all or none.
  Status CreateMany(std::span<const NewSecret> secrets);
  // Adds version latest + 1 and returns it; older versions never change.
  Result<uint64_t> Rotate(const std::string& name, std::span<const uint8_t> data);
  // Removes `name` and all its versions. NOT_FOUND "secret <name> not found".
  Status Remove(const std::string& name);

  // Metadata of every secret matching `filter`, sorted by name.
  Result<std::vector<SecretInfo>> List(const ListFilter& filter);
  // Metadata of one secret with its versions; with ref.version set, only that version.
  Result<SecretInfo> Inspect(const Reference& ref);

  // Decrypts `ref` into memory from `alloc`: *data and *len receive the block (owned by the
  // allocator's owner, also on failure after allocation) and the call returns the version
  // served. NOT_FOUND "secret <name> not found" or
  // "secret <name> has no version 7 (latest is 3)"; DATA_LOSS when the row fails to decrypt.
  Result<uint64_t> ReadInto(const Reference& ref, const SecretAllocator& alloc, uint8_t** data,
                            size_t* len);
  // ReadInto with a sealed SecretBuffer.
  Result<SecretValue> Read(const Reference& ref);

  // Replaces the key-encryption key: re-wraps the data key under `new_key` in one transaction.
  // For an unlock key file, the new key is written to "<file>.new" first, then the database
  // commits, then "<file>.new" is renamed to <file>; the formatted key lands in
  // *unlock_key_text. The new file must not exist unless it is the file this store was opened
  // with. Secrets are not re-encrypted.
  Status RekeyKek(const KeySource& new_key, SecretBuffer* unlock_key_text);
  // Replaces the data key: re-encrypts every version under a new random DEK (id + 1) in one
  // transaction. A crash leaves either the old or the new key and rows, never a mix.
  Status RekeyData();

  Result<StoreStatus> GetStatus();
  // Re-reads the key metadata and verifies the key check value with the KEK held in memory.
  Status CheckHealth();

  const std::string& path() const { return path_; }

 private:
  Store() = default;

  struct Meta;
  static Result<Meta> ReadMeta(Db* db);
  static Result<SecretBuffer> DeriveKekFor(const Meta& meta, const KeySource& key,
                                           const std::string& path);
  // Opens `meta`'s data key with kek_; sets dek_, dek_id_. Caller holds mu_ (or constructs).
  Status LoadDek(const Meta& meta);
  // Reloads the DEK after another process rotated it. Caller holds mu_.
  Status RefreshKeys();
  Status InsertSecretLocked(const std::string& name, std::span<const uint8_t> data,
                            const Labels& labels, int64_t now_ms);
  Status InsertVersionLocked(int64_t secret_id, const std::string& name, uint64_t version,
                             std::span<const uint8_t> data, int64_t now_ms);
  Status VersionNotFound(const Reference& ref);
  Status Corrupt(const std::string& what) const;

  std::mutex mu_;
  std::string path_;
  std::unique_ptr<Db> db_;
  std::vector<uint8_t> store_id_;
  KeyKind key_kind_ = KeyKind::kUnlockKey;
  std::string unlock_key_file_;  // when opened with one
  SecretBuffer kek_;
  SecretBuffer dek_;
  int64_t dek_id_ = 0;
};

}  // namespace latchkey::store

#endif  // LATCHKEY_STORE_STORE_H_
