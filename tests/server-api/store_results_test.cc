// Stored results (issue 12, defect 5; issue 13, item 2): lists read the checks summary stored
// beside each result, never the result; a history page is bounded by the bytes it returns and
// continues with `before`; every stored result carries a SHA-256 that checkIntegrity and every
// read verify; migration v7 fills all of it for rows stored before it. On SQLite and (with
// HEARTH_TEST_PG_URI) on PostgreSQL.
#include <cstdio>
#include <set>

#include <Poco/Data/PostgreSQL/Connector.h>
#include <Poco/Data/SQLite/Connector.h>
#include <Poco/Data/Session.h>
#include <gtest/gtest.h>

#include "hearth/server/store.h"
#include "hearth/time.h"
#include "support/pg_schema.h"
#include "support/store_backend.h"
#include "support/temp_dir.h"

namespace hearth::server {
namespace {

TimePoint T(const char* s) { return *parseRfc3339(s); }

class StoreResultsTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "postgresql") {
      pg_ = std::make_unique<testing::PostgresSchema>("results");
      if (pg_->uri().empty()) GTEST_SKIP() << "HEARTH_TEST_PG_URI not set: no PostgreSQL server";
      uri_ = pg_->uri();
    } else {
      uri_ = dir_.path() + "/hearth.db";
    }
    open();
    SecretRecord spec;
    spec.level = "standard";
    spec.created_at = T("2026-11-26T08:00:00Z");
    ASSERT_TRUE(store_->createSecret("hash", spec).ok());
    DeviceRecord d;
    d.device_id = "dev-1";
    d.hostname = "pc-1";
    d.cert_serial = "01";
    d.enrolled_at = T("2026-11-26T09:00:00Z");
    ASSERT_TRUE(store_->enrollDevice("hash", d, T("2026-11-26T09:00:00Z")).ok());
  }

  void open() {
    store_.reset();
    auto s = OpenStore(uri_);
    ASSERT_TRUE(s.ok()) << s.status().toString();
    store_ = std::move(s).value();
  }

  // Runs SQL straight on the database, under the store; a query's first column of its first row.
  std::string sql(const std::string& statement) {
    std::unique_ptr<Poco::Data::Session> s;
    if (GetParam() == "postgresql") {
      Poco::Data::PostgreSQL::Connector::registerConnector();
      s = std::make_unique<Poco::Data::Session>("PostgreSQL", *PostgresUriToConninfo(uri_));
    } else {
      Poco::Data::SQLite::Connector::registerConnector();
      s = std::make_unique<Poco::Data::Session>("SQLite", uri_);
    }
    std::vector<std::string> out;
    if (statement.starts_with("SELECT")) {
      *s << statement, Poco::Data::Keywords::into(out), Poco::Data::Keywords::now;
    } else {
      *s << statement, Poco::Data::Keywords::now;
    }
    return out.empty() ? "" : out[0];
  }

  // A report of dev-1 with `seq`, its disk_encryption check `verdict`, and `padding` bytes of
  // evidence.
  NewReport report(int64_t seq, const std::string& verdict, size_t padding = 0) {
    NewReport r;
    r.device_id = "dev-1";
    char id[37];
    std::snprintf(id, sizeof id, "00000000-0000-4000-8000-%012lld", static_cast<long long>(seq));
    r.report_id = id;
    r.sequence = seq;
    r.sent_at = "2026-11-26T10:00:00Z";
    r.agent_version = "0.1.0";
    r.received_at = T("2026-11-26T10:00:00Z") + std::chrono::minutes(seq);
    json::Value check = json::Value::object();
    check.set("id", "disk_encryption");
    check.set("verdict", verdict);
    check.set("required", true);
    check.set("summary", "disk " + verdict);
    json::Value evidence = json::Value::object();
    evidence.set("padding", std::string(padding, 'p'));
    check.set("evidence", evidence);
    json::Value checks = json::Value::array();
    checks.push(check);
    r.result = json::Value::object();
    r.result.set("compliant", verdict == "pass");
    r.result.set("checks", checks);
    return r;
  }

  void ingest(const NewReport& r) {
    auto out = store_->ingestReports({r});
    ASSERT_TRUE(out.ok()) << out.status().toString();
  }

  std::vector<DeviceRecord> list() {
    DeviceFilter f;
    f.now = T("2026-11-26T12:00:00Z");
    auto l = store_->listDevices(f);
    EXPECT_TRUE(l.ok()) << l.status().toString();
    return l.ok() ? *l : std::vector<DeviceRecord>();
  }

  testing::TempDir dir_;
  std::unique_ptr<testing::PostgresSchema> pg_;
  std::string uri_;
  std::unique_ptr<Store> store_;
};

