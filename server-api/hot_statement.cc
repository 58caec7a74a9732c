// HotStatement on SQLite (a cached sqlite3_stmt, bound and read directly) and on PostgreSQL (a
// Poco statement, which its connector prepares once).
#include "hot_statement.h"

#include <algorithm>
#include <exception>
#include <mutex>
#include <sqlite3.h>
#include <type_traits>

#include <Poco/Data/Statement.h>
#include <Poco/Exception.h>

namespace hearth::server::sql {

namespace {

class SqliteHotStatement final : public HotStatement {
 public:
  SqliteHotStatement(SqliteStatementCache& cache, std::string sql, OnFailure on_failure)
      : HotStatement(std::move(sql)), cache_(cache), on_failure_(std::move(on_failure)) {}

  StatusOr<size_t> execute() override {
    StatusOr<sqlite3_stmt*> got = cache_.get(sql_);
    if (!got.ok()) return failed(got.status(), false);
    SqliteStatementUse use(*got);
    sqlite3_stmt* st = use.get();
    sqlite3* db = sqlite3_db_handle(st);
    if (sqlite3_bind_parameter_count(st) != static_cast<int>(params_.size())) {
      return failed(InternalError("statement \"" + sql_ +
                                  "\": " + std::to_string(sqlite3_bind_parameter_count(st)) +
                                  " parameters, " + std::to_string(params_.size()) + " bound"),
                    false);
    }
    for (size_t i = 0; i < params_.size(); ++i) {
      int rc = bind(st, static_cast<int>(i) + 1, params_[i]);
      if (rc != SQLITE_OK) return sqliteFailed(db, rc);
    }
    if (!columns_.empty() && sqlite3_column_count(st) < static_cast<int>(columns_.size())) {
      return failed(
          InternalError("statement \"" + sql_ + "\": " + std::to_string(sqlite3_column_count(st)) +
                        " columns, " + std::to_string(columns_.size()) + " extracted"),
          false);
    }
    size_t rows = 0;
    for (;;) {
      int rc = sqlite3_step(st);
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) return sqliteFailed(db, rc);
      for (size_t c = 0; c < columns_.size(); ++c) {
        if (!extract(st, static_cast<int>(c), columns_[c], rows == 0)) {
          return failed(InternalError("statement \"" + sql_ +
                                      "\": more than one row for a "
                                      "single value"),
                        false);
        }
      }
      ++rows;
    }
    if (sqlite3_column_count(st) == 0) return static_cast<size_t>(sqlite3_changes(db));
    return rows;
  }

 private:
  static int bind(sqlite3_stmt* st, int at, const Param& p) {
    return std::visit(
        [&](auto* v) -> int {
          using T = std::remove_cv_t<std::remove_pointer_t<decltype(v)>>;
          if constexpr (std::is_same_v<T, std::string>) {
            return sqlite3_bind_text(st, at, v->data(), static_cast<int>(v->size()), SQLITE_STATIC);
          } else if constexpr (std::is_same_v<T, Poco::Int64>) {
            return sqlite3_bind_int64(st, at, *v);
          } else if constexpr (std::is_same_v<T, int>) {
            return sqlite3_bind_int(st, at, *v);
          } else {
            if (v->isNull()) return sqlite3_bind_null(st, at);
            const std::string& s = v->value();
            return sqlite3_bind_text(st, at, s.data(), static_cast<int>(s.size()), SQLITE_STATIC);
          }
        },
        p);
  }

  static std::string text(sqlite3_stmt* st, int c) {
    const unsigned char* t = sqlite3_column_text(st, c);
    if (t == nullptr) return std::string();
    return std::string(reinterpret_cast<const char*>(t),
                       static_cast<size_t>(sqlite3_column_bytes(st, c)));
  }

  // Column `c` of the current row into `out`; false for a second row into a scalar.
  static bool extract(sqlite3_stmt* st, int c, const Column& out, bool first_row) {
    return std::visit(
        [&](auto* v) -> bool {
          using T = std::remove_pointer_t<decltype(v)>;
          const bool null = sqlite3_column_type(st, c) == SQLITE_NULL;
          if constexpr (std::is_same_v<T, std::vector<std::string>>) {
            v->push_back(null ? std::string() : text(st, c));
          } else if constexpr (std::is_same_v<T, std::vector<Poco::Int64>>) {
            v->push_back(null ? 0 : sqlite3_column_int64(st, c));
          } else if constexpr (std::is_same_v<T, std::vector<Poco::Nullable<std::string>>>) {
            v->push_back(null ? Poco::Nullable<std::string>()
                              : Poco::Nullable<std::string>(text(st, c)));
          } else {
            if (!first_row) return false;
            if constexpr (std::is_same_v<T, std::string>) {
              *v = null ? std::string() : text(st, c);
            } else if constexpr (std::is_same_v<T, Poco::Int64>) {
              *v = null ? 0 : sqlite3_column_int64(st, c);
            } else {
              *v = null ? Poco::Nullable<std::string>() : Poco::Nullable<std::string>(text(st, c));
            }
          }
          return true;
        },
        out);
  }

