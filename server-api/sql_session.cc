// SqlSession: opening the sessions, leasing readers, rewriting placeholders.
#include "sql_session.h"

namespace hearth::server::sql {

using namespace Poco::Data::Keywords;  // NOLINT(google-build-using-namespace)

void SqlSession::openWriter() {
  writer_ = std::make_unique<Session>(connector_, connection_);
  if (dialect_ == Dialect::kSqlite) {
    // Durable acknowledgements: WAL with a full fsync at every commit.
    *writer_ << "PRAGMA journal_mode=WAL", now;
    *writer_ << "PRAGMA synchronous=FULL", now;
    *writer_ << "PRAGMA foreign_keys=ON", now;
    *writer_ << "PRAGMA busy_timeout=10000", now;
  }
}

void SqlSession::openReaders() {
  for (int i = 0; i < kReaders; ++i) {
    auto r = std::make_unique<Reader>();
    r->session = std::make_unique<Session>(connector_, connection_);
    if (dialect_ == Dialect::kSqlite) *r->session << "PRAGMA busy_timeout=10000", now;
    readers_.push_back(std::move(r));
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

}  // namespace hearth::server::sql
