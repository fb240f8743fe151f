#include "store/store.h"

#include <errno.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <unordered_map>

#include "base/file.h"
#include "base/path.h"
#include "store/schema.h"
#include "store/unlock_key.h"

namespace latchkey::store {
namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string Hex(std::span<const uint8_t> bytes) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  for (uint8_t b : bytes) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 15]);
  }
  return out;
}

std::vector<uint8_t> ToVector(std::span<const uint8_t> s) { return {s.begin(), s.end()}; }

bool FileExists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

Status SecretNotFound(const std::string& name) {
  return NotFoundError("secret " + name + " not found");
}

Status NoSuchVersion(const Reference& ref, uint64_t latest) {
  return NotFoundError("secret " + ref.name + " has no version " + std::to_string(ref.version) +
                       " (latest is " + std::to_string(latest) + ")");
}

// Ends a read snapshot opened with BEGIN: COMMIT on scope exit (a reader may ignore its result).
struct EndRead {
  Db* db;
  ~EndRead() { (void)db->Exec("COMMIT"); }
};

Status ValidateLabels(const Labels& labels) {
  for (const auto& [k, v] : labels) {
    if (k.empty()) {
      return InvalidArgumentError("invalid label \"=" + v +
                                  "\": expected key=value with a non-empty key");
    }
  }
  return Status::OK();
}

}  // namespace

const char* KeyKindName(KeyKind kind) {
  return kind == KeyKind::kPassphrase ? "passphrase" : "unlock-key";
}

KeySource KeySource::UnlockKeyFile(std::string path) {
  KeySource k;
  k.kind_ = KeyKind::kUnlockKey;
  k.path_ = std::move(path);
  return k;
}

KeySource KeySource::Passphrase(SecretBuffer passphrase) {
  KeySource k;
  k.kind_ = KeyKind::kPassphrase;
  k.passphrase_ = std::move(passphrase);
  return k;
}

Status ParseLabel(std::string_view text, Labels* labels) {
  size_t eq = text.find('=');
  if (eq == std::string_view::npos || eq == 0) {
    return InvalidArgumentError("invalid label \"" + std::string(text) +
                                "\": expected key=value with a non-empty key");
  }
  (*labels)[std::string(text.substr(0, eq))] = std::string(text.substr(eq + 1));
  return Status::OK();
}

struct Store::Meta {
  std::vector<uint8_t> store_id;
  int64_t created_at_ms = 0;
  KeyKind kind = KeyKind::kUnlockKey;
  PwhashParams pwhash;
  std::vector<uint8_t> salt;
  std::vector<uint8_t> kek_check;
  int64_t dek_id = 0;
  std::vector<uint8_t> dek_sealed;
};

Store::~Store() = default;

Status Store::Corrupt(const std::string& what) const {
  return DataLossError("store " + path_ + " is corrupt: " + what);
}

Result<Store::Meta> Store::ReadMeta(Db* db) {
  auto corrupt = [db](const std::string& what) {
    return DataLossError("store " + db->path() + " is corrupt: " + what);
  };
  LK_ASSIGN_OR_RETURN(
      Stmt stmt, db->Prepare("SELECT store_id, created_at_ms, kek_kind, pwhash_alg, "
                             "pwhash_opslimit, pwhash_memlimit, pwhash_salt, kek_check, dek_id, "
                             "dek_sealed FROM meta WHERE id = 1"));
  LK_ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return corrupt("the key metadata row is missing");
  Meta m;
  m.store_id = ToVector(stmt.ColumnBlob(0));
  m.created_at_ms = stmt.ColumnInt(1);
  std::string kind = stmt.ColumnText(2);
  m.pwhash.alg = static_cast<int32_t>(stmt.ColumnInt(3));
  m.pwhash.opslimit = static_cast<uint64_t>(stmt.ColumnInt(4));
  m.pwhash.memlimit = static_cast<uint64_t>(stmt.ColumnInt(5));
  m.salt = ToVector(stmt.ColumnBlob(6));
  m.kek_check = ToVector(stmt.ColumnBlob(7));
  m.dek_id = stmt.ColumnInt(8);
  m.dek_sealed = ToVector(stmt.ColumnBlob(9));
  if (kind == "passphrase") {
    m.kind = KeyKind::kPassphrase;
    if (!PwhashParamsValid(m.pwhash) || m.salt.size() != kSaltBytes) {
      return corrupt("the passphrase parameters (Argon2id limits and salt) are invalid");
    }
  } else if (kind != "unlock-key") {
    return corrupt("unknown key kind \"" + kind + "\"");
  }
  if (m.store_id.size() != kStoreIdBytes) return corrupt("the store id is invalid");
  if (m.kek_check.size() != kKekCheckBytes) return corrupt("the key check value is invalid");
  if (OpenedSize(m.dek_sealed) != kKeyBytes) return corrupt("the sealed data key is invalid");
  return m;
}