  Status sqliteFailed(sqlite3* db, int rc) {
    bool damaged = false;
    Status s = SqliteError(db, rc, sql_, &damaged);
    return failed(std::move(s), damaged);
  }
  Status failed(Status s, bool damaged) {
    if (on_failure_) on_failure_(s, damaged);
    return s;
  }

  SqliteStatementCache& cache_;
  OnFailure on_failure_;
};

// Keeps `st` allocated and reachable until the process ends, never destroyed (PocoHotStatement::
// failed says why).
void KeepForever(std::unique_ptr<Poco::Data::Statement> st) {
  static std::mutex mu;
  static auto* kept = new std::vector<Poco::Data::Statement*>();  // never freed: on purpose
  std::lock_guard<std::mutex> lock(mu);
  kept->push_back(st.release());
}

class PocoHotStatement final : public HotStatement {
 public:
  PocoHotStatement(std::function<Poco::Data::Session&()> session, std::string sql,
                   OnFailure on_failure, std::function<bool(const std::exception&)> damaged,
                   std::shared_ptr<HotStatementSet> set)
      : HotStatement(std::move(sql)),
        session_(std::move(session)),
        on_failure_(std::move(on_failure)),
        damaged_(std::move(damaged)),
        set_(std::move(set)) {
    if (set_) set_->add(this);
  }
  ~PocoHotStatement() override {
    if (set_) set_->remove(this);
  }
  PocoHotStatement(const PocoHotStatement&) = delete;
  PocoHotStatement& operator=(const PocoHotStatement&) = delete;

  // (A statement whose execution failed was handed to KeepForever already: statement_ is null.)
  void drop() override {
    statement_.reset();
    bound_to_ = nullptr;
  }

  StatusOr<size_t> execute() override {
    try {
      Poco::Data::Session& session = session_();
      if (!statement_ || bound_to_ != session.impl()) bindAll(session);
      return statement_->execute();
    } catch (const Poco::Exception& e) {
      return failed(UnavailableError("statement \"" + sql_ + "\": " + e.displayText()), e);
    } catch (const std::exception& e) {
      return failed(InternalError("statement \"" + sql_ + "\": " + e.what()), e);
    }
  }

 private:
  // Poco binds by reference, once per connection: every use() and into() are added to a new
  // statement on `session` (the writer's, opened again or not).
  void bindAll(Poco::Data::Session& session) {
    auto st = std::make_unique<Poco::Data::Statement>(session);
    *st << sql_;
    for (const Param& p : params_) {
      std::visit([&](auto* v) { *st, Poco::Data::Keywords::use(*v); }, p);
    }
    for (const Column& c : columns_) {
      std::visit([&](auto* v) { *st, Poco::Data::Keywords::into(*v); }, c);
    }
    statement_ = std::move(st);
    bound_to_ = session.impl();
  }
  // A statement that failed is prepared again at its next execution, and the one that failed is
  // never destroyed: Poco 1.11's PostgreSQL StatementExecutor frees its previous result when it
  // executes again but keeps the pointer, so a re-executed statement that fails leaves it
  // dangling and its destructor frees it a second time (the server aborted with "double free"
  // when PostgreSQL's disk filled up: FaultPostgresDiskFullTest). One small statement per
  // failure stays allocated, still reachable (KeepForever), for the life of the process.
  Status failed(Status s, const std::exception& e) {
    if (statement_) KeepForever(std::move(statement_));
    if (on_failure_) on_failure_(s, damaged_ && damaged_(e));
    return s;
  }

  std::function<Poco::Data::Session&()> session_;
  OnFailure on_failure_;
  std::function<bool(const std::exception&)> damaged_;
  std::shared_ptr<HotStatementSet> set_;
  std::unique_ptr<Poco::Data::Statement> statement_;
  const void* bound_to_ = nullptr;
};

}  // namespace

void HotStatementSet::add(HotStatement* st) {
  std::lock_guard<std::mutex> lock(mu_);
  statements_.push_back(st);
}

void HotStatementSet::remove(HotStatement* st) {
  std::lock_guard<std::mutex> lock(mu_);
  statements_.erase(std::remove(statements_.begin(), statements_.end(), st), statements_.end());
}

void HotStatementSet::dropAll() {
  std::lock_guard<std::mutex> lock(mu_);
  for (HotStatement* st : statements_) st->drop();
}

std::unique_ptr<HotStatement> NewSqliteHotStatement(SqliteStatementCache& cache, std::string sql,
                                                    HotStatement::OnFailure on_failure) {
  return std::make_unique<SqliteHotStatement>(cache, std::move(sql), std::move(on_failure));
}

std::unique_ptr<HotStatement> NewPocoHotStatement(
    std::function<Poco::Data::Session&()> session, std::string sql,
    HotStatement::OnFailure on_failure, std::function<bool(const std::exception&)> damaged,
    std::shared_ptr<HotStatementSet> set) {
  return std::make_unique<PocoHotStatement>(std::move(session), std::move(sql),
                                            std::move(on_failure), std::move(damaged),
                                            std::move(set));
}

}  // namespace hearth::server::sql
