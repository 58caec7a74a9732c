// The fleet's first-seen dates of pending security updates in the store, on SQLite and
// (HEARTH_TEST_PG_URI) PostgreSQL: the first report that names an update dates it for every
// device, the earliest wins, the date survives a restart (a new store on the same database), a
// report is answered only with dates older than itself, and retention drops only dates no device
// reported within its window.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "hearth/server/store.h"
#include "hearth/time.h"
#include "support/pg_schema.h"
#include "support/temp_dir.h"

namespace hearth::server {
namespace {

using std::chrono::hours;

TimePoint T(const char* s) { return *parseRfc3339(s); }

using Update = std::pair<std::string, std::string>;  // name, candidate

// A report whose os_patches evidence lists `security` as pending security updates (and one plain
// update, which is never dated: its name does not leave the PC).
json::Value result(const std::vector<Update>& security) {
  json::Value pending = json::Value::array();
  for (const auto& [name, candidate] : security) {
    json::Value p = json::Value::object();
    p.set("name", name);
    p.set("candidate", candidate);
    p.set("security", true);
    pending.push(std::move(p));
  }
  json::Value plain = json::Value::object();
  plain.set("name", "plain-package");
  plain.set("candidate", "1.0");
  plain.set("security", false);
  pending.push(std::move(plain));
  json::Value evidence = json::Value::object();
  evidence.set("pending", std::move(pending));
  json::Value c = json::Value::object();
  c.set("id", "os_patches");
  c.set("verdict", "pass");
  c.set("required", true);
  c.set("summary", "s");
  c.set("evidence", std::move(evidence));
  json::Value checks = json::Value::array();
  checks.push(std::move(c));
  json::Value r = json::Value::object();
  r.set("compliant", true);
  r.set("level", "standard");
  r.set("policy_version", 1);
  r.set("evaluated_at", "2026-11-02T09:00:00Z");
  r.set("checks", std::move(checks));
  return r;
}

class FleetStoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    uri_ = dir_.path() + "/hearth.db";
    if (GetParam() == "postgresql") {
      pg_ = std::make_unique<testing::PostgresSchema>("fleet");
      if (pg_->uri().empty()) GTEST_SKIP() << "HEARTH_TEST_PG_URI not set: no PostgreSQL server";
      uri_ = pg_->uri();
    }
    open();
    SecretRecord secret;
    secret.level = "standard";
    secret.created_at = T("2026-11-01T00:00:00Z");
    ASSERT_TRUE(store_->createSecret("hash", secret).ok());
  }

  void TearDown() override { store_.reset(); }

  void open() {
    store_.reset();
    auto s = OpenStore(uri_);
    ASSERT_TRUE(s.ok()) << s.status().toString();
    store_ = std::move(s).value();
  }

  void enroll(const std::string& id, TimePoint at, const std::string& secret = "hash") {
    DeviceRecord d;
    d.device_id = id;
    d.hostname = "host-" + id;
    d.cert_serial = "01";
    d.enrolled_at = at;
    ASSERT_TRUE(store_->enrollDevice(secret, d, at).ok());
  }

  NewReport report(const std::string& device, int64_t seq, const std::vector<Update>& security,
                   TimePoint at) {
    NewReport r;
    r.device_id = device;
    r.report_id = device + "-" + std::to_string(seq);
    r.sequence = seq;
    r.sent_at = formatRfc3339(at);
    r.agent_version = "0.1.0";
    r.result = result(security);
    r.received_at = at;
    return r;
  }

  // Stores the reports in one batch; what each was answered with.
  std::vector<IngestResult> ingest(const std::vector<NewReport>& reports) {
    auto done = store_->ingestReports(reports);
    EXPECT_TRUE(done.ok()) << done.status().toString();
    return done.ok() ? *done : std::vector<IngestResult>{};
  }

  std::string dated(const Update& u) {
    auto f = store_->fleetFirstSeen({u});
    EXPECT_TRUE(f.ok()) << f.status().toString();
    if (!f.ok() || f->empty()) return "none";
    return formatRfc3339(f->front().first_seen);
  }

  testing::TempDir dir_;
  std::unique_ptr<testing::PostgresSchema> pg_;
  std::string uri_;
  std::unique_ptr<Store> store_;
};

const Update kX = {"openssl", "3.0.15-1~deb12u1"};
const Update kY = {"libexpat1", "2.5.0-1+deb12u2"};
const Update kXNext = {"openssl", "3.0.16-1~deb12u1"};
const TimePoint kDay0 = T("2026-11-02T09:00:00Z");
const TimePoint kDay10 = kDay0 + hours(24 * 10);

