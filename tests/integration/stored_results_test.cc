// Stored results over the API. Issue 12, defect 5: an enrolled device posting 1 MiB results of
// `[{},{},...]` had them stored and parsed again on every read (660 MB peak RSS on one history
// read): a result beyond the bounds is refused with 413 `result_too_large` (the agent sets it
// aside and sends the next), and a history page holds at most 4 MiB of results, continued with
// `before`. Issue 13, item 2: bytes overwritten inside a stored body passed check-db; each body's
// SHA-256 is stored with it, check-db names the damaged report, and history serves it as
// damaged. The RSS figures are the bench's (tests/bench/server/results_rss_bench.cc).
#include <fstream>
#include <set>

#include <Poco/Data/SQLite/Connector.h>
#include <Poco/Data/Session.h>

#include "hearth/json.h"
#include "hearth/protocol/wire.h"
#include "server_fault_fixture.h"
#include "support/files.h"

namespace hearth::testing {
namespace {

class StoredResultsTest : public FaultServerTest {
 protected:
  static std::string emptyObjects(size_t n) {
    std::string s = "[{}";
    for (size_t i = 1; i < n; ++i) s += ",{}";
    return s + "]";
  }

  static json::Value parsed(const HttpAnswer& a) {
    auto v = json::parse(a.body, {.max_depth = 64, .max_bytes = 64 << 20});
    EXPECT_TRUE(v.ok()) << a.body.substr(0, 300);
    return v.ok() ? std::move(v).value() : json::Value::object();
  }
};

TEST_P(StoredResultsTest, Defect5AHostileResultIsRefusedWith413AndTheNextIsStored) {
  ASSERT_TRUE(start());
  FaultDevice d = enroll("pc-1");
  ASSERT_FALSE(d.id.empty());
  // Just under the 1 MiB body bound: about 349,000 empty objects.
  HttpAnswer hostile = report(d, "hostile", 1, emptyObjects(((1 << 20) - 1024) / 3));
  EXPECT_EQ(hostile.status, 413) << hostile.body.substr(0, 300);
  json::Value answer = parsed(hostile);
  ASSERT_NE(answer.find("code"), nullptr) << hostile.body.substr(0, 300);
  EXPECT_EQ(answer.find("code")->asString(), "result_too_large") << hostile.body;
  EXPECT_NE(hostile.body.find("JSON values"), std::string::npos) << hostile.body;
  // The largest result allowed is stored, and the next report too.
  std::string largest = "\"" + std::string(protocol::kMaxBodyBytes - 1000, 'a') + "\"";
  EXPECT_EQ(report(d, "largest", 2, largest).status, 202);
  EXPECT_EQ(report(d, "next", 3).status, 202);
  EXPECT_EQ(historyIds(d.id).size(), 2u);
}

TEST_P(StoredResultsTest, Defect5HistoryPagesHoldAtMost4MiBAndContinueWithBefore) {
  ASSERT_TRUE(start());
  FaultDevice d = enroll("pc-1");
  ASSERT_FALSE(d.id.empty());
  std::string evidence = "\"" + std::string(200 * 1024, 'e') + "\"";
  for (int seq = 1; seq <= 30; ++seq) {
    ASSERT_EQ(report(d, "r" + std::to_string(seq), seq, evidence).status, 202) << seq;
  }
  std::set<int64_t> seen;
  std::string before;
  int pages = 0;
  for (; pages < 30; ++pages) {
    HttpAnswer a = admin("/api/v1/devices/" + d.id + "/history?limit=1000" + before);
    ASSERT_EQ(a.status, 200) << a.body.substr(0, 300);
    EXPECT_LE(a.body.size(), (4u << 20) + 64 * 1024) << "page " << pages;
    json::Value page = parsed(a);
    for (const auto& r : page.find("reports")->asArray()) {
      EXPECT_TRUE(seen.insert(r.find("sequence")->asInt()).second);
      EXPECT_TRUE(r.find("result")->isObject());
      EXPECT_EQ(r.find("damaged"), nullptr);
    }
    const json::Value* next = page.find("next");
    ASSERT_NE(next, nullptr);
    if (next->isNull()) break;
    before = "&before=" + next->asString();
  }
  EXPECT_EQ(seen.size(), 30u);
  EXPECT_GE(pages, 1) << "one page held all 30 reports (6 MB)";
  EXPECT_EQ(admin("/api/v1/devices/" + d.id + "/history?before=0").status, 400);
  // The device list shows each device's checks from the summary kept beside its result.
  json::Value list = parsed(admin("/api/v1/devices"));
  const json::Value& checks = list.find("devices")->asArray()[0].find("checks")->asArray()[0];
  EXPECT_EQ(checks.find("id")->asString(), "disk_encryption");
  EXPECT_EQ(checks.find("verdict")->asString(), "pass");
  EXPECT_EQ(checks.find("evidence"), nullptr);
}

// Overwrites `from` with `to` (as long) wherever it is in the SQLite file, as a bad sector or a
// stray write would, after moving the write-ahead log into it; how many places it changed.
int overwriteInFile(const std::string& db_file, const std::string& from, const std::string& to) {
  Poco::Data::SQLite::Connector::registerConnector();
  {
    Poco::Data::Session s("SQLite", db_file);
    s << "PRAGMA wal_checkpoint(TRUNCATE)", Poco::Data::Keywords::now;
  }
  std::string bytes = ReadFile(db_file);
  int changed = 0;
  for (size_t at = bytes.find(from); at != std::string::npos; at = bytes.find(from, at + 1)) {
    bytes.replace(at, to.size(), to);
    ++changed;
  }
  std::ofstream(db_file, std::ios::binary | std::ios::trunc) << bytes;
  return changed;
}

TEST_P(StoredResultsTest, Issue13ChangedBytesInsideAStoredBodyAreNamedByCheckDb) {
  if (postgres()) GTEST_SKIP() << "a SQLite file's bytes (PostgreSQL checksums its own pages)";
  ASSERT_TRUE(start());
  FaultDevice d = enroll("pc-1");
  ASSERT_FALSE(d.id.empty());
  ASSERT_EQ(report(d, "kept", 1, "{\"note\":\"untouched\"}").status, 202);
  ASSERT_EQ(report(d, "hit", 2, "{\"note\":\"marker-XYZ\"}").status, 202);
  ASSERT_EQ(report(d, "kept-too", 3, "{\"note\":\"untouched\"}").status, 202);
  server_->stop();
  server_.reset();
  ASSERT_EQ(cli({"check-db"}).out, "ok\n");
  ASSERT_GE(overwriteInFile(dbFile(), "marker-XYZ", "marker-ABC"), 1);

  ProcessOutput check = cli({"check-db"});
  EXPECT_EQ(check.exit_code, 1) << check.out << check.err;
  EXPECT_NE(check.out.find("report " + reportId("hit") + " of device " + d.id), std::string::npos)
      << check.out;
  EXPECT_EQ(check.out.find(reportId("kept")), std::string::npos) << check.out;
  EXPECT_NE(check.err.find("damaged"), std::string::npos) << check.err;

  // Served without the changed result, marked, and logged.
  ASSERT_TRUE(start());
  json::Value history = parsed(admin("/api/v1/devices/" + d.id + "/history"));
  int damaged = 0;
  for (const auto& r : history.find("reports")->asArray()) {
    if (r.find("damaged") != nullptr) {
      ++damaged;
      EXPECT_EQ(r.find("report_id")->asString(), reportId("hit"));
      EXPECT_TRUE(r.find("result")->isNull());
    } else {
      EXPECT_TRUE(r.find("result")->isObject());
    }
  }
  EXPECT_EQ(damaged, 1);
  EXPECT_NE(serverLog().find(reportId("hit")), std::string::npos) << serverLog();
}

INSTANTIATE_TEST_SUITE_P(Backends, StoredResultsTest, ::testing::Values("sqlite", "postgresql"));

}  // namespace
}  // namespace hearth::testing