Result<SecretBuffer> Store::DeriveKekFor(const Meta& meta, const KeySource& key,
                                         const std::string& path) {
  Status wrong = UnauthenticatedError("wrong unlock key or passphrase for store " + path);
  if (meta.kind != key.kind()) {
    return FailedPreconditionError("store " + path + " is locked with " +
                                   (meta.kind == KeyKind::kPassphrase
                                        ? "a passphrase, not an unlock key file"
                                        : "an unlock key file, not a passphrase"));
  }
  if (meta.kind == KeyKind::kPassphrase) {
    LK_ASSIGN_OR_RETURN(SecretBuffer kek,
                        DeriveKek(key.passphrase().bytes(), meta.salt, meta.pwhash));
    if (!KekCheckMatches(kek, meta.store_id, meta.kek_check)) return wrong;
    return kek;
  }
  const std::string& file = key.unlock_key_file();
  auto kek = ReadUnlockKeyFile(file);
  if (kek.ok() && KekCheckMatches(*kek, meta.store_id, meta.kek_check)) return kek;
  if (!kek.ok() && kek.status().code() != StatusCode::kNotFound) return kek.status();
  // Roll forward an interrupted rekey: the database committed the key in <file>.new.
  std::string pending = file + ".new";
  if (FileExists(pending)) {
    auto next = ReadUnlockKeyFile(pending);
    if (next.ok() && KekCheckMatches(*next, meta.store_id, meta.kek_check)) {
      LK_RETURN_IF_ERROR(RenameDurably(pending, file));
      return next;
    }
  }
  if (!kek.ok()) return kek.status();
  return wrong;
}

Status Store::LoadDek(const Meta& meta) {
  LK_ASSIGN_OR_RETURN(SecretBuffer dek, SecretBuffer::Allocate(kKeyBytes));
  if (!Unseal(kek_, meta.dek_sealed, DekAd(meta.store_id, meta.dek_id), dek.mutable_data())) {
    return Corrupt("the sealed data key does not decrypt under the correct key-encryption key");
  }
  dek.Seal();
  dek_ = std::move(dek);
  dek_id_ = meta.dek_id;
  return Status::OK();
}

Status Store::RefreshKeys() {
  LK_ASSIGN_OR_RETURN(Meta meta, ReadMeta(db_.get()));
  if (!KekCheckMatches(kek_, meta.store_id, meta.kek_check)) {
    return FailedPreconditionError("store " + path_ +
                                   " was rekeyed by another process; open it again with the "
                                   "new unlock key or passphrase");
  }
  if (meta.dek_id != dek_id_) LK_RETURN_IF_ERROR(LoadDek(meta));
  return Status::OK();
}

