#include "store/schema.h"

#include <string>

namespace latchkey::store {
namespace {

// Index i holds migration i + 1. Append only; never edit a released migration.
constexpr const char* kMigrations[] = {
    // 1: the initial schema.
    R"sql(
CREATE TABLE meta (
  id              INTEGER PRIMARY KEY CHECK (id = 1),
  store_id        BLOB    NOT NULL,
  created_at_ms   INTEGER NOT NULL,
  kek_kind        TEXT    NOT NULL CHECK (kek_kind IN ('unlock-key', 'passphrase')),
  pwhash_alg      INTEGER,
  pwhash_opslimit INTEGER,
  pwhash_memlimit INTEGER,
  pwhash_salt     BLOB,
  kek_check       BLOB    NOT NULL,
  dek_id          INTEGER NOT NULL,
  dek_sealed      BLOB    NOT NULL
);
CREATE TABLE secrets (
  id              INTEGER PRIMARY KEY,
  name            TEXT    NOT NULL UNIQUE,
  created_at_ms   INTEGER NOT NULL,
  updated_at_ms   INTEGER NOT NULL,
  latest_version  INTEGER NOT NULL
);
CREATE TABLE labels (
  secret_id       INTEGER NOT NULL REFERENCES secrets (id) ON DELETE CASCADE,
  key             TEXT    NOT NULL,
  value           TEXT    NOT NULL,
  PRIMARY KEY (secret_id, key)
) WITHOUT ROWID;
CREATE TABLE versions (
  secret_id       INTEGER NOT NULL REFERENCES secrets (id) ON DELETE CASCADE,
  version         INTEGER NOT NULL,
  created_at_ms   INTEGER NOT NULL,
  size            INTEGER NOT NULL,
  dek_id          INTEGER NOT NULL,
  sealed          BLOB    NOT NULL,
  PRIMARY KEY (secret_id, version)
) WITHOUT ROWID;
)sql",
};

static_assert(sizeof(kMigrations) / sizeof(kMigrations[0]) == kSchemaVersion);

}  // namespace

Result<int> ReadSchemaVersion(Db* db) {
  LK_ASSIGN_OR_RETURN(Stmt stmt, db->Prepare("PRAGMA user_version"));
  LK_ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return InternalError("store " + db->path() + ": PRAGMA user_version returned no row");
  return static_cast<int>(stmt.ColumnInt(0));
}

Status Migrate(Db* db, int from) {
  if (from > kSchemaVersion) {
    return FailedPreconditionError("store " + db->path() + " has schema version " +
                                   std::to_string(from) + ", newer than this latchkey supports (" +
                                   std::to_string(kSchemaVersion) + "); upgrade latchkey");
  }
  for (int v = from + 1; v <= kSchemaVersion; ++v) {
    LK_RETURN_IF_ERROR(db->Exec(kMigrations[v - 1]));
  }
  std::string set = "PRAGMA user_version=" + std::to_string(kSchemaVersion);
  return db->Exec(set.c_str());
}

}  // namespace latchkey::store
