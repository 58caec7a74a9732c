// The ingest path's hot statements (SqlSession::prepareHot) on both backends: prepared once and
// re-executed with the variables' values of the moment; errors are Status values naming the
// statement (and a write failure in health()); reopening the writer drops SQLite's prepared
// statements and the next execution prepares them again.
#include "hot_statement.h"

#include <memory>
#include <string>
#include <unistd.h>
#include <vector>

#include <Poco/Data/PostgreSQL/Connector.h>
#include <Poco/Data/SQLite/Connector.h>
#include <gtest/gtest.h>

#include "hearth/server/store.h"
#include "sql_session.h"
#include "support/pg_schema.h"
#include "support/temp_dir.h"

namespace hearth::server::sql {
namespace {

using namespace Poco::Data::Keywords;  // NOLINT(google-build-using-namespace)

class HotStatementTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    Poco::Data::SQLite::Connector::registerConnector();
    Poco::Data::PostgreSQL::Connector::registerConnector();
    if (GetParam() == "postgresql") {
      pg_ = std::make_unique<testing::PostgresSchema>("hot");
      if (pg_->uri().empty()) GTEST_SKIP() << "HEARTH_TEST_PG_URI is not set";
      // Its connections are named, to be told from other tests' (terminated in one test).
      app_ = "hearth_hot_" + std::to_string(::getpid());
      auto conninfo = PostgresUriToConninfo(pg_->uri() + "&application_name=" + app_);
      ASSERT_TRUE(conninfo.ok()) << conninfo.status().toString();
      db_ = std::make_unique<SqlSession>(Dialect::kPostgres, "PostgreSQL", *conninfo);
    } else {
      db_ = std::make_unique<SqlSession>(Dialect::kSqlite, "SQLite", dir_.path() + "/hot.db");
    }
    ASSERT_TRUE(guard("open", [&] {
                  db_->openWriter();
                  return OkStatus();
                }).ok());
    ASSERT_TRUE(db_->write("create",
                           [&] {
                             db_->exec(
                                 "CREATE TABLE t(id BIGINT PRIMARY KEY, name TEXT NOT NULL UNIQUE, "
                                 "note TEXT)",
                                 [](Statement&) {});
                             return OkStatus();
                           })
                    .ok());
  }
  bool sqlite() const { return GetParam() == "sqlite"; }

  testing::TempDir dir_;
  std::unique_ptr<testing::PostgresSchema> pg_;
  std::string app_;
  std::unique_ptr<SqlSession> db_;
};

TEST_P(HotStatementTest, AStatementReusedAcrossManyExecutionsReadsAndWritesTheRightRows) {
  Poco::Int64 id = 0, count = 0;
  std::string name, got_name;
  Poco::Nullable<std::string> note, got_note;
  std::vector<std::string> names;
  std::vector<Poco::Int64> ids;
  auto insert = db_->prepareHot("INSERT INTO t(id, name, note) VALUES (?, ?, ?)");
  insert->use(id).use(name).use(note);
  auto select = db_->prepareHot("SELECT name, note FROM t WHERE id = ?");
  select->use(id).into(got_name).into(got_note);
  auto below = db_->prepareHot("SELECT id, name FROM t WHERE id < ? ORDER BY id");
  below->use(id).into(ids).into(names);
  auto counted = db_->prepareHot("SELECT COUNT(*) FROM t");
  counted->into(count);
  constexpr int kRows = 300;
  Status s = db_->transaction("rows", [&]() -> Status {
    for (int i = 1; i <= kRows; ++i) {
      id = i;
      name = "name-" + std::to_string(i);
      note = i % 2 == 0 ? Poco::Nullable<std::string>() : Poco::Nullable<std::string>("odd");
      HEARTH_ASSIGN_OR_RETURN(size_t inserted, insert->execute());
      EXPECT_EQ(inserted, 1u);
      got_name = "stale";
      got_note = Poco::Nullable<std::string>("stale");
      HEARTH_ASSIGN_OR_RETURN(size_t read, select->execute());
      EXPECT_EQ(read, 1u);
      EXPECT_EQ(got_name, name);
      EXPECT_EQ(got_note.isNull(), i % 2 == 0) << i;
      if (i % 2 != 0) {
        EXPECT_EQ(got_note.value(), "odd");
      }
    }
    // No row: the scalars keep their values, the count is 0.
    id = kRows + 1;
    got_name = "kept";
    HEARTH_ASSIGN_OR_RETURN(size_t none, select->execute());
    EXPECT_EQ(none, 0u);
    EXPECT_EQ(got_name, "kept");
    // Every row into vectors (appended), twice with other bounds.
    for (Poco::Int64 bound : {Poco::Int64{4}, Poco::Int64{kRows + 1}}) {
      id = bound;
      ids.clear();
      names.clear();
      HEARTH_ASSIGN_OR_RETURN(size_t rows, below->execute());
      EXPECT_EQ(rows, static_cast<size_t>(bound - 1));
      EXPECT_EQ(ids.size(), static_cast<size_t>(bound - 1));
      if (!ids.empty()) {
        EXPECT_EQ(ids.front(), 1);
        EXPECT_EQ(ids.back(), bound - 1);
        EXPECT_EQ(names.back(), "name-" + std::to_string(bound - 1));
      }
    }
    return counted->execute().status();
  });
  ASSERT_TRUE(s.ok()) << s.toString();
  EXPECT_EQ(count, kRows);
  // SQLite: each statement prepared once, however many times it ran.
  EXPECT_EQ(db_->hotStatementsPrepared(), sqlite() ? 4u : 0u);
  EXPECT_TRUE(db_->health().ok()) << db_->health().toString();
}