Result<std::unique_ptr<Store>> Store::Init(const std::string& path, const KeySource& key,
                                           SecretBuffer* unlock_key_text,
                                           const OpenOptions& options) {
  LK_RETURN_IF_ERROR(EnsureSodium());
  LK_RETURN_IF_ERROR(base::MakeDirs(base::DirName(path), 0700));
  Status exists = AlreadyExistsError("store " + path + " already exists");
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 && st.st_size > 0) {
    LK_ASSIGN_OR_RETURN(auto probe, Db::Open(path, false, options.busy_timeout_ms));
    LK_ASSIGN_OR_RETURN(int version, ReadSchemaVersion(probe.get()));
    if (version > 0) return exists;
  }

  std::unique_ptr<Store> store(new Store());
  store->path_ = path;
  Meta meta;
  meta.store_id = RandomBytes(kStoreIdBytes);
  meta.created_at_ms = NowMs();
  meta.kind = key.kind();
  meta.dek_id = 1;
  if (key.kind() == KeyKind::kPassphrase) {
    LK_ASSIGN_OR_RETURN(meta.pwhash, DefaultPwhashParams());
    meta.salt = RandomBytes(kSaltBytes);
    LK_ASSIGN_OR_RETURN(store->kek_, DeriveKek(key.passphrase().bytes(), meta.salt, meta.pwhash));
  } else {
    LK_ASSIGN_OR_RETURN(store->kek_, RandomKey());
  }
  LK_ASSIGN_OR_RETURN(store->dek_, RandomKey());
  store->dek_id_ = meta.dek_id;
  meta.kek_check = KekCheck(store->kek_, meta.store_id);
  meta.dek_sealed = Seal(store->kek_, store->dek_.bytes(), DekAd(meta.store_id, meta.dek_id));

  bool wrote_key_file = false;
  if (key.kind() == KeyKind::kUnlockKey) {
    LK_RETURN_IF_ERROR(WriteUnlockKeyFile(key.unlock_key_file(), store->kek_, true));
    wrote_key_file = true;
    store->unlock_key_file_ = key.unlock_key_file();
  }
  auto create_db = [&]() -> Status {
    LK_ASSIGN_OR_RETURN(store->db_, Db::Open(path, true, options.busy_timeout_ms));
    LK_ASSIGN_OR_RETURN(auto txn, Transaction::Begin(store->db_.get()));
    LK_ASSIGN_OR_RETURN(int version, ReadSchemaVersion(store->db_.get()));
    if (version > 0) return exists;
    LK_RETURN_IF_ERROR(Migrate(store->db_.get(), 0));
    LK_ASSIGN_OR_RETURN(
        Stmt ins,
        store->db_->Prepare("INSERT INTO meta (id, store_id, created_at_ms, kek_kind, pwhash_alg, "
                            "pwhash_opslimit, pwhash_memlimit, pwhash_salt, kek_check, dek_id, "
                            "dek_sealed) VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
    ins.BindBlob(1, meta.store_id).Bind(2, meta.created_at_ms).Bind(3, KeyKindName(meta.kind));
    if (meta.kind == KeyKind::kPassphrase) {
      ins.Bind(4, int64_t{meta.pwhash.alg})
          .Bind(5, static_cast<int64_t>(meta.pwhash.opslimit))
          .Bind(6, static_cast<int64_t>(meta.pwhash.memlimit))
          .BindBlob(7, meta.salt);
    }
    ins.BindBlob(8, meta.kek_check).Bind(9, meta.dek_id).BindBlob(10, meta.dek_sealed);
    LK_RETURN_IF_ERROR(ins.Run());
    return txn->Commit();
  };
  Status created = create_db();
  if (!created.ok()) {
    if (wrote_key_file) ::unlink(key.unlock_key_file().c_str());
    return created;
  }
  store->store_id_ = meta.store_id;
  store->key_kind_ = meta.kind;
  if (unlock_key_text != nullptr && key.kind() == KeyKind::kUnlockKey) {
    LK_ASSIGN_OR_RETURN(*unlock_key_text, FormatUnlockKey(store->kek_));
  }
  return store;
}

Result<KeyKind> Store::ProbeKeyKind(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    return FailedPreconditionError("store " + path +
                                   " does not exist; create it with `latchkey store init`");
  }
  if (st.st_size == 0) return DataLossError("store " + path + " is corrupt: the file is empty");
  LK_ASSIGN_OR_RETURN(auto db, Db::Open(path, false, 10000));
  LK_ASSIGN_OR_RETURN(int version, ReadSchemaVersion(db.get()));
  if (version == 0) {
    return FailedPreconditionError("store " + path +
                                   " is not initialised; run `latchkey store init`");
  }
  LK_ASSIGN_OR_RETURN(Meta meta, ReadMeta(db.get()));
  return meta.kind;
}

Result<std::unique_ptr<Store>> Store::Open(const std::string& path, const KeySource& key,
                                           const OpenOptions& options) {
  LK_RETURN_IF_ERROR(EnsureSodium());
  std::unique_ptr<Store> store(new Store());
  store->path_ = path;
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) {
      return FailedPreconditionError("store " + path +
                                     " does not exist; create it with `latchkey store init`");
    }
    return PermissionDeniedError("cannot access store " + path + ": " + std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) {
    return FailedPreconditionError("store " + path + " is not a regular file");
  }
  if (st.st_size == 0) return store->Corrupt("the file is empty");
  LK_ASSIGN_OR_RETURN(store->db_, Db::Open(path, false, options.busy_timeout_ms));
  Db* db = store->db_.get();
  LK_ASSIGN_OR_RETURN(int version, ReadSchemaVersion(db));
  if (version == 0) {
    return FailedPreconditionError("store " + path +
                                   " is not initialised; run `latchkey store init`");
  }
  if (version != kSchemaVersion) {
    LK_ASSIGN_OR_RETURN(auto txn, Transaction::Begin(db));
    LK_ASSIGN_OR_RETURN(version, ReadSchemaVersion(db));
    LK_RETURN_IF_ERROR(Migrate(db, version));
    LK_RETURN_IF_ERROR(txn->Commit());
  }
  LK_ASSIGN_OR_RETURN(Meta meta, ReadMeta(db));
  LK_ASSIGN_OR_RETURN(store->kek_, DeriveKekFor(meta, key, path));
  LK_RETURN_IF_ERROR(store->LoadDek(meta));
  store->store_id_ = meta.store_id;
  store->key_kind_ = meta.kind;
  if (key.kind() == KeyKind::kUnlockKey) store->unlock_key_file_ = key.unlock_key_file();
  return store;
}

