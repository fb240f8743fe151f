// Thin RAII wrappers over the SQLite C API, with errors as Status values.
//
// Every error message starts with "store <path>: " or, for damaged files (SQLITE_CORRUPT,
// SQLITE_NOTADB), "store <path> is corrupt: " with code DATA_LOSS, so a damaged database is
// never reported as a missing secret.
//
// Thread-safety: a Db and its statements are used by one thread at a time (the Store holds a
// mutex around them).
#ifndef LATCHKEY_STORE_SQLITE_DB_H_
#define LATCHKEY_STORE_SQLITE_DB_H_

#include <sqlite3.h>

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "latchkey/status.h"

namespace latchkey::store {

class Db;

// A prepared statement. Finalized on destruction. Bind* indices are 1-based; Column* 0-based.
class Stmt {
 public:
  Stmt(Db* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  ~Stmt();
  Stmt(Stmt&& other) noexcept : db_(other.db_), stmt_(other.stmt_) { other.stmt_ = nullptr; }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  Stmt& Bind(int i, int64_t v);
  Stmt& Bind(int i, std::string_view text);
  // Binds a BLOB; SQLite copies the bytes (SQLITE_TRANSIENT).
  Stmt& BindBlob(int i, std::span<const uint8_t> bytes);

  // Advances: true when a row is available, false when done. Errors map as described above.
  Result<bool> Step();
  // Steps to completion, expecting no rows.
  Status Run();
  // Resets for re-execution and clears bindings.
  void Reset();

  int64_t ColumnInt(int i) const;
  std::string ColumnText(int i) const;
  // Valid until the next Step/Reset/destruction.
  std::span<const uint8_t> ColumnBlob(int i) const;
  bool ColumnIsNull(int i) const;

 private:
  Db* db_;
  sqlite3_stmt* stmt_;
};

class Db {
 public:
  // Opens `path` read-write (creating it when `create`), applies the store's connection
  // settings: WAL journal, synchronous=FULL, foreign keys, a busy timeout of `busy_timeout_ms`.
  static Result<std::unique_ptr<Db>> Open(const std::string& path, bool create,
                                          int busy_timeout_ms);
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  Result<Stmt> Prepare(std::string_view sql);
  // A statement prepared once per connection and kept; reset when the returned guard goes out
  // of scope (so it never holds a read snapshot open). Do not nest two uses of one `sql`.
  class Cached {
   public:
    explicit Cached(Stmt* stmt) : stmt_(stmt) {}
    Cached(Cached&& other) noexcept : stmt_(other.stmt_) { other.stmt_ = nullptr; }
    Cached(const Cached&) = delete;
    ~Cached() {
      if (stmt_ != nullptr) stmt_->Reset();
    }
    Stmt* operator->() const { return stmt_; }
    Stmt& operator*() const { return *stmt_; }

   private:
    Stmt* stmt_;
  };
  Result<Cached> PrepareCached(const std::string& sql);
  // Runs one or more statements without results.
  Status Exec(const char* sql);
  int64_t Changes() const;

  // The Status for SQLite result code `rc` of an operation described by `what`.
  Status Error(int rc, std::string_view what) const;

  const std::string& path() const { return path_; }
  sqlite3* raw() const { return db_; }

 private:
  Db(std::string path, sqlite3* db) : path_(std::move(path)), db_(db) {}
  std::string path_;
  sqlite3* db_;
  std::map<std::string, std::unique_ptr<Stmt>> cache_;
};

// BEGIN IMMEDIATE ... COMMIT; rolls back on destruction unless committed.
class Transaction {
 public:
  static Result<std::unique_ptr<Transaction>> Begin(Db* db);
  ~Transaction();
  Status Commit();

 private:
  explicit Transaction(Db* db) : db_(db) {}
  Db* db_;
  bool done_ = false;
};

}  // namespace latchkey::store

#endif  // LATCHKEY_STORE_SQLITE_DB_H_
