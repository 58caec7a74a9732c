// SqliteStatementCache: statements prepared once per connection, finalized with it.
#include "sqlite_statement_cache.h"

#include <sqlite3.h>

namespace hearth::server::sql {

void SqliteStatementCache::Finalize::operator()(sqlite3_stmt* st) const { sqlite3_finalize(st); }

void SqliteStatementCache::reset(sqlite3* db) {
  statements_.clear();
  db_ = db;
}

StatusOr<sqlite3_stmt*> SqliteStatementCache::get(const std::string& sql) {
  if (auto it = statements_.find(sql); it != statements_.end()) return it->second.get();
  if (db_ == nullptr) return UnavailableError("statement \"" + sql + "\": no open connection");
  sqlite3_stmt* st = nullptr;
  const char* tail = nullptr;
  int rc = sqlite3_prepare_v2(db_, sql.c_str(), static_cast<int>(sql.size() + 1), &st, &tail);
  std::unique_ptr<sqlite3_stmt, Finalize> owned(st);
  if (rc != SQLITE_OK) return SqliteError(db_, rc, sql);
  if (st == nullptr) return InternalError("statement \"" + sql + "\": no SQL in it");
  if (tail != nullptr && *tail != '\0') {
    return InternalError("statement \"" + sql + "\": more than one statement");
  }
  sqlite3_stmt* raw = owned.get();
  statements_.emplace(sql, std::move(owned));
  return raw;
}

SqliteStatementUse::~SqliteStatementUse() {
  sqlite3_reset(st_);
  sqlite3_clear_bindings(st_);
}

Status SqliteError(sqlite3* db, int rc, const std::string& sql, bool* damaged) {
  const int primary = rc & 0xff;
  if (damaged != nullptr) *damaged = primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB;
  std::string message = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  return UnavailableError("statement \"" + sql + "\": " + message + " (SQLite error " +
                          std::to_string(rc) + ")");
}

}  // namespace hearth::server::sql
