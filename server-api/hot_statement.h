// A statement of a hot path (the ingest writer): prepared once, executed many times with
// variables bound by reference, read at each execution (as Poco's use()/into()). Errors are
// Status values naming the statement; no exception leaves execute().
//   SQLite: through SqliteStatementCache on the raw connection (Poco::Data 1.11 prepares a
//   SQLite statement again at every execute(): a third of ingest's time).
//   PostgreSQL: a Poco statement (its connector prepares once, PQprepare, and re-executes it
//   with PQexecPrepared: nothing to gain there).
// Made by SqlSession::prepareHot; executed on the writer, inside write() or transaction().
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
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
                              std::vector<std::string>*, std::vector<Poco::Int64>*>;
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

  const std::string& sql() const { return sql_; }

 protected:
  const std::string sql_;
  std::vector<Param> params_;
  std::vector<Column> columns_;
};

// `sql` on the connection of `cache` (its statements live there, dropped when it is reopened).
std::unique_ptr<HotStatement> NewSqliteHotStatement(SqliteStatementCache& cache, std::string sql,
                                                    HotStatement::OnFailure on_failure);
// `sql` (placeholders already `$n`) as a Poco statement on the session `session()` returns at
// each execution (bound again when it is another one, or after a failure). `damaged` tells
// whether an exception says the database is damaged (SqlSession::isDamage).
std::unique_ptr<HotStatement> NewPocoHotStatement(
    std::function<Poco::Data::Session&()> session, std::string sql,
    HotStatement::OnFailure on_failure, std::function<bool(const std::exception&)> damaged);

}  // namespace hearth::server::sql