Status Store::InsertVersionLocked(int64_t secret_id, const std::string& name, uint64_t version,
                                  std::span<const uint8_t> data, int64_t now_ms) {
  std::vector<uint8_t> sealed = Seal(dek_, data, VersionAd(store_id_, name, version, dek_id_));
  LK_ASSIGN_OR_RETURN(auto ins, db_->PrepareCached("INSERT INTO versions (secret_id, version, "
                                                   "created_at_ms, size, dek_id, sealed) "
                                                   "VALUES (?, ?, ?, ?, ?, ?)"));
  ins->Bind(1, secret_id)
      .Bind(2, static_cast<int64_t>(version))
      .Bind(3, now_ms)
      .Bind(4, static_cast<int64_t>(data.size()))
      .Bind(5, dek_id_)
      .BindBlob(6, sealed);
  return ins->Run();
}

Status Store::InsertSecretLocked(const std::string& name, std::span<const uint8_t> data,
                                 const Labels& labels, int64_t now_ms) {
  LK_RETURN_IF_ERROR(ValidateName(name));
  LK_RETURN_IF_ERROR(ValidateDataSize(data.size()));
  LK_RETURN_IF_ERROR(ValidateLabels(labels));
  {
    LK_ASSIGN_OR_RETURN(auto q, db_->PrepareCached("SELECT 1 FROM secrets WHERE name = ?"));
    q->Bind(1, name);
    LK_ASSIGN_OR_RETURN(bool exists, q->Step());
    if (exists) return AlreadyExistsError("secret " + name + " already exists");
  }
  LK_ASSIGN_OR_RETURN(auto ins, db_->PrepareCached("INSERT INTO secrets (name, created_at_ms, "
                                                   "updated_at_ms, latest_version) "
                                                   "VALUES (?, ?, ?, 1)"));
  ins->Bind(1, name).Bind(2, now_ms).Bind(3, now_ms);
  LK_RETURN_IF_ERROR(ins->Run());
  int64_t id = sqlite3_last_insert_rowid(db_->raw());
  for (const auto& [k, v] : labels) {
    LK_ASSIGN_OR_RETURN(
        auto lab,
        db_->PrepareCached("INSERT INTO labels (secret_id, key, value) VALUES (?, ?, ?)"));
    lab->Bind(1, id).Bind(2, k).Bind(3, v);
    LK_RETURN_IF_ERROR(lab->Run());
  }
  return InsertVersionLocked(id, name, 1, data, now_ms);
}

Result<SecretInfo> Store::Create(const std::string& name, std::span<const uint8_t> data,
                                 const Labels& labels) {
  LK_RETURN_IF_ERROR(ValidateName(name));
  LK_RETURN_IF_ERROR(ValidateDataSize(data.size()));
  LK_RETURN_IF_ERROR(ValidateLabels(labels));
  std::lock_guard<std::mutex> lock(mu_);
  int64_t now = NowMs();
  LK_ASSIGN_OR_RETURN(auto txn, Transaction::Begin(db_.get()));
  LK_RETURN_IF_ERROR(RefreshKeys());
  LK_RETURN_IF_ERROR(InsertSecretLocked(name, data, labels, now));
  LK_RETURN_IF_ERROR(txn->Commit());
  SecretInfo info;
  info.name = name;
  info.latest_version = 1;
  info.created_at_ms = info.updated_at_ms = now;
  info.labels = labels;
  info.versions.push_back({1, now, data.size()});
  return info;
}

Status Store::CreateMany(std::span<const NewSecret> secrets) {
  for (const NewSecret& s : secrets) {
    LK_RETURN_IF_ERROR(ValidateName(s.name));
    LK_RETURN_IF_ERROR(ValidateDataSize(s.data.size()));
    LK_RETURN_IF_ERROR(ValidateLabels(s.labels));
  }
  std::lock_guard<std::mutex> lock(mu_);
  int64_t now = NowMs();
  LK_ASSIGN_OR_RETURN(auto txn, Transaction::Begin(db_.get()));
  LK_RETURN_IF_ERROR(RefreshKeys());
  for (const NewSecret& s : secrets) {
    LK_RETURN_IF_ERROR(InsertSecretLocked(s.name, s.data, s.labels, now));
  }
  return txn->Commit();
}

