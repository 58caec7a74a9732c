// The SQL store's connections and how it uses them: one writer session behind a lock, a few
// reader sessions leased per read, transactions, statements with `?` placeholders (rewritten to
// `$n` for PostgreSQL), and readRows, the one loop that reads a query's rows. Poco exceptions
// become Status values here (guard); nothing above this file catches them.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <Poco/Data/RecordSet.h>
#include <Poco/Data/Session.h>
#include <Poco/Data/Statement.h>
#include <Poco/Exception.h>

#include "hearth/status.h"
#include "hot_statement.h"
#include "sqlite_statement_cache.h"

namespace hearth::server::sql {

using Poco::Data::RecordSet;
using Poco::Data::Session;
using Poco::Data::Statement;

enum class Dialect { kSqlite, kPostgres };

// Runs `fn` (which returns a Status), turning a Poco exception into Unavailable and any other
// exception into Internal, each with the message prefixed by `what`.
template <typename Fn>
Status guard(const char* what, Fn&& fn) {
  try {
    return fn();
  } catch (const Poco::Exception& e) {
    return UnavailableError(std::string(what) + ": " + e.displayText());
  } catch (const std::exception& e) {
    return InternalError(std::string(what) + ": " + e.what());
  }
}

// How long a statement waits for a lock another connection holds before it fails (SQLite's
// busy timeout, PostgreSQL's lock_timeout): below the request deadline (10 s), so a request
// that meets a lock is answered 503 with Retry-After instead of being cut off.
inline constexpr std::chrono::milliseconds kLockWait{5000};

// What the latest reads and writes of a store met (store health). Thread-safe.
class HealthRecord {
 public:
  using Clock = std::chrono::steady_clock;
  enum class Kind { kRead, kWrite };

  void ok(Kind kind);
  // A statement failed with `error`; `damaged` when the database said its pages are corrupt
  // (that does not heal by itself: it stays reported until restart).
  void failed(Kind kind, const std::string& error, bool damaged);
  // OK when the latest read and the latest write worked and none failed within kFailureHolds;
  // else Unavailable (DataLoss when a page is damaged) saying what failed. (PostgreSQL locks per
  // table: a write to another table may work while the locked one's fail.)
  Status status() const;
  static constexpr std::chrono::seconds kFailureHolds{10};
  // Whether `kind` has not worked within `quiet` (failed since, or nothing ran).
  bool quietFor(Kind kind, Clock::duration quiet) const;

 private:
  struct Outcome {
    bool ok = true;
    Clock::time_point last_ok{};
    Clock::time_point last_failure{};
    std::string error;
    bool failing() const { return !ok || Clock::now() - last_failure < kFailureHolds; }
  };
  mutable std::mutex mu_;
  Outcome read_, write_;
  std::string damage_;
};

// The hot statements of a read path on one reader session, with the variables they are bound
// to (SqlSession::readHot): a subclass makes them in its constructor with `prepare` (SQL with `?`
// placeholders) and binds them to its own members.
class ReaderStatements {
 public:
  using Prepare = std::function<std::unique_ptr<HotStatement>(const std::string& q)>;
  ReaderStatements() = default;
  virtual ~ReaderStatements() = default;
  ReaderStatements(const ReaderStatements&) = delete;
  ReaderStatements& operator=(const ReaderStatements&) = delete;
};

// A small number for each ReaderStatements type, its place in a reader's list.
size_t NextReaderStatementsSlot();
template <typename T>
size_t ReaderStatementsSlot() {
  static const size_t slot = NextReaderStatementsSlot();
  return slot;
}

// Thread-safe: writes are serialised on the writer session (the server batches them above this:
// group commit); reads run on the reader sessions, so they never wait behind the writer's commit
// (WAL readers do not block the writer).
class SqlSession {
 public:
  SqlSession(Dialect dialect, std::string connector, std::string connection)
      : dialect_(dialect), connector_(std::move(connector)), connection_(std::move(connection)) {}

  Dialect dialect() const { return dialect_; }

  // Opens the writer session; SQLite: durable acknowledgements (WAL with a full fsync at every
  // commit), foreign keys, a busy timeout. `read_only`: nothing is set that writes, and on
  // PostgreSQL every transaction is read-only (SQLite: the connection string says mode=ro).
  // Throws Poco exceptions: call it inside guard().
  void openWriter(bool read_only = false);
  // Opens the reader sessions. Throws Poco exceptions: call it inside guard().
  void openReaders();