TEST_P(HotStatementTest, AnErrorIsAStatusNamingTheStatementAndTheNextExecutionWorks) {
  Poco::Int64 id = 1;
  std::string name = "same";
  auto insert = db_->prepareHot("INSERT INTO t(id, name) VALUES (?, ?)");
  insert->use(id).use(name);
  ASSERT_TRUE(db_->transaction("first", [&] { return insert->execute().status(); }).ok());
  // The same name again: the UNIQUE constraint refuses it (a re-executed statement that fails).
  id = 2;
  Status s = db_->transaction("second", [&] { return insert->execute().status(); });
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kUnavailable) << s.toString();
  EXPECT_NE(s.message().find("INSERT INTO t(id, name)"), std::string::npos) << s.toString();
  // A write that failed: health() says so, naming what failed.
  Status health = db_->health();
  EXPECT_FALSE(health.ok());
  EXPECT_NE(health.message().find("second"), std::string::npos) << health.toString();
  // The same statement works again with other values.
  name = "other";
  s = db_->transaction("third", [&] { return insert->execute().status(); });
  EXPECT_TRUE(s.ok()) << s.toString();

  // SQL the database refuses to prepare: the Status names it.
  auto broken = db_->prepareHot("SELEC nothing FROM t");
  s = db_->transaction("broken", [&] { return broken->execute().status(); });
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("SELEC nothing FROM t"), std::string::npos) << s.toString();
  // More parameters bound than the statement has: refused, naming it.
  auto extra = db_->prepareHot("SELECT COUNT(*) FROM t WHERE id = ?");
  extra->use(id).use(id);
  s = db_->transaction("extra", [&] { return extra->execute().status(); });
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("SELECT COUNT(*) FROM t WHERE id"), std::string::npos) << s.toString();
}

TEST_P(HotStatementTest, ReopeningTheWriterDropsThePreparedStatementsAndTheyWorkAgain) {
  Poco::Int64 id = 1, count = 0;
  std::string name = "one";
  auto insert = db_->prepareHot("INSERT INTO t(id, name) VALUES (?, ?)");
  insert->use(id).use(name);
  auto counted = db_->prepareHot("SELECT COUNT(*) FROM t");
  counted->into(count);
  ASSERT_TRUE(db_->transaction("before", [&] { return insert->execute().status(); }).ok());
  EXPECT_EQ(db_->hotStatementsPrepared(), sqlite() ? 1u : 0u);
  ASSERT_TRUE(guard("reopen", [&] {
                db_->openWriter();
                return OkStatus();
              }).ok());
  EXPECT_EQ(db_->hotStatementsPrepared(), 0u);
  id = 2;
  name = "two";
  Status s = db_->transaction("after", [&]() -> Status {
    HEARTH_RETURN_IF_ERROR(insert->execute().status());
    return counted->execute().status();
  });
  ASSERT_TRUE(s.ok()) << s.toString();
  EXPECT_EQ(count, 2);
  EXPECT_EQ(db_->hotStatementsPrepared(), sqlite() ? 2u : 0u);
}

// A read path's statements on the reader sessions (SqlSession::readHot): made once per reader,
// reading what the writer committed at each execution; on PostgreSQL a reader whose connection
// was terminated fails that read (a failed read in health()), then connects again and prepares
// them again.
struct NameRead final : ReaderStatements {
  explicit NameRead(const Prepare& prepare) : select(prepare("SELECT name FROM t WHERE id = ?")) {
    select->use(id).into(name);
    ++made;
  }
  Poco::Int64 id = 0;
  std::string name;
  std::unique_ptr<HotStatement> select;
  static inline int made = 0;
};