Result<uint64_t> Store::Rotate(const std::string& name, std::span<const uint8_t> data) {
  LK_RETURN_IF_ERROR(ValidateName(name));
  LK_RETURN_IF_ERROR(ValidateDataSize(data.size()));
  std::lock_guard<std::mutex> lock(mu_);
  int64_t now = NowMs();
  LK_ASSIGN_OR_RETURN(auto txn, Transaction::Begin(db_.get()));
  LK_RETURN_IF_ERROR(RefreshKeys());
  int64_t id = 0;
  uint64_t version = 0;
  {
    LK_ASSIGN_OR_RETURN(
        auto q, db_->PrepareCached("SELECT id, latest_version FROM secrets WHERE name = ?"));
    q->Bind(1, name);
    LK_ASSIGN_OR_RETURN(bool row, q->Step());
    if (!row) return SecretNotFound(name);
    id = q->ColumnInt(0);
    version = static_cast<uint64_t>(q->ColumnInt(1)) + 1;
  }
  LK_RETURN_IF_ERROR(InsertVersionLocked(id, name, version, data, now));
  LK_ASSIGN_OR_RETURN(auto upd, db_->PrepareCached("UPDATE secrets SET latest_version = ?, "
                                                   "updated_at_ms = ? WHERE id = ?"));
  upd->Bind(1, static_cast<int64_t>(version)).Bind(2, now).Bind(3, id);
  LK_RETURN_IF_ERROR(upd->Run());
  LK_RETURN_IF_ERROR(txn->Commit());
  return version;
}

Status Store::Remove(const std::string& name) {
  LK_RETURN_IF_ERROR(ValidateName(name));
  std::lock_guard<std::mutex> lock(mu_);
  LK_ASSIGN_OR_RETURN(auto txn, Transaction::Begin(db_.get()));
  LK_ASSIGN_OR_RETURN(Stmt del, db_->Prepare("DELETE FROM secrets WHERE name = ?"));
  del.Bind(1, name);
  LK_RETURN_IF_ERROR(del.Run());
  if (db_->Changes() == 0) return SecretNotFound(name);
  return txn->Commit();
}

Result<std::vector<SecretInfo>> Store::List(const ListFilter& filter) {
  std::lock_guard<std::mutex> lock(mu_);
  // One read snapshot for both queries.
  LK_RETURN_IF_ERROR(db_->Exec("BEGIN"));
  EndRead end_read{db_.get()};
  std::unordered_map<int64_t, Labels> labels;
  {
    LK_ASSIGN_OR_RETURN(Stmt q, db_->Prepare("SELECT secret_id, key, value FROM labels"));
    while (true) {
      LK_ASSIGN_OR_RETURN(bool row, q.Step());
      if (!row) break;
      labels[q.ColumnInt(0)][q.ColumnText(1)] = q.ColumnText(2);
    }
  }
  std::vector<SecretInfo> out;
  LK_ASSIGN_OR_RETURN(Stmt q, db_->Prepare("SELECT id, name, created_at_ms, updated_at_ms, "
                                           "latest_version FROM secrets ORDER BY name"));
  while (true) {
    LK_ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    SecretInfo info;
    info.name = q.ColumnText(1);
    if (!filter.name_prefixes.empty()) {
      bool any = false;
      for (const std::string& p : filter.name_prefixes) any = any || info.name.starts_with(p);
      if (!any) continue;
    }
    auto it = labels.find(q.ColumnInt(0));
    if (it != labels.end()) info.labels = std::move(it->second);
    bool match = true;
    for (const LabelFilter& lf : filter.labels) {
      auto l = info.labels.find(lf.key);
      match = match && l != info.labels.end() && (!lf.value || *lf.value == l->second);
    }
    if (!match) continue;
    info.created_at_ms = q.ColumnInt(2);
    info.updated_at_ms = q.ColumnInt(3);
    info.latest_version = static_cast<uint64_t>(q.ColumnInt(4));
    out.push_back(std::move(info));
  }
  return out;
}

Status Store::VersionNotFound(const Reference& ref) {
  LK_ASSIGN_OR_RETURN(auto q,
                      db_->PrepareCached("SELECT latest_version FROM secrets WHERE name = ?"));
  q->Bind(1, ref.name);
  LK_ASSIGN_OR_RETURN(bool row, q->Step());
  if (!row) return SecretNotFound(ref.name);
  uint64_t latest = static_cast<uint64_t>(q->ColumnInt(0));
  if (ref.version == 0 || ref.version <= latest) {
    uint64_t v = ref.version == 0 ? latest : ref.version;
    return Corrupt("secret " + ref.name + " version " + std::to_string(v) + " is missing");
  }
  return NoSuchVersion(ref, latest);
}