  // The writer session, for statements that need no binding (PRAGMA ...). REQUIRES: inside
  // write(), transaction() or before the store is shared (open).
  Session& writer() { return *writer_; }

  // `?` → `$n` for PostgreSQL.
  std::string rewrite(const std::string& q) const;

  // Prepares `q` on `db`, lets `bind` add use()/into(), executes; returns affected/extracted rows.
  template <typename Bind>
  size_t execOn(Session& db, const std::string& q, Bind&& bind) {
    Statement st(db);
    st << rewrite(q);
    bind(st);
    return st.execute();
  }
  // execOn the writer. REQUIRES: as writer().
  template <typename Bind>
  size_t exec(const std::string& q, Bind&& bind) {
    return execOn(*writer_, q, std::forward<Bind>(bind));
  }
  // Executes the INSERT `q` (one row into a table whose key is `id`) on the writer and returns
  // the id the database gave the row: PostgreSQL `RETURNING id`, SQLite last_insert_rowid() of
  // this session. Never a second query for MAX(id), which another server's insert could win.
  // REQUIRES: as writer().
  template <typename Bind>
  int64_t insertReturningId(const std::string& q, Bind&& bind) {
    Poco::Int64 id = 0;
    if (dialect_ == Dialect::kPostgres) {
      exec(q + " RETURNING id", [&](Statement& st) {
        bind(st);
        st, Poco::Data::Keywords::into(id);
      });
      return id;
    }
    exec(q, std::forward<Bind>(bind));
    exec("SELECT last_insert_rowid()", [&](Statement& st) { st, Poco::Data::Keywords::into(id); });
    return id;
  }
  // The rows of `q` on the writer with `params` bound in order (by reference: they must be
  // lvalues). REQUIRES: as writer().
  template <typename... Params>
  RecordSet query(const std::string& q, Params&... params) {
    Statement st(*writer_);
    st << rewrite(q);
    static_cast<void>((st, ..., Poco::Data::Keywords::use(params)));
    st.execute();
    return RecordSet(st);
  }
  // `q` prepared once on the writer, to be bound and executed many times. REQUIRES: as writer().
  std::unique_ptr<Statement> prepare(const std::string& q);
  // `q` for a hot path (the ingest writer): prepared once per connection on SQLite too (see
  // HotStatement), errors as Status values. Executed on the writer, inside write() or
  // transaction() only: a failed execution is a write failure in health() (and on PostgreSQL a
  // broken connection is opened again) even though it returns a Status, not an exception.
  std::unique_ptr<HotStatement> prepareHot(const std::string& q);
  // How many SQLite statements the hot path holds prepared (0 on PostgreSQL).
  size_t hotStatementsPrepared() const { return hot_cache_.size(); }

  // Runs `fn` under the writer lock; guard(what). A Poco exception or a failed HotStatement is
  // a write failure in health(); anything else that returns is a working write.
  template <typename Fn>
  Status write(const char* what, Fn&& fn) {
    std::lock_guard<std::mutex> lock(mu_);
    return watched(
        HealthRecord::Kind::kWrite, *writer_, hot_failure_, what, [this] { hot_set_->dropAll(); },
        std::forward<Fn>(fn));
  }
  // Runs `fn` in one transaction on the writer session, under the writer lock: committed when it
  // returns OK, rolled back when it returns an error or throws (then guard(what)).
  template <typename Fn>
  Status transaction(const char* what, Fn&& fn) {
    return write(what, [&]() -> Status { return inTransaction(fn); });
  }
  // transaction() without the lock and without guard (an exception passes on after the
  // rollback). On SQLite the transaction takes the write lock when it begins (BEGIN IMMEDIATE):
  // a transaction that reads before it writes waits for another writer's lock (up to
  // kLockWait) instead of failing at once. Whatever happens, the session is outside any
  // transaction when this returns or throws. REQUIRES: as writer().
  template <typename Fn>
  Status inTransaction(Fn&& fn) {
    begin();
    try {
      Status inner = fn();
      if (inner.ok()) {
        commit();
      } else {
        rollback();
      }
      return inner;
    } catch (...) {
      rollback();
      throw;
    }
  }

  // Runs `fn(session)` on a leased reader session; guard(what). Its outcome is a read in
  // health().
  template <typename Fn>
  Status read(const char* what, Fn&& fn) {
    ReaderLease lease = reader();
    Reader& r = lease.reader();
    return watched(
        HealthRecord::Kind::kRead, *r.session, r.hot_failure, what, [&r] { r.hot.clear(); },
        [&]() -> Status { return fn(*r.session); });
  }

