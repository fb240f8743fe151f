// Helpers shared by the store's tests: byte spans, raw SQL (the temporary directory is
// base/testutil.h's).
#ifndef LATCHKEY_STORE_TEST_UTIL_H_
#define LATCHKEY_STORE_TEST_UTIL_H_

#include <sqlite3.h>
#include <stdlib.h>

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>

#include "base/testutil.h"
#include "secure/secret_buffer.h"

namespace latchkey::store::testing {

// A fresh directory under $TMPDIR (or /tmp), removed with its contents on destruction.
using base::testing::TempDir;

inline std::span<const uint8_t> Bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

inline std::string_view View(const SecretBuffer& b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

// Runs `sql` on the database file directly (what an attacker with file access could do).
inline int RawSql(const std::string& db_path, const std::string& sql) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open(db_path.c_str(), &db);
  if (rc == SQLITE_OK) rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr);
  sqlite3_close(db);
  return rc;
}

// Makes Argon2id cheap for tests (the limits are recorded in the store, so opening matches).
inline void UseMinPwhashLimits() { ::setenv("LATCHKEY_STORE_PWHASH_LIMITS", "min", 1); }

}  // namespace latchkey::store::testing

#endif  // LATCHKEY_STORE_TEST_UTIL_H_
