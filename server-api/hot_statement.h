// A statement of a hot path (the ingest writer, device authentication on the readers): prepared
// once per connection, executed many times with variables bound by reference, read at each
// execution (as Poco's use()/into()). Errors are Status values naming the statement; no
// exception leaves execute().
//   SQLite: through SqliteStatementCache on the raw connection (Poco::Data 1.11 prepares a
//   SQLite statement again at every execute(): a third of ingest's time).
//   PostgreSQL: a Poco statement kept across executions (its connector prepares it once,
//   PQprepare and PQdescribePrepared, and re-executes it with PQexecPrepared; a statement made
//   afresh for each execution costs four round trips, with a DEALLOCATE, instead of one).
// Made by SqlSession::prepareHot (the writer: executed inside write() or transaction()) and
// SqlSession::readHot (a reader session: executed inside it).
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include <Poco/Data/Session.h>
#include <Poco/Nullable.h>
#include <Poco/Types.h>

#include "hearth/status.h"
#include "sqlite_statement_cache.h"

namespace hearth::server::sql {

class HotStatement {
 public:
  // What a parameter (`?`, in order) or a column (in order) may be bound to.
  // (Parameters are not const: Poco's use() refuses const variables.)
  using Param = std::variant<std::string*, Poco::Int64*, int*, Poco::Nullable<std::string>*>;
  using Column = std::variant<std::string*, Poco::Int64*, Poco::Nullable<std::string>*,
                              std::vector<std::string>*, std::vector<Poco::Int64>*,
                              std::vector<Poco::Nullable<std::string>>*>;
  // Told about each failed execution: its Status, and whether the database said it is damaged.
  using OnFailure = std::function<void(const Status&, bool damaged)>;

  explicit HotStatement(std::string sql) : sql_(std::move(sql)) {}
  virtual ~HotStatement() = default;
  HotStatement(const HotStatement&) = delete;
  HotStatement& operator=(const HotStatement&) = delete;

  // The next parameter, read at each execution: `v` must outlive the statement.
  template <typename T>
  HotStatement& use(T& v) {
    params_.emplace_back(&v);
    return *this;
  }
  // The next column: a scalar takes the first row's value (kept as it is when there is no row;
  // NULL gives "" or 0, a Nullable stays null); a vector gets every row's value appended.
  template <typename T>
  HotStatement& into(T& v) {
    columns_.emplace_back(&v);
    return *this;
  }

  // Executes with the variables' current values: the rows changed (INSERT, UPDATE, DELETE) or
  // read (SELECT). Errors: Unavailable naming the statement (also told to OnFailure).
  virtual StatusOr<size_t> execute() = 0;

  // Forgets what it prepared on its connection (PostgreSQL: destroys its Poco statement while
  // that connection is still open; the next execute() prepares it again). SQLite: nothing (its
  // cache is reset with the connection). Not concurrently with execute().
  virtual void drop() {}

  const std::string& sql() const { return sql_; }

 protected:
  const std::string sql_;
  std::vector<Param> params_;
  std::vector<Column> columns_;
};

// `sql` on the connection of `cache` (its statements live there, dropped when it is reopened).
std::unique_ptr<HotStatement> NewSqliteHotStatement(SqliteStatementCache& cache, std::string sql,
                                                    HotStatement::OnFailure on_failure);
// The Poco hot statements of one connection that is opened again in place (the writer):
// dropAll() before it closes, so that no statement outlives the session it was prepared on
// (Poco 1.11's PostgreSQL connector then loses its last result: LeakSanitizer saw it).
// Thread-safe; a statement enrols itself when made and leaves when destroyed.
class HotStatementSet {
 public:
  void add(HotStatement* st);
  void remove(HotStatement* st);
  // drop() of every statement enrolled. REQUIRES: none of them executes meanwhile.
  void dropAll();

 private:
  std::mutex mu_;
  std::vector<HotStatement*> statements_;
};

// `sql` (placeholders already `$n`) as a Poco statement on the session `session()` returns at
// each execution (bound again when it is another one, after a failure or a drop()). `damaged`
// tells whether an exception says the database is damaged (SqlSession::isDamage). `set` (may be
// null): the statement enrols there for its whole life.
std::unique_ptr<HotStatement> NewPocoHotStatement(
    std::function<Poco::Data::Session&()> session, std::string sql,
    HotStatement::OnFailure on_failure, std::function<bool(const std::exception&)> damaged,
    std::shared_ptr<HotStatementSet> set = nullptr);

}  // namespace hearth::server::sql