TEST_P(FleetStoreTest, TheFirstReportDatesAnUpdateForEveryDeviceAcrossARestart) {
  enroll("dev-a", kDay0);
  enroll("dev-b", kDay10);
  auto a = ingest({report("dev-a", 1, {kX}, kDay0)});
  ASSERT_EQ(a.size(), 1u);
  // Its own first sight is not older than the report: nothing to tell device A.
  EXPECT_TRUE(a[0].fleet_first_seen.empty());
  EXPECT_EQ(dated(kX), "2026-11-02T09:00:00Z");
  EXPECT_EQ(dated(kY), "none");
  EXPECT_EQ(dated({"plain-package", "1.0"}), "none");  // not a security update: never dated

  open();  // a restart: the date is in the database, not only in this process
  auto b = ingest({report("dev-b", 1, {kX, kY, kXNext}, kDay10)});
  ASSERT_EQ(b.size(), 1u);
  ASSERT_EQ(b[0].fleet_first_seen.size(), 1u);
  EXPECT_EQ(b[0].fleet_first_seen[0].name, "openssl");
  EXPECT_EQ(b[0].fleet_first_seen[0].candidate, "3.0.15-1~deb12u1");
  EXPECT_EQ(b[0].fleet_first_seen[0].first_seen, kDay0);
  // Another candidate of the same package is another update, dated by B's report.
  EXPECT_EQ(dated(kXNext), "2026-11-12T09:00:00Z");
  EXPECT_EQ(dated(kY), "2026-11-12T09:00:00Z");

  // A's next report, after B's: still day 0; and B's report sent again gets the same answer.
  auto again = ingest({report("dev-a", 2, {kX, kY}, kDay10 + hours(1)),
                       report("dev-b", 1, {kX, kY, kXNext}, kDay10 + hours(2))});
  ASSERT_EQ(again.size(), 2u);
  ASSERT_EQ(again[0].fleet_first_seen.size(), 2u);
  EXPECT_EQ(again[0].fleet_first_seen[0].first_seen, kDay0);
  EXPECT_EQ(again[0].fleet_first_seen[1].first_seen, kDay10);
  EXPECT_EQ(again[1].outcome, IngestOutcome::kDuplicate);
  EXPECT_EQ(again[1].fleet_first_seen.size(), 3u);
}

TEST_P(FleetStoreTest, TheEarliestReportWinsWhateverOrderTheyArriveIn) {
  enroll("dev-a", kDay0);
  enroll("dev-b", kDay0);
  ingest({report("dev-a", 1, {kX}, kDay10)});
  EXPECT_EQ(dated(kX), "2026-11-12T09:00:00Z");
  // A report received earlier by the clock (another server sharing the database, a clock set
  // back): the earlier date wins, in this process and after a restart.
  auto b = ingest({report("dev-b", 1, {kX}, kDay0)});
  EXPECT_EQ(dated(kX), "2026-11-02T09:00:00Z");
  ingest({report("dev-a", 2, {kX}, kDay10 + hours(5))});
  EXPECT_EQ(dated(kX), "2026-11-02T09:00:00Z");
  open();
  auto later = ingest({report("dev-a", 3, {kX}, kDay10 + hours(48))});
  ASSERT_EQ(later.size(), 1u);
  ASSERT_EQ(later[0].fleet_first_seen.size(), 1u);
  EXPECT_EQ(later[0].fleet_first_seen[0].first_seen, kDay0);
}

TEST_P(FleetStoreTest, ThisProcessAnswersFromMemoryAsTheDatabaseDoesAfterARestart) {
  enroll("dev-a", kDay0);
  // Dates this process committed are answered without a statement; a new process reads them.
  ingest({report("dev-a", 1, {kX, kY}, kDay0)});
  auto mem = ingest({report("dev-a", 2, {kX, kY}, kDay0 + hours(2))});
  open();
  auto disk = ingest({report("dev-a", 3, {kX, kY}, kDay0 + hours(3))});
  ASSERT_EQ(mem.size(), 1u);
  ASSERT_EQ(disk.size(), 1u);
  ASSERT_EQ(mem[0].fleet_first_seen.size(), 2u);
  ASSERT_EQ(disk[0].fleet_first_seen.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(mem[0].fleet_first_seen[i].first_seen, disk[0].fleet_first_seen[i].first_seen);
  }
}