Result<SecretInfo> Store::Inspect(const Reference& ref) {
  LK_RETURN_IF_ERROR(ValidateName(ref.name));
  std::lock_guard<std::mutex> lock(mu_);
  LK_RETURN_IF_ERROR(db_->Exec("BEGIN"));
  EndRead end_read{db_.get()};
  SecretInfo info;
  int64_t id = 0;
  {
    LK_ASSIGN_OR_RETURN(Stmt q, db_->Prepare("SELECT id, name, created_at_ms, updated_at_ms, "
                                             "latest_version FROM secrets WHERE name = ?"));
    q.Bind(1, ref.name);
    LK_ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) return SecretNotFound(ref.name);
    id = q.ColumnInt(0);
    info.name = q.ColumnText(1);
    info.created_at_ms = q.ColumnInt(2);
    info.updated_at_ms = q.ColumnInt(3);
    info.latest_version = static_cast<uint64_t>(q.ColumnInt(4));
  }
  if (ref.version > info.latest_version) {
    return NoSuchVersion(ref, info.latest_version);
  }
  {
    LK_ASSIGN_OR_RETURN(Stmt q, db_->Prepare("SELECT key, value FROM labels WHERE secret_id = ?"));
    q.Bind(1, id);
    while (true) {
      LK_ASSIGN_OR_RETURN(bool row, q.Step());
      if (!row) break;
      info.labels[q.ColumnText(0)] = q.ColumnText(1);
    }
  }
  LK_ASSIGN_OR_RETURN(Stmt q, db_->Prepare("SELECT version, created_at_ms, size FROM versions "
                                           "WHERE secret_id = ?1 AND (?2 = 0 OR version = ?2) "
                                           "ORDER BY version"));
  q.Bind(1, id).Bind(2, static_cast<int64_t>(ref.version));
  while (true) {
    LK_ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    info.versions.push_back({static_cast<uint64_t>(q.ColumnInt(0)), q.ColumnInt(1),
                             static_cast<uint64_t>(q.ColumnInt(2))});
  }
  if (ref.version != 0 && info.versions.empty()) {
    return Corrupt("secret " + ref.name + " version " + std::to_string(ref.version) +
                   " is missing");
  }
  return info;
}

Result<uint64_t> Store::ReadInto(const Reference& ref, const SecretAllocator& alloc, uint8_t** data,
                                 size_t* len) {
  *data = nullptr;
  *len = 0;
  LK_RETURN_IF_ERROR(ValidateName(ref.name));
  std::lock_guard<std::mutex> lock(mu_);
  LK_ASSIGN_OR_RETURN(auto q,
                      db_->PrepareCached("SELECT v.version, v.dek_id, v.sealed FROM secrets s "
                                         "JOIN versions v ON v.secret_id = s.id AND v.version = "
                                         "(CASE WHEN ?2 = 0 THEN s.latest_version ELSE ?2 END) "
                                         "WHERE s.name = ?1"));
  q->Bind(1, ref.name).Bind(2, static_cast<int64_t>(ref.version));
  LK_ASSIGN_OR_RETURN(bool row, q->Step());
  if (!row) return VersionNotFound(ref);
  uint64_t version = static_cast<uint64_t>(q->ColumnInt(0));
  int64_t dek_id = q->ColumnInt(1);
  std::span<const uint8_t> sealed = q->ColumnBlob(2);
  std::string what = "secret " + ref.name + " version " + std::to_string(version);
  if (dek_id != dek_id_) {
    LK_RETURN_IF_ERROR(RefreshKeys());
    if (dek_id != dek_id_) {
      return Corrupt(what + " is sealed with data key " + std::to_string(dek_id) +
                     ", but the store's data key is " + std::to_string(dek_id_));
    }
  }
  size_t n = OpenedSize(sealed);
  if (n == 0) return Corrupt(what + " has a truncated ciphertext");
  uint8_t* out = alloc(n);
  if (out == nullptr) {
    return ResourceExhaustedError("out of secure memory reading " + what + " (" +
                                  std::to_string(n) + " bytes)");
  }
  *data = out;
  *len = n;
  if (!Unseal(dek_, sealed, VersionAd(store_id_, ref.name, version, dek_id), out)) {
    return Corrupt(what +
                   " does not decrypt (the row was modified or moved from another secret or "
                   "version)");
  }
  return version;
}

