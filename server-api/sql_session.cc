// SqlSession: opening the sessions, leasing readers, rewriting placeholders.
#include "sql_session.h"

#include <sqlite3.h>

#include <Poco/Data/DataException.h>
#include <Poco/Data/PostgreSQL/SessionImpl.h>
#include <Poco/Data/SQLite/SQLiteException.h>
#include <Poco/Data/SQLite/Utility.h>

namespace hearth::server::sql {

using namespace Poco::Data::Keywords;  // NOLINT(google-build-using-namespace)

void HealthRecord::ok(Kind kind) {
  std::lock_guard<std::mutex> lock(mu_);
  Outcome& o = kind == Kind::kRead ? read_ : write_;
  o.ok = true;
  o.last_ok = Clock::now();
}

void HealthRecord::failed(Kind kind, const std::string& error, bool damaged) {
  std::lock_guard<std::mutex> lock(mu_);
  Outcome& o = kind == Kind::kRead ? read_ : write_;
  o.ok = false;
  o.last_failure = Clock::now();
  o.error = error;
  if (damaged && damage_.empty()) damage_ = error;
}

Status HealthRecord::status() const {
  std::lock_guard<std::mutex> lock(mu_);
  if (!damage_.empty()) {
    return DataLossError("the database is damaged (" + damage_ +
                         "): run hearth-server check-db and restore it from a backup");
  }
  if (write_.failing()) return UnavailableError("the database cannot be written: " + write_.error);
  if (read_.failing()) return UnavailableError("the database cannot be read: " + read_.error);
  return OkStatus();
}

bool HealthRecord::quietFor(Kind kind, Clock::duration quiet) const {
  std::lock_guard<std::mutex> lock(mu_);
  const Outcome& o = kind == Kind::kRead ? read_ : write_;
  return !o.ok || Clock::now() - o.last_ok >= quiet;
}

bool SqlSession::isDamage(const Poco::Exception& e) const {
  if (dialect_ == Dialect::kSqlite) {
    return dynamic_cast<const Poco::Data::SQLite::CorruptImageException*>(&e) != nullptr;
  }
  // PostgreSQL: SQLSTATE class XX (data_corrupted, index_corrupted) in the message.
  const std::string text = e.displayText();
  return text.find("XX001") != std::string::npos || text.find("XX002") != std::string::npos;
}

void SqlSession::configure(Session& session) const {
  const std::string wait = std::to_string(kLockWait.count());
  if (dialect_ == Dialect::kSqlite) {
    session << "PRAGMA busy_timeout=" + wait, now;
  } else {
    // A lock held by another session fails the statement after kLockWait instead of holding
    // the request (and the writer) for as long as the other session likes.
    session << "SET lock_timeout = " + wait, now;
  }
}

void SqlSession::reconnect(Session& session) {
  // Poco 1.11's Session::reconnect() opens a new libpq connection without freeing the broken
  // one (its disconnect frees a working connection only): a PGconn and its buffers lost at each
  // revive (LeakSanitizer saw them). PQreset (SessionHandle::reset) connects the same PGconn
  // again, with the same parameters.
  auto* pg = dynamic_cast<Poco::Data::PostgreSQL::SessionImpl*>(session.impl());
  if (pg == nullptr) {
    session.reconnect();
    return;
  }
  if (!pg->handle().reset()) {
    throw Poco::Data::ConnectionFailedException("PostgreSQL: the connection cannot be made again");
  }
  // Lost inside a transaction: the ROLLBACK could not reach the server, so Poco still believes
  // the session is in one (its begin() then refuses with "Already in transaction" for ever) and
  // keeps DEALLOCATEs queued for statements of the old connection (which would fail every later
  // COMMIT). Neither can be reset from outside: the session is replaced by a new one, and the
  // old one, connected again above, closes its connection as it goes.
  if (session.isTransaction()) {
    Session fresh(session.connector(), session.impl()->connectionString());
    session = std::move(fresh);
  }
}

size_t NextReaderStatementsSlot() {
  static std::atomic<size_t> next{0};
  return next.fetch_add(1);
}

void SqlSession::openWriter(bool read_only) {
  // The hot statements belong to the connection about to close: dropped while it is open.
  hot_cache_.reset(nullptr);
  hot_set_->dropAll();
  writer_ = std::make_unique<Session>(connector_, connection_);
  if (read_only && dialect_ == Dialect::kPostgres) {
    *writer_ << "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY", now;
  }
  if (dialect_ == Dialect::kSqlite && !read_only) {
    // Durable acknowledgements: WAL with a full fsync at every commit.
    *writer_ << "PRAGMA journal_mode=WAL", now;
    *writer_ << "PRAGMA synchronous=FULL", now;
    *writer_ << "PRAGMA foreign_keys=ON", now;
  }
  configure(*writer_);
  if (dialect_ == Dialect::kSqlite)
    hot_cache_.reset(Poco::Data::SQLite::Utility::dbHandle(*writer_));
}

void SqlSession::openReaders() {
  for (int i = 0; i < kReaders; ++i) {
    auto r = std::make_unique<Reader>();
    r->session = std::make_unique<Session>(connector_, connection_);
    configure(*r->session);
    if (dialect_ == Dialect::kSqlite) {
      r->cache.reset(Poco::Data::SQLite::Utility::dbHandle(*r->session));
    }
    readers_.push_back(std::move(r));
  }
}

void SqlSession::begin() {
  if (dialect_ == Dialect::kSqlite) {
    *writer_ << "BEGIN IMMEDIATE", now;
  } else {
    writer_->begin();
  }
}

void SqlSession::commit() {
  if (dialect_ == Dialect::kSqlite) {
    *writer_ << "COMMIT", now;
  } else {
    writer_->commit();
  }
}

void SqlSession::rollback() noexcept {
  if (dialect_ != Dialect::kSqlite) {
    try {
      writer_->rollback();
    } catch (...) {
    }
    return;
  }
  // SQLite rolls some failures back by itself (then ROLLBACK fails: nothing to do); a ROLLBACK
  // that fails while the transaction is still open is tried once more.
  sqlite3* handle = Poco::Data::SQLite::Utility::dbHandle(*writer_);
  for (int attempt = 0; attempt < 2 && sqlite3_get_autocommit(handle) == 0; ++attempt) {
    sqlite3_exec(handle, "ROLLBACK", nullptr, nullptr, nullptr);
  }
}

std::string SqlSession::rewrite(const std::string& q) const {
  if (dialect_ != Dialect::kPostgres) return q;
  std::string out;
  int n = 0;
  for (char c : q) {
    if (c == '?') {
      out += "$" + std::to_string(++n);
    } else {
      out += c;
    }
  }
  return out;
}

std::unique_ptr<Statement> SqlSession::prepare(const std::string& q) {
  auto st = std::make_unique<Statement>(*writer_);
  *st << rewrite(q);
  return st;
}

std::unique_ptr<HotStatement> SqlSession::prepareHot(const std::string& q) {
  auto note = [this](const Status& s, bool damaged) { hot_failure_.emplace(s.message(), damaged); };
  if (dialect_ == Dialect::kSqlite) return NewSqliteHotStatement(hot_cache_, q, note);
  auto writer = [this]() -> Session& { return *writer_; };
  return NewPocoHotStatement(
      writer, rewrite(q), note,
      [this](const std::exception& e) {
        const auto* poco = dynamic_cast<const Poco::Exception*>(&e);
        return poco != nullptr && isDamage(*poco);
      },
      hot_set_);
}

std::unique_ptr<HotStatement> SqlSession::prepareHotOn(Reader& r, const std::string& q) {
  auto note = [&r](const Status& s, bool damaged) { r.hot_failure.emplace(s.message(), damaged); };
  if (dialect_ == Dialect::kSqlite) return NewSqliteHotStatement(r.cache, q, note);
  auto session = [&r]() -> Session& { return *r.session; };
  return NewPocoHotStatement(session, rewrite(q), note, [this](const std::exception& e) {
    const auto* poco = dynamic_cast<const Poco::Exception*>(&e);
    return poco != nullptr && isDamage(*poco);
  });
}

SqlSession::ReaderLease SqlSession::reader() {
  size_t start = next_reader_.fetch_add(1) % readers_.size();
  for (size_t i = 0; i < readers_.size(); ++i) {
    Reader& r = *readers_[(start + i) % readers_.size()];
    if (r.mu.try_lock()) {
      r.mu.unlock();  // ReaderLease takes it (a race only means waiting on a busy one)
      return ReaderLease(r);
    }
  }
  return ReaderLease(*readers_[start]);
}

SqlSession::LockConnection& SqlSession::lockConnection(const std::string& key) {
  std::lock_guard<std::mutex> lock(locks_mu_);
  auto& slot = locks_[key];
  if (!slot) slot = std::make_unique<LockConnection>();
  return *slot;
}

StatusOr<bool> SqlSession::exclusive(const char* what, const std::string& name,
                                     const std::function<void()>& fn) {
  // The name goes into the statement as is: a job's name from the code, never text from outside.
  if (name.empty() ||
      name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789.-") != std::string::npos) {
    return InvalidArgumentError(std::string(what) + ": bad lock name \"" + name + "\"");
  }
  if (dialect_ != Dialect::kPostgres) {
    fn();
    return true;
  }
  LockConnection& c = lockConnection(name);
  std::lock_guard<std::mutex> hold(c.mu);
  // Advisory locks are per database: the schema is part of the key, so that deployments (or
  // tests) in different schemas of one database do not share their jobs' locks.
  const std::string k =
      "hashtextextended('hearth.' || current_schema() || '.' || '" + name + "', 0)";
  // A session whose connection broke is connected again, not dropped: Poco frees a PGconn only
  // when it closes a working connection, so dropping a broken one leaks it (LeakSanitizer saw
  // it when a lock holder's connection was terminated). A working one is closed by dropping it.
  auto drop = [&c] {
    if (c.session && c.session->isConnected()) c.session.reset();
  };
  bool got = false;
  Status asked = guard(what, [&]() -> Status {
    if (c.session && !c.session->isConnected()) reconnect(*c.session);
    if (!c.session) c.session = std::make_unique<Session>(connector_, connection_);
    Poco::Int64 taken = 0;
    *c.session << "SELECT CASE WHEN pg_try_advisory_lock(" + k + ") THEN 1 ELSE 0 END",
        Poco::Data::Keywords::into(taken), Poco::Data::Keywords::now;
    got = taken == 1;
    return OkStatus();
  });
  if (!asked.ok()) {
    drop();  // else a broken connection is made again next time
    return asked;
  }
  if (!got) return false;
  auto release = [&] {
    Status released = guard(what, [&]() -> Status {
      Poco::Int64 done = 0;
      *c.session << "SELECT CASE WHEN pg_advisory_unlock(" + k + ") THEN 1 ELSE 0 END",
          Poco::Data::Keywords::into(done), Poco::Data::Keywords::now;
      return OkStatus();
    });
    // Closing the connection ends the lock too (a broken one has ended it already).
    if (!released.ok()) drop();
  };
  try {
    fn();
  } catch (...) {
    release();
    throw;
  }
  release();
  return true;
}

}  // namespace hearth::server::sql