  // Runs `fn(T&)` on a leased reader session with that session's T: a read path's hot
  // statements and the variables they are bound to, made as T(prepare) at their first use on
  // that session (T derives from ReaderStatements) and kept with it. guard(what); a hot
  // statement that fails is a failed read in health().
  template <typename T, typename Fn>
  Status readHot(const char* what, Fn&& fn) {
    static_assert(std::is_base_of_v<ReaderStatements, T>);
    ReaderLease lease = reader();
    Reader& r = lease.reader();
    const size_t slot = ReaderStatementsSlot<T>();
    return watched(
        HealthRecord::Kind::kRead, *r.session, r.hot_failure, what, [&r] { r.hot.clear(); },
        [&]() -> Status {
          if (r.hot.size() <= slot) r.hot.resize(slot + 1);
          if (!r.hot[slot]) {
            r.hot[slot] =
                std::make_unique<T>([&](const std::string& q) { return prepareHotOn(r, q); });
          }
          return fn(static_cast<T&>(*r.hot[slot]));
        });
  }

  // PostgreSQL: runs `fn` while this process holds the session-level advisory lock `name` (in
  // the current schema; letters, digits, '.' and '-'), taken with pg_try_advisory_lock on a
  // connection of the name's own (kept open for the next time) and
  // released when `fn` returns; false, without running `fn`, while another connection holds it.
  // The lock ends with its connection: a process that dies frees it. SQLite: runs `fn`.
  // Errors: guard(what), when the lock cannot be asked for (`fn` did not run).
  StatusOr<bool> exclusive(const char* what, const std::string& name,
                           const std::function<void()>& fn);

  // What the latest reads and writes met (see HealthRecord::status).
  Status health() const { return health_.status(); }
  bool quietFor(HealthRecord::Kind kind, HealthRecord::Clock::duration quiet) const {
    return health_.quietFor(kind, quiet);
  }

  // The rows of `q` on a reader session, with `params` bound in order (lvalues), each turned into
  // a value by `row(RecordSet&)`. Errors: guard(what).
  template <typename Row, typename... Params>
  auto readRows(const char* what, const std::string& q, Row&& row, Params&... params) {
    return readRowsBound(
        what, q,
        [&](Statement& st) { static_cast<void>((st, ..., Poco::Data::Keywords::use(params))); },
        std::forward<Row>(row));
  }
  // readRows with the parameters bound by `bind(Statement&)` (a query whose parameters vary).
  template <typename Row, typename Bind>
  auto readRowsBound(const char* what, const std::string& q, Bind&& bind, Row&& row)
      -> StatusOr<std::vector<std::decay_t<std::invoke_result_t<Row&, RecordSet&>>>> {
    std::vector<std::decay_t<std::invoke_result_t<Row&, RecordSet&>>> out;
    Status s = read(what, [&](Session& db) -> Status {
      collectRows(db, q, bind, row, out);
      return OkStatus();
    });
    if (!s.ok()) return s;
    return out;
  }
  // readRows on the writer session, under the writer lock.
  template <typename Row, typename... Params>
  auto writerRows(const char* what, const std::string& q, Row&& row, Params&... params)
      -> StatusOr<std::vector<std::decay_t<std::invoke_result_t<Row&, RecordSet&>>>> {
    std::vector<std::decay_t<std::invoke_result_t<Row&, RecordSet&>>> out;
    auto bind = [&](Statement& st) {
      static_cast<void>((st, ..., Poco::Data::Keywords::use(params)));
    };
    Status s = write(what, [&]() -> Status {
      collectRows(*writer_, q, bind, row, out);
      return OkStatus();
    });
    if (!s.ok()) return s;
    return out;
  }

 private:
  // A hot statement's failure since a write or read began (its message, whether it says
  // damaged): HotStatement returns a Status, not an exception.
  using HotFailure = std::optional<std::pair<std::string, bool>>;

  static constexpr int kReaders = 4;
  // A reader session and what is prepared on it; the members after `session` go before it.
  struct Reader {
    std::mutex mu;
    std::unique_ptr<Session> session;
    SqliteStatementCache cache;  // SQLite: its hot statements' connection (session's)
    std::vector<std::unique_ptr<ReaderStatements>> hot;  // by ReaderStatementsSlot
    HotFailure hot_failure;
  };
  // A reader held for one read method.
  class ReaderLease {
   public:
    explicit ReaderLease(Reader& r) : lock_(r.mu), reader_(r) {}
    Reader& reader() { return reader_; }