Result<SecretValue> Store::Read(const Reference& ref) {
  SecretBuffer buf;
  Status alloc_status;
  auto alloc = [&](size_t n) -> uint8_t* {
    auto b = SecretBuffer::Allocate(n);
    if (!b.ok()) return nullptr;
    buf = std::move(b).value();
    return buf.mutable_data();
  };
  uint8_t* data = nullptr;
  size_t len = 0;
  LK_ASSIGN_OR_RETURN(uint64_t version, ReadInto(ref, alloc, &data, &len));
  buf.Seal();
  return SecretValue{std::move(buf), version};
}

Status Store::RekeyKek(const KeySource& new_key, SecretBuffer* unlock_key_text) {
  std::lock_guard<std::mutex> lock(mu_);
  Meta next;
  next.kind = new_key.kind();
  SecretBuffer new_kek;
  std::string target, pending;
  if (new_key.kind() == KeyKind::kPassphrase) {
    LK_ASSIGN_OR_RETURN(next.pwhash, DefaultPwhashParams());
    next.salt = RandomBytes(kSaltBytes);
    LK_ASSIGN_OR_RETURN(new_kek, DeriveKek(new_key.passphrase().bytes(), next.salt, next.pwhash));
  } else {
    target = new_key.unlock_key_file();
    if (target != unlock_key_file_ && FileExists(target)) {
      return AlreadyExistsError("unlock key file " + target + " already exists");
    }
    LK_RETURN_IF_ERROR(base::MakeDirs(base::DirName(target), 0700));
    LK_ASSIGN_OR_RETURN(new_kek, RandomKey());
    pending = target + ".new";
    LK_RETURN_IF_ERROR(WriteUnlockKeyFile(pending, new_kek, false));
  }
  auto commit = [&]() -> Status {
    LK_ASSIGN_OR_RETURN(auto txn, Transaction::Begin(db_.get()));
    LK_RETURN_IF_ERROR(RefreshKeys());
    LK_ASSIGN_OR_RETURN(
        Stmt upd, db_->Prepare("UPDATE meta SET kek_kind = ?, pwhash_alg = ?, pwhash_opslimit = ?, "
                               "pwhash_memlimit = ?, pwhash_salt = ?, kek_check = ?, "
                               "dek_sealed = ? WHERE id = 1"));
    upd.Bind(1, KeyKindName(next.kind));
    if (next.kind == KeyKind::kPassphrase) {
      upd.Bind(2, int64_t{next.pwhash.alg})
          .Bind(3, static_cast<int64_t>(next.pwhash.opslimit))
          .Bind(4, static_cast<int64_t>(next.pwhash.memlimit))
          .BindBlob(5, next.salt);
    }
    upd.BindBlob(6, KekCheck(new_kek, store_id_))
        .BindBlob(7, Seal(new_kek, dek_.bytes(), DekAd(store_id_, dek_id_)));
    LK_RETURN_IF_ERROR(upd.Run());
    return txn->Commit();
  };
  Status st = commit();
  if (!st.ok()) {
    if (!pending.empty()) ::unlink(pending.c_str());
    return st;
  }
  if (!pending.empty()) {
    LK_RETURN_IF_ERROR(RenameDurably(pending, target));
    if (unlock_key_text != nullptr) {
      LK_ASSIGN_OR_RETURN(*unlock_key_text, FormatUnlockKey(new_kek));
    }
  }
  kek_ = std::move(new_kek);
  key_kind_ = next.kind;
  unlock_key_file_ = target;
  return Status::OK();
}