// Before: every list parsed each device's whole latest result (a hostile 1 MiB one cost 35 MB
// per device per list); a latest result that is not readable left the list without checks.
TEST_P(StoreResultsTest, ListsShowTheChecksSummaryWithoutReadingTheResult) {
  ingest(report(1, "fail"));
  sql("UPDATE devices SET latest_result = 'not JSON at all' WHERE device_id = 'dev-1'");
  auto devices = list();
  ASSERT_EQ(devices.size(), 1u);
  ASSERT_EQ(devices[0].checks_summary.size(), 1u);
  const json::Value& c = devices[0].checks_summary.asArray()[0];
  EXPECT_EQ(c.find("id")->asString(), "disk_encryption");
  EXPECT_EQ(c.find("verdict")->asString(), "fail");
  EXPECT_EQ(c.find("summary")->asString(), "disk fail");
  EXPECT_TRUE(c.find("required")->asBool());
  EXPECT_EQ(c.find("evidence"), nullptr) << "the summary holds no evidence";
  EXPECT_FALSE(devices[0].latest_result.has_value()) << "a list read the whole result";
  // The device alone reads it, and finds it changed since it was stored.
  auto d = store_->getDevice("dev-1");
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(d->latest_result_damaged);
  EXPECT_FALSE(d->latest_result.has_value());
}

// The per-check verdict table keeps since when each verdict holds and the report that brought
// it (what issue 14's failing-since builds on).
TEST_P(StoreResultsTest, CheckStateKeepsSinceWhenAVerdictHolds) {
  ingest(report(1, "fail"));
  ingest(report(2, "fail"));
  ingest(report(3, "pass"));
  ingest(report(4, "pass"));
  EXPECT_EQ(sql("SELECT since FROM check_state WHERE device_id = 'dev-1'"), "2026-11-26T10:03:00Z");
  EXPECT_EQ(sql("SELECT since_report_id FROM check_state WHERE device_id = 'dev-1'"),
            "00000000-0000-4000-8000-000000000003");
  EXPECT_EQ(sql("SELECT CAST(since_sequence AS TEXT) FROM check_state"), "3");
}

// A history page holds at most kHistoryPageBytes of results, newest first; `before` continues
// with the next, and the pages together hold every report once.
TEST_P(StoreResultsTest, HistoryPagesAreBoundedByTheBytesTheyReturn) {
  const size_t kEach = 200 * 1024;
  for (int64_t seq = 1; seq <= 30; ++seq) ingest(report(seq, "pass", kEach));
  std::set<int64_t> seen;
  int64_t before = 0;
  int pages = 0;
  for (bool more = true; more; ++pages) {
    ASSERT_LT(pages, 30);
    auto page = store_->deviceHistory("dev-1", 1000, before, &more);
    ASSERT_TRUE(page.ok()) << page.status().toString();
    ASSERT_FALSE(page->empty());
    int64_t bytes = 0;
    for (const auto& r : *page) {
      EXPECT_TRUE(seen.insert(r.sequence).second) << "sequence " << r.sequence << " twice";
      EXPECT_FALSE(r.damaged);
      EXPECT_NE(r.result_json.find("\"padding\""), std::string::npos);
      if (before > 0) {
        EXPECT_LT(r.sequence, before);
      }
      bytes += static_cast<int64_t>(r.result_json.size());
    }
    EXPECT_LE(bytes, kHistoryPageBytes);
    before = page->back().sequence;
  }
  EXPECT_EQ(seen.size(), 30u);
  EXPECT_GE(pages, 2);
  // `limit` still bounds a page of small reports.
  bool more = false;
  auto two = store_->deviceHistory("dev-1", 2, 0, &more);
  ASSERT_TRUE(two.ok());
  ASSERT_EQ(two->size(), 2u);
  EXPECT_EQ((*two)[0].sequence, 30);
  EXPECT_TRUE(more);
}