   private:
    std::unique_lock<std::mutex> lock_;
    Reader& reader_;
  };
  ReaderLease reader();
  // `q` as a hot statement on reader `r` (REQUIRES: leased).
  std::unique_ptr<HotStatement> prepareHotOn(Reader& r, const std::string& q);

  // guard(what) for `fn` on `session`, with the outcome noted in health_ as a `kind` (a failure
  // noted in `hot_failure` by a hot statement counts as failed); after a failure, a PostgreSQL
  // session whose connection broke is opened again (revive), `drop` called first.
  template <typename Fn, typename Drop>
  Status watched(HealthRecord::Kind kind, Session& session, HotFailure& hot_failure,
                 const char* what, Drop&& drop, Fn&& fn) {
    hot_failure.reset();  // this write's (or read's) own only
    try {
      Status s = fn();
      if (hot_failure) {
        health_.failed(kind, std::string(what) + ": " + hot_failure->first, hot_failure->second);
        hot_failure.reset();
        revive(session, drop);
      } else {
        health_.ok(kind);
      }
      return s;
    } catch (const Poco::Exception& e) {
      Status s = UnavailableError(std::string(what) + ": " + e.displayText());
      health_.failed(kind, s.message(), isDamage(e));
      revive(session, drop);
      return s;
    } catch (const std::exception& e) {
      return InternalError(std::string(what) + ": " + e.what());
    }
  }
  // Whether `e` says the database's pages are corrupt.
  bool isDamage(const Poco::Exception& e) const;
  // PostgreSQL: when `session`'s connection is broken (the server restarted, the connection was
  // terminated), connects it again, so the store works again without a restart once the
  // database does. Its hot statements are dropped first (`drop()`: they are prepared again on
  // the new connection at their next use). Never throws.
  template <typename Drop>
  void revive(Session& session, Drop&& drop) noexcept {
    if (dialect_ != Dialect::kPostgres) return;
    try {
      if (session.isConnected()) return;
      drop();
      reconnect(session);
      configure(session);
    } catch (...) {
      // Still unreachable: the next failure tries again.
    }
  }
  // Connects the broken PostgreSQL `session` again. Throws Poco exceptions.
  static void reconnect(Session& session);
  // Sets the session's lock wait (kLockWait). Throws Poco exceptions.
  void configure(Session& session) const;
  // Transactions on the writer. rollback() never throws; on SQLite it makes sure the session
  // is outside any transaction afterwards (a leaked transaction makes every later write fail
  // with "cannot start a transaction within a transaction").
  void begin();
  void commit();
  void rollback() noexcept;

  // Runs `q` on `db` bound by `bind` and appends `row(rs)` for each row to `out`. Throws Poco
  // exceptions.
  template <typename Bind, typename Row, typename Out>
  void collectRows(Session& db, const std::string& q, Bind& bind, Row& row, Out& out) {
    Statement st(db);
    st << rewrite(q);
    bind(st);
    st.execute();
    RecordSet rs(st);
    for (bool more = rs.moveFirst(); more; more = rs.moveNext()) out.push_back(row(rs));
  }

  // exclusive()'s connections, by lock name; each used by one caller at a time (its mutex).
  struct LockConnection {
    std::mutex mu;
    std::unique_ptr<Session> session;
  };
  LockConnection& lockConnection(const std::string& name);

  Dialect dialect_;
  std::string connector_;
  std::string connection_;
  std::mutex locks_mu_;
  std::map<std::string, std::unique_ptr<LockConnection>> locks_;
  std::mutex mu_;  // the writer lock
  std::unique_ptr<Session> writer_;
  // SQLite: the hot statements' connection (the writer's), after writer_: finalized before it
  // closes, reset whenever the writer is opened again.
  SqliteStatementCache hot_cache_;
  // PostgreSQL: the writer's hot statements, dropped before the writer's session closes.
  std::shared_ptr<HotStatementSet> hot_set_ = std::make_shared<HotStatementSet>();
  // A hot statement's failure since the write began; under the writer lock.
  HotFailure hot_failure_;
  std::vector<std::unique_ptr<Reader>> readers_;
  std::atomic<size_t> next_reader_{0};
  HealthRecord health_;
};

}  // namespace hearth::server::sql