TEST_P(FleetStoreTest, RetentionDropsOnlyDatesNoDeviceReportedWithinItsWindow) {
  enroll("dev-a", kDay0);
  const TimePoint year_later = kDay0 + hours(24 * 500);
  // X: first seen on day 0 and still reported pending yesterday (kept, with its old date);
  // Y: reported on day 0 only (dropped); both first seen before the window.
  ingest({report("dev-a", 1, {kX, kY}, kDay0)});
  ingest({report("dev-a", 2, {kX}, year_later - hours(24))});
  PruneOptions o;
  o.now = year_later;
  o.history_window = hours(24 * 400);
  o.dry_run = true;
  auto counted = store_->prune(o);
  ASSERT_TRUE(counted.ok()) << counted.status().toString();
  EXPECT_EQ(counted->fleet_pending, 1);
  EXPECT_EQ(dated(kY), "2026-11-02T09:00:00Z");  // a dry run deletes nothing
  o.dry_run = false;
  auto pruned = store_->prune(o);
  ASSERT_TRUE(pruned.ok()) << pruned.status().toString();
  EXPECT_EQ(pruned->fleet_pending, 1);
  EXPECT_EQ(dated(kX), "2026-11-02T09:00:00Z");
  EXPECT_EQ(dated(kY), "none");
  // Y reported again after its date went: dated afresh.
  ingest({report("dev-a", 3, {kX, kY}, year_later)});
  EXPECT_EQ(dated(kY), formatRfc3339(year_later));
}

TEST_P(FleetStoreTest, OnlyBoundedSecurityEntriesAreDated) {
  enroll("dev-a", kDay0);
  std::vector<Update> many;
  for (int i = 0; i < 250; ++i) many.push_back({"pkg" + std::to_string(i), "1.0"});
  many.push_back({std::string(kMaxFleetFieldBytes + 1, 'n'), "1.0"});
  ingest({report("dev-a", 1, many, kDay0)});
  auto b = ingest({report("dev-a", 2, many, kDay10)});
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].fleet_first_seen.size(), kMaxFleetUpdatesPerReport);
  EXPECT_EQ(dated({"pkg199", "1.0"}), "2026-11-02T09:00:00Z");
  EXPECT_EQ(dated({"pkg200", "1.0"}), "none");
}

TEST_P(FleetStoreTest, AnOlderAgentsReportWithoutCandidatesIsStoredAndDatesNothing) {
  enroll("dev-old", kDay0);
  // What agents before the candidate version sent: names only (and os_patches without a list).
  NewReport r = report("dev-old", 1, {kX}, kDay0);
  json::Value* pending = r.result.find("checks")->asArray()[0].find("evidence")->find("pending");
  for (auto& p : pending->asArray()) p.erase("candidate");
  auto done = ingest({r});
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].outcome, IngestOutcome::kStored);
  EXPECT_TRUE(done[0].fleet_first_seen.empty());
  EXPECT_EQ(dated(kX), "none");
  NewReport counts = report("dev-old", 2, {}, kDay10);
  *counts.result.find("checks")->asArray()[0].find("evidence")->find("pending") =
      json::Value(static_cast<int64_t>(3));
  EXPECT_EQ(ingest({counts})[0].outcome, IngestOutcome::kStored);
}

// The standing review, finding 4: a device awaiting approval (perhaps enrolled with a leaked
// approval secret) dated the fleet's pending updates: invented (package, candidate) pairs with
// early dates would have failed os_patches across the fleet. It reads the dates, writes none.
TEST_P(FleetStoreTest, ADeviceAwaitingApprovalDatesNoUpdateButReadsTheFleetsDates) {
  SecretRecord secret;
  secret.level = "standard";
  secret.approval = true;
  secret.created_at = kDay0;
  ASSERT_TRUE(store_->createSecret("approval-hash", secret).ok());
  enroll("dev-p", kDay0, "approval-hash");
  enroll("dev-a", kDay0);
  EXPECT_TRUE(ingest({report("dev-p", 1, {kX}, kDay0)})[0].fleet_first_seen.empty());
  EXPECT_EQ(dated(kX), "none");
  auto a = ingest({report("dev-a", 1, {kX}, kDay10)});
  ASSERT_EQ(a.size(), 1u);
  EXPECT_TRUE(a[0].fleet_first_seen.empty());  // dated by its own report, not the pending one's
  EXPECT_EQ(dated(kX), formatRfc3339(kDay10));
  auto p = ingest({report("dev-p", 2, {kX}, kDay10 + hours(24))});
  ASSERT_EQ(p.size(), 1u);
  ASSERT_EQ(p[0].fleet_first_seen.size(), 1u);
  EXPECT_EQ(p[0].fleet_first_seen[0].first_seen, kDay10);
}

INSTANTIATE_TEST_SUITE_P(Backends, FleetStoreTest, ::testing::Values("sqlite", "postgresql"));

}  // namespace
}  // namespace hearth::server