// Issue 13, item 2: bytes changed inside a stored body passed check-db. Each body's SHA-256 is
// stored with it: checkIntegrity names the device and report, and history serves it as damaged.
TEST_P(StoreResultsTest, AChangedBodyIsNamedByTheIntegrityCheckAndServedAsDamaged) {
  ingest(report(1, "fail"));
  ingest(report(2, "fail"));
  EXPECT_EQ(*store_->checkIntegrity(), "ok");
  sql("UPDATE reports SET body = REPLACE(body, 'disk fail', 'disk pass') WHERE sequence = 1");
  auto check = store_->checkIntegrity();
  ASSERT_TRUE(check.ok()) << check.status().toString();
  EXPECT_NE(*check, "ok");
  EXPECT_NE(check->find("report 00000000-0000-4000-8000-000000000001 of device dev-1"),
            std::string::npos)
      << *check;
  EXPECT_EQ(check->find("000000000002"), std::string::npos) << *check;
  auto history = store_->deviceHistory("dev-1", 10);
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 2u);
  EXPECT_FALSE((*history)[0].damaged);
  EXPECT_TRUE((*history)[1].damaged);
  EXPECT_TRUE((*history)[1].result_json.empty());
}

// Migration v7 on a database from before it: the hashes, body sizes, checks summaries and the
// since of each verdict are filled for the rows already there.
TEST_P(StoreResultsTest, MigrationSevenFillsWhatOldRowsLack) {
  ingest(report(1, "fail"));
  ingest(report(2, "pass"));
  store_.reset();
  // Back to what version 6 left.
  sql("DROP INDEX reports_device_sequence");
  for (const char* column :
       {"reports DROP COLUMN body_sha256", "reports DROP COLUMN body_bytes",
        "devices DROP COLUMN latest_sha256", "devices DROP COLUMN checks_summary",
        "check_state DROP COLUMN since", "check_state DROP COLUMN since_report_id",
        "check_state DROP COLUMN since_sequence"}) {
    sql(std::string("ALTER TABLE ") + column);
  }
  sql("DELETE FROM schema_migrations WHERE version = 7");
  open();
  EXPECT_EQ(*store_->schemaVersion(),
            testing::kNewestSchema);  // 7 applied again, 8 to the newest (still recorded) kept
  EXPECT_EQ(*store_->checkIntegrity(), "ok");
  auto devices = list();
  ASSERT_EQ(devices.size(), 1u);
  ASSERT_EQ(devices[0].checks_summary.size(), 1u);
  EXPECT_EQ(devices[0].checks_summary.asArray()[0].find("verdict")->asString(), "pass");
  auto history = store_->deviceHistory("dev-1", 10);
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 2u);
  for (const auto& r : *history) EXPECT_FALSE(r.damaged) << r.report_id;
  EXPECT_EQ(sql("SELECT CAST(COUNT(*) AS TEXT) FROM reports WHERE body_sha256 IS NULL OR "
                "body_bytes IS NULL"),
            "0");
  // The verdict's since: its last verdict_changed event.
  EXPECT_EQ(sql("SELECT since FROM check_state WHERE device_id = 'dev-1'"), "2026-11-26T10:02:00Z");
  auto d = store_->getDevice("dev-1");
  ASSERT_TRUE(d.ok());
  EXPECT_FALSE(d->latest_result_damaged);
  ASSERT_TRUE(d->latest_result.has_value());
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreResultsTest, ::testing::Values("sqlite", "postgresql"));

}  // namespace
}  // namespace hearth::server
