// The store's SQLite schema and its migrations (see docs/store-format.md, "Tables").
//
// PRAGMA user_version holds the schema version. Migration N takes a database at version N-1 to
// N; Open applies the missing ones in one transaction. Version 0 is an empty file.
// Thread-safety: operates on the caller's connection.
#ifndef LATCHKEY_STORE_SCHEMA_H_
#define LATCHKEY_STORE_SCHEMA_H_

#include "latchkey/status.h"
#include "store/sqlite_db.h"

namespace latchkey::store {

inline constexpr int kSchemaVersion = 1;

// PRAGMA user_version of `db`.
Result<int> ReadSchemaVersion(Db* db);

// Applies migrations from + 1 .. kSchemaVersion and sets user_version. Call inside a write
// transaction. FAILED_PRECONDITION when `from` is newer than this code knows.
Status Migrate(Db* db, int from);

}  // namespace latchkey::store

#endif  // LATCHKEY_STORE_SCHEMA_H_