TEST_P(HotStatementTest, AReadPathsStatementsArePreparedOncePerReaderAndSurviveALostConnection) {
  ASSERT_TRUE(guard("readers", [&] {
                db_->openReaders();
                return OkStatus();
              }).ok());
  NameRead::made = 0;
  auto nameOf = [&](Poco::Int64 id) -> StatusOr<std::string> {
    std::string got;
    Status s = db_->readHot<NameRead>("read name", [&](NameRead& r) -> Status {
      r.id = id;
      r.name = "none";
      HEARTH_RETURN_IF_ERROR(r.select->execute().status());
      got = r.name;
      return OkStatus();
    });
    if (!s.ok()) return s;
    return got;
  };
  for (int i = 1; i <= 20; ++i) {
    Poco::Int64 id = i;
    std::string name = "name-" + std::to_string(i);
    ASSERT_TRUE(db_->write("insert",
                           [&] {
                             db_->exec("INSERT INTO t(id, name) VALUES (?, ?)",
                                       [&](Statement& st) { st, use(id), use(name); });
                             return OkStatus();
                           })
                    .ok());
    auto got = nameOf(i);
    ASSERT_TRUE(got.ok()) << got.status().toString();
    EXPECT_EQ(*got, name);
    EXPECT_EQ(*nameOf(i + 100), "none");  // no row: the variable as it was
  }
  // One per reader session at most, however many reads.
  EXPECT_GE(NameRead::made, 1);
  EXPECT_LE(NameRead::made, 4);
  EXPECT_TRUE(db_->health().ok()) << db_->health().toString();
  if (sqlite()) return;

  // The session's connections are terminated (the readers, the writer too).
  auto conninfo = PostgresUriToConninfo(pg_->uri());
  Session other("PostgreSQL", *conninfo);
  Poco::Int64 terminated = 0;
  other << "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE "
           "application_name = '" +
               app_ + "'",
      into(terminated), now;
  EXPECT_EQ(terminated, 5);
  // Each reader fails once (at most), then connects again and prepares its statement again.
  int failed = 0;
  for (int i = 0; i < 12; ++i) {
    auto got = nameOf(1);
    if (!got.ok()) {
      ++failed;
      EXPECT_FALSE(db_->health().ok());
      continue;
    }
    EXPECT_EQ(*got, "name-1");
  }
  EXPECT_GE(failed, 1);
  EXPECT_LE(failed, 4);
  auto got = nameOf(2);
  ASSERT_TRUE(got.ok()) << got.status().toString();
  EXPECT_EQ(*got, "name-2");
}

// A PostgreSQL connection lost inside a transaction (the server restarted, an administrator
// terminated it): the ROLLBACK cannot reach the server, and Poco's session kept believing it was
// in a transaction, through the reconnect. Every later begin() then failed with "Already in
// transaction" (or, in a Poco that skips BEGIN then, ran without one): no write worked again
// until a restart. The next transactions must work, and be whole: one that fails leaves nothing.
TEST_P(HotStatementTest, AConnectionLostInsideATransactionLeavesTheNextTransactionsWhole) {
  if (sqlite()) GTEST_SKIP() << "a PostgreSQL connection's loss";
  auto insert = [&](Poco::Int64 id) {
    std::string name = "row-" + std::to_string(id);
    db_->exec("INSERT INTO t(id, name) VALUES (?, ?)",
              [&](Statement& st) { st, use(id), use(name); });
  };
  Status lost = db_->transaction("insert, then lose the connection", [&] {
    insert(1);
    db_->exec("SELECT pg_terminate_backend(pg_backend_pid())", [](Statement&) {});
    return OkStatus();
  });
  ASSERT_FALSE(lost.ok());
  // The first attempt after the loss may fail (the connection is made again after a failure);
  // the next ones must not.
  int failed = 0;
  Status failing;
  for (int attempt = 0; attempt < 3; ++attempt) {
    failing = db_->transaction("insert, then fail", [&] {
      insert(2);
      return InternalError("the transaction's own failure");
    });
    if (failing.code() == StatusCode::kInternal) break;
    ++failed;
  }
  EXPECT_LE(failed, 1) << failing.toString();
  EXPECT_EQ(failing.code(), StatusCode::kInternal) << failing.toString();
  Status ok = db_->transaction("insert", [&] {
    insert(3);
    return OkStatus();
  });
  ASSERT_TRUE(ok.ok()) << ok.toString();
  std::vector<Poco::Int64> ids;
  ASSERT_TRUE(db_->write("read",
                         [&] {
                           Statement st(db_->writer());
                           st << "SELECT id FROM t ORDER BY id", into(ids), now;
                           return OkStatus();
                         })
                  .ok());
  EXPECT_EQ(ids, std::vector<Poco::Int64>({3})) << "1 was lost with its connection; 2 rolled back";
}

INSTANTIATE_TEST_SUITE_P(Backends, HotStatementTest, ::testing::Values("sqlite", "postgresql"));

}  // namespace
}  // namespace hearth::server::sql