Status Store::RekeyData() {
  std::lock_guard<std::mutex> lock(mu_);
  LK_ASSIGN_OR_RETURN(SecretBuffer new_dek, RandomKey());
  LK_ASSIGN_OR_RETURN(SecretBuffer scratch, SecretBuffer::Allocate(kMaxSecretSize));
  LK_ASSIGN_OR_RETURN(auto txn, Transaction::Begin(db_.get()));
  LK_RETURN_IF_ERROR(RefreshKeys());
  int64_t new_id = dek_id_ + 1;
  struct Row {
    int64_t secret_id;
    std::string name;
    uint64_t version;
    int64_t dek_id;
  };
  std::vector<Row> rows;
  {
    LK_ASSIGN_OR_RETURN(Stmt q, db_->Prepare("SELECT v.secret_id, s.name, v.version, v.dek_id "
                                             "FROM versions v JOIN secrets s ON s.id = "
                                             "v.secret_id"));
    while (true) {
      LK_ASSIGN_OR_RETURN(bool row, q.Step());
      if (!row) break;
      rows.push_back(
          {q.ColumnInt(0), q.ColumnText(1), static_cast<uint64_t>(q.ColumnInt(2)), q.ColumnInt(3)});
    }
  }
  LK_ASSIGN_OR_RETURN(Stmt sel, db_->Prepare("SELECT sealed FROM versions WHERE secret_id = ? "
                                             "AND version = ?"));
  LK_ASSIGN_OR_RETURN(Stmt upd, db_->Prepare("UPDATE versions SET dek_id = ?, sealed = ? "
                                             "WHERE secret_id = ? AND version = ?"));
  for (const Row& r : rows) {
    std::string what = "secret " + r.name + " version " + std::to_string(r.version);
    if (r.dek_id != dek_id_) {
      return Corrupt(what + " is sealed with data key " + std::to_string(r.dek_id) +
                     ", but the store's data key is " + std::to_string(dek_id_));
    }
    sel.Reset();
    sel.Bind(1, r.secret_id).Bind(2, static_cast<int64_t>(r.version));
    LK_ASSIGN_OR_RETURN(bool row, sel.Step());
    if (!row) return Corrupt(what + " vanished during rekey");
    std::span<const uint8_t> sealed = sel.ColumnBlob(0);
    size_t n = OpenedSize(sealed);
    if (n == 0 || n > kMaxSecretSize) return Corrupt(what + " has a truncated ciphertext");
    if (!Unseal(dek_, sealed, VersionAd(store_id_, r.name, r.version, r.dek_id),
                scratch.mutable_data())) {
      return Corrupt(what +
                     " does not decrypt (the row was modified or moved from another secret or "
                     "version)");
    }
    std::vector<uint8_t> resealed = Seal(new_dek, std::span<const uint8_t>(scratch.data(), n),
                                         VersionAd(store_id_, r.name, r.version, new_id));
    sodium_memzero(scratch.mutable_data(), n);
    sel.Reset();
    upd.Reset();
    upd.Bind(1, new_id)
        .BindBlob(2, resealed)
        .Bind(3, r.secret_id)
        .Bind(4, static_cast<int64_t>(r.version));
    LK_RETURN_IF_ERROR(upd.Run());
  }
  LK_ASSIGN_OR_RETURN(Stmt meta,
                      db_->Prepare("UPDATE meta SET dek_id = ?, dek_sealed = ? WHERE id = 1"));
  meta.Bind(1, new_id).BindBlob(2, Seal(kek_, new_dek.bytes(), DekAd(store_id_, new_id)));
  LK_RETURN_IF_ERROR(meta.Run());
  LK_RETURN_IF_ERROR(txn->Commit());
  dek_ = std::move(new_dek);
  dek_id_ = new_id;
  return Status::OK();
}

Result<StoreStatus> Store::GetStatus() {
  std::lock_guard<std::mutex> lock(mu_);
  LK_ASSIGN_OR_RETURN(Meta meta, ReadMeta(db_.get()));
  StoreStatus s;
  s.path = path_;
  s.store_id = Hex(meta.store_id);
  LK_ASSIGN_OR_RETURN(s.schema_version, ReadSchemaVersion(db_.get()));
  s.key_kind = meta.kind;
  s.pwhash = meta.pwhash;
  s.data_key_id = meta.dek_id;
  s.created_at_ms = meta.created_at_ms;
  LK_ASSIGN_OR_RETURN(Stmt q, db_->Prepare("SELECT (SELECT COUNT(*) FROM secrets), "
                                           "(SELECT COUNT(*) FROM versions)"));
  LK_ASSIGN_OR_RETURN(bool row, q.Step());
  if (row) {
    s.secrets = static_cast<uint64_t>(q.ColumnInt(0));
    s.versions = static_cast<uint64_t>(q.ColumnInt(1));
  }
  return s;
}

Status Store::CheckHealth() {
  std::lock_guard<std::mutex> lock(mu_);
  struct stat st;
  if (::stat(path_.c_str(), &st) != 0) {
    return UnavailableError("store " + path_ + " no longer exists");
  }
  LK_ASSIGN_OR_RETURN(Meta meta, ReadMeta(db_.get()));
  if (!KekCheckMatches(kek_, meta.store_id, meta.kek_check)) {
    return UnauthenticatedError("wrong unlock key or passphrase for store " + path_ +
                                " (the store was rekeyed since it was opened)");
  }
  if (meta.dek_id != dek_id_) LK_RETURN_IF_ERROR(LoadDek(meta));
  return Status::OK();
}

}  // namespace latchkey::store
