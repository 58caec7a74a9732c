// Prepared SQLite statements kept across executions on one raw connection, keyed by their SQL.
// Poco::Data 1.11 prepares a SQLite statement again (sqlite3_prepare_v2) at every execute():
// on the ingest path that was about a third of the writer's time (issue 14's 10 % figure). Only
// SqlSession uses this, for its hot statements (hot_statement.h): one cache per connection.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <unordered_map>

#include "hearth/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace hearth::server::sql {

// Not thread-safe: used on one connection under its lock (the writer's, or a reader's lease).
class SqliteStatementCache {
 public:
  SqliteStatementCache() = default;
  ~SqliteStatementCache() { reset(nullptr); }
  SqliteStatementCache(const SqliteStatementCache&) = delete;
  SqliteStatementCache& operator=(const SqliteStatementCache&) = delete;

  // Finalizes every statement and prepares the next ones on `db` (none: nullptr). Called before
  // the connection the statements belong to closes, and with the new one when it is reopened.
  void reset(sqlite3* db);

  // The statement for `sql`, prepared on its first use, then the same one. Its caller resets it
  // and clears its bindings after each use (SqliteStatementUse). Errors: Unavailable naming
  // `sql` (no connection, or the database refused to prepare it).
  StatusOr<sqlite3_stmt*> get(const std::string& sql);

  // How many statements are prepared.
  size_t size() const { return statements_.size(); }

 private:
  struct Finalize {
    void operator()(sqlite3_stmt* st) const;
  };
  sqlite3* db_ = nullptr;
  std::unordered_map<std::string, std::unique_ptr<sqlite3_stmt, Finalize>> statements_;
};

// One use of a cached statement: when it ends, however it ends, the statement is reset and its
// bindings cleared (ready for the next use, holding no lock and no pointer to the caller's
// variables).
class SqliteStatementUse {
 public:
  explicit SqliteStatementUse(sqlite3_stmt* st) : st_(st) {}
  ~SqliteStatementUse();
  SqliteStatementUse(const SqliteStatementUse&) = delete;
  SqliteStatementUse& operator=(const SqliteStatementUse&) = delete;
  sqlite3_stmt* get() const { return st_; }

 private:
  sqlite3_stmt* st_;
};

// The error `rc` met by `sql` on `db` (its message from sqlite3_errmsg), as a Status naming the
// statement; `damaged` tells whether the database said its pages are corrupt.
Status SqliteError(sqlite3* db, int rc, const std::string& sql, bool* damaged = nullptr);

}  // namespace hearth::server::sql
