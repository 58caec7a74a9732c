// The store against real SQLite (a file in a temp dir) and, when HEARTH_TEST_PG_URI is set, a real
// PostgreSQL database: the same tests on both backends.
#include "hearth/server/store.h"

#include <atomic>
#include <cstdlib>
#include <thread>
#include <unistd.h>

#include <Poco/Data/PostgreSQL/Connector.h>
#include <Poco/Data/Session.h>
#include <gtest/gtest.h>

#include "hearth/protocol/crypto.h"
#include "hearth/result.h"
#include "hearth/server/serve.h"
#include "hearth/time.h"
#include "support/store_backend.h"
#include "support/temp_dir.h"

namespace hearth::server {
namespace {

using std::chrono::hours;

TimePoint T(const char* s) { return *parseRfc3339(s); }

json::Value result(bool compliant, const std::vector<std::pair<std::string, std::string>>& checks) {
  json::Value r = json::Value::object();
  r.set("compliant", compliant);
  r.set("level", "standard");
  r.set("policy_version", 1);
  r.set("evaluated_at", "2026-11-26T10:00:00Z");
  json::Value arr = json::Value::array();
  for (const auto& [id, verdict] : checks) {
    json::Value c = json::Value::object();
    c.set("id", id);
    c.set("verdict", verdict);
    c.set("required", true);
    c.set("summary", "s");
    arr.push(std::move(c));
  }
  r.set("checks", std::move(arr));
  return r;
}

class StoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "postgresql") {
      const char* uri = std::getenv("HEARTH_TEST_PG_URI");
      if (uri == nullptr || *uri == '\0') {
        GTEST_SKIP() << "HEARTH_TEST_PG_URI not set: no PostgreSQL server for this run";
      }
      // Each test gets its own schema, so tests can run in parallel against one server.
      schema_ = "hearth_test_" + std::to_string(::getpid());
      pg_uri_ = uri;
      resetPostgres(pg_uri_, schema_);
      std::string scoped = pg_uri_ + (pg_uri_.find('?') == std::string::npos ? "?" : "&") +
                           "options=-csearch_path%3D" + schema_;
      auto s = OpenStore(scoped);
      ASSERT_TRUE(s.ok()) << s.status().toString();
      store_ = std::move(s).value();
    } else {
      auto s = OpenStore(dir_.path() + "/hearth.db");
      ASSERT_TRUE(s.ok()) << s.status().toString();
      store_ = std::move(s).value();
    }
  }

  void TearDown() override {
    store_.reset();
    if (!schema_.empty()) dropSchema(pg_uri_, schema_);
  }

  static void resetPostgres(const std::string& uri, const std::string& schema) {
    dropSchema(uri, schema);
    Poco::Data::Session s("PostgreSQL", *PostgresUriToConninfo(uri));
    s << "CREATE SCHEMA " + schema, Poco::Data::Keywords::now;
  }
  static void dropSchema(const std::string& uri, const std::string& schema) {
    Poco::Data::PostgreSQL::Connector::registerConnector();
    Poco::Data::Session s("PostgreSQL", *PostgresUriToConninfo(uri));
    s << "DROP SCHEMA IF EXISTS " + schema + " CASCADE", Poco::Data::Keywords::now;
  }

  std::string schema_;
  std::string pg_uri_;

  std::string enroll(const std::string& secret_hash, const std::string& id) {
    DeviceRecord d;
    d.device_id = id;
    d.hostname = "host-" + id;
    d.cert_serial = "01";
    d.enrolled_at = T("2026-11-26T09:00:00Z");
    auto r = store_->enrollDevice(secret_hash, d, T("2026-11-26T09:00:00Z"));
    EXPECT_TRUE(r.ok()) << r.status().toString();
    return id;
  }

  testing::TempDir dir_;
  std::unique_ptr<Store> store_;
};

TEST_P(StoreTest, MigratesToTheLatestSchemaIdempotently) {
  auto v = store_->schemaVersion();
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, testing::kNewestSchema);
  if (GetParam() == "sqlite") {
    auto again = OpenStore(dir_.path() + "/hearth.db");
    ASSERT_TRUE(again.ok()) << again.status().toString();
    EXPECT_EQ(*(*again)->schemaVersion(), testing::kNewestSchema);
  }
}

TEST_P(StoreTest, SecretsLimitUsesAndRevocation) {
  SecretRecord spec;
  spec.level = "standard";
  spec.uses_left = 1;
  spec.owner = "alice";
  spec.created_at = T("2026-11-26T08:00:00Z");
  auto s = store_->createSecret("hash-single", spec);
  ASSERT_TRUE(s.ok()) << s.status().toString();
  enroll("hash-single", "dev-1");
  auto dev = store_->getDevice("dev-1");
  ASSERT_TRUE(dev.ok());
  EXPECT_EQ(dev->owner.value_or(""), "alice");
  EXPECT_EQ(dev->level, "standard");
  DeviceRecord d2;
  d2.device_id = "dev-2";
  d2.hostname = "h";
  d2.cert_serial = "02";
  d2.enrolled_at = T("2026-11-26T09:00:00Z");
  auto second = store_->enrollDevice("hash-single", d2, T("2026-11-26T09:00:00Z"));
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.status().message().find("used up"), std::string::npos);
  EXPECT_FALSE(store_->getDevice("dev-2").ok());  // nothing written

  SecretRecord shared;
  shared.level = "standard";
  shared.created_at = T("2026-11-26T08:00:00Z");
  shared.expires_at = T("2026-11-27T08:00:00Z");
  auto sh = store_->createSecret("hash-shared", shared);
  ASSERT_TRUE(sh.ok());
  EXPECT_FALSE(store_->enrollDevice("hash-shared", d2, T("2026-11-28T00:00:00Z")).ok());  // expired
  ASSERT_TRUE(store_->revokeSecret(sh->id, T("2026-11-26T10:00:00Z")).ok());
  auto revoked = store_->enrollDevice("hash-shared", d2, T("2026-11-26T11:00:00Z"));
  ASSERT_FALSE(revoked.ok());
  EXPECT_NE(revoked.status().message().find("revoked"), std::string::npos);
  EXPECT_FALSE(store_->enrollDevice("no-such-hash", d2, T("2026-11-26T11:00:00Z")).ok());
  auto list = store_->listSecrets();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].uses, 1);
  EXPECT_EQ((*list)[0].uses_left.value_or(-1), 0);
}

TEST_P(StoreTest, ReportsAreStoredOnceAndDriveStatusAndFeed) {
  SecretRecord spec;
  spec.level = "standard";
  spec.created_at = T("2026-11-26T08:00:00Z");
  ASSERT_TRUE(store_->createSecret("h", spec).ok());
  enroll("h", "dev-1");
  NewReport r;
  r.device_id = "dev-1";
  r.report_id = "3f2b8c1e-5d6a-4b7c-8d9e-0a1b2c3d4e5f";
  r.sequence = 1;
  r.sent_at = "2026-11-26T10:00:00Z";
  r.agent_version = "0.1.0";
  r.machine_id = std::string(64, 'a');
  r.result = result(false, {{"disk_encryption", "fail"}, {"vpn", "pass"}});
  r.received_at = T("2026-11-26T10:00:01Z");
  auto out = store_->ingestReports({r, r});  // the same report twice in one batch
  ASSERT_TRUE(out.ok()) << out.status().toString();
  EXPECT_EQ((*out)[0].outcome, IngestOutcome::kStored);
  EXPECT_EQ((*out)[1].outcome, IngestOutcome::kDuplicate);
  auto again = store_->ingestReports({r});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)[0].outcome, IngestOutcome::kDuplicate);

  auto dev = store_->getDevice("dev-1");
  ASSERT_TRUE(dev.ok());
  EXPECT_EQ(dev->status, "noncompliant");
  EXPECT_EQ(dev->last_sequence, 1);
  ASSERT_TRUE(dev->latest_result.has_value());

  NewReport r2 = r;
  r2.report_id = "3f2b8c1e-5d6a-4b7c-8d9e-0a1b2c3d4e60";
  r2.sequence = 2;
  r2.result = result(true, {{"disk_encryption", "pass"}, {"vpn", "pass"}});
  r2.received_at = T("2026-11-26T11:00:00Z");
  ASSERT_TRUE(store_->ingestReports({r2}).ok());
  EXPECT_EQ(store_->getDevice("dev-1")->status, "compliant");

  EXPECT_EQ(*store_->missingReports("dev-1"), 0);
  NewReport r5 = r2;
  r5.report_id = "3f2b8c1e-5d6a-4b7c-8d9e-0a1b2c3d4e99";
  r5.sequence = 5;  // 3 and 4 never arrived
  ASSERT_TRUE(store_->ingestReports({r5}).ok());
  EXPECT_EQ(*store_->missingReports("dev-1"), 2);

  auto history = store_->deviceHistory("dev-1", 10);
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 3u);
  EXPECT_EQ((*history)[0].sequence, 5);  // newest first

  auto events = store_->feed(0, 100);
  ASSERT_TRUE(events.ok());
  // enrolled, disk fail (new), vpn pass (new), device_noncompliant, disk fail -> pass,
  // device_compliant (issue 14: the device's own events follow its checks')
  ASSERT_EQ(events->size(), 6u);
  EXPECT_EQ((*events)[0].type, "enrolled");
  EXPECT_EQ((*events)[3].type, "device_noncompliant");
  EXPECT_EQ((*events)[4].type, "verdict_changed");
  EXPECT_EQ((*events)[4].check.value_or(""), "disk_encryption");
  EXPECT_EQ((*events)[4].from.value_or(""), "fail");
  EXPECT_EQ((*events)[4].to.value_or(""), "pass");
  EXPECT_EQ((*events)[5].type, "device_compliant");
  auto after = store_->feed((*events)[1].cursor, 100);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->size(), 4u);

  // An older report arriving late is stored but does not roll the device's state back.
  NewReport late = r;
  late.report_id = "3f2b8c1e-5d6a-4b7c-8d9e-0a1b2c3d4e61";
  late.sequence = 1;
  late.received_at = T("2026-11-26T12:00:00Z");
  ASSERT_TRUE(store_->ingestReports({late}).ok());
  EXPECT_EQ(store_->getDevice("dev-1")->status, "compliant");
}

// After a restore from an older backup the agents send the reports the server lost: each
// acknowledgement says what the server held before the report (so the agent can tell), and an
// older sequence arriving after a newer one is stored without moving the latest result back.
TEST_P(StoreTest, EachReportOfABatchSaysTheDevicesPreviousSequence) {
  SecretRecord spec;
  spec.level = "standard";
  spec.created_at = T("2026-11-26T08:00:00Z");
  ASSERT_TRUE(store_->createSecret("h", spec).ok());
  enroll("h", "dev-1");
  enroll("h", "dev-2");
  auto report = [&](const std::string& device, int64_t seq, bool compliant) {
    NewReport r;
    r.device_id = device;
    char id[64];
    std::snprintf(id, sizeof id, "3f2b8c1e-5d6a-4b7c-8d9e-%012lld",
                  static_cast<long long>(seq + (device == "dev-2" ? 1000 : 0)));
    r.report_id = id;
    r.sequence = seq;
    r.sent_at = "2026-11-26T10:00:00Z";
    r.agent_version = "0.1.0";
    r.machine_id = std::string(64, 'a');
    r.result = result(compliant, {{"disk_encryption", compliant ? "pass" : "fail"}});
    r.received_at = T("2026-11-26T10:00:01Z");
    return r;
  };
  // One batch, two devices interleaved: each report sees what was stored before it.
  auto out = store_->ingestReports({report("dev-1", 1, false), report("dev-2", 1, false),
                                    report("dev-1", 2, false), report("dev-1", 3, false),
                                    report("dev-2", 7, false)});
  ASSERT_TRUE(out.ok()) << out.status().toString();
  ASSERT_EQ(out->size(), 5u);
  std::vector<int64_t> previous;
  for (const auto& o : *out) {
    EXPECT_EQ(o.outcome, IngestOutcome::kStored);
    previous.push_back(o.previous_sequence);
  }
  EXPECT_EQ(previous, (std::vector<int64_t>{0, 0, 1, 2, 1}));

  // dev-1 jumps to 9 (compliant now); then 5, older, arrives (re-sent after a restore).
  auto nine = store_->ingestReports({report("dev-1", 9, true)});
  ASSERT_TRUE(nine.ok());
  EXPECT_EQ((*nine)[0].previous_sequence, 3);  // the agent had 4..8 acknowledged: it re-sends
  auto five = store_->ingestReports({report("dev-1", 5, false)});
  ASSERT_TRUE(five.ok());
  EXPECT_EQ((*five)[0].outcome, IngestOutcome::kStored);
  EXPECT_EQ((*five)[0].previous_sequence, 9);  // nothing below 5 is for the agent to worry about
  auto dev = store_->getDevice("dev-1");
  ASSERT_TRUE(dev.ok());
  EXPECT_EQ(dev->last_sequence, 9);
  EXPECT_EQ(dev->status, "compliant");  // the latest result follows the highest sequence
  ASSERT_TRUE(dev->latest_result.has_value());
  EXPECT_EQ(json::write(*dev->latest_result->find("compliant")), "true");
  auto history = store_->deviceHistory("dev-1", 10);
  ASSERT_TRUE(history.ok());
  EXPECT_EQ(history->size(), 5u);                  // 1, 2, 3, 5, 9
  EXPECT_EQ(*store_->missingReports("dev-1"), 4);  // 4, 6, 7, 8

  // A duplicate says the highest sequence held below it, so that an agent that crashed before it
  // saw the first acknowledgement learns the same again.
  auto dup = store_->ingestReports({report("dev-1", 9, true), report("dev-1", 5, false)});
  ASSERT_TRUE(dup.ok());
  EXPECT_EQ((*dup)[0].outcome, IngestOutcome::kDuplicate);
  EXPECT_EQ((*dup)[0].previous_sequence, 5);
  EXPECT_EQ((*dup)[1].outcome, IngestOutcome::kDuplicate);
  EXPECT_EQ((*dup)[1].previous_sequence, 3);
}

// A home PC switched off from Friday afternoon over a long weekend is not stale when it comes
// back on Tuesday morning; one silent for five days is (the default window was 24 h, which made
// every home PC stale each Monday).
TEST_P(StoreTest, DefaultStaleWindowLetsALongWeekendPass) {
  SecretRecord spec;
  spec.level = "standard";
  spec.created_at = T("2026-11-26T08:00:00Z");
  ASSERT_TRUE(store_->createSecret("h", spec).ok());
  enroll("h", "dev-0");  // enrolled Thursday 2026-11-26 09:00, never reported since
  DeviceFilter f;
  f.status = "stale";
  f.now = T("2026-11-30T08:00:00Z");  // Monday morning: 95 h later
  EXPECT_EQ(store_->listDevices(f)->size(), 0u);
  f.now = T("2026-12-01T10:00:00Z");  // Tuesday, five days later
  EXPECT_EQ(store_->listDevices(f)->size(), 1u);
  ServeOptions serve;
  EXPECT_EQ(serve.stale_after, f.stale_after) << "one default for the server and its lists";
}

TEST_P(StoreTest, ListingFiltersByStatusLevelAndStaleness) {
  SecretRecord spec;
  spec.level = "standard";
  spec.created_at = T("2026-11-26T08:00:00Z");
  ASSERT_TRUE(store_->createSecret("h", spec).ok());
  for (int i = 0; i < 5; ++i) enroll("h", "dev-" + std::to_string(i));
  NewReport r;
  r.device_id = "dev-1";
  r.report_id = "3f2b8c1e-5d6a-4b7c-8d9e-0a1b2c3d4e5f";
  r.sequence = 1;
  r.sent_at = "2026-11-26T10:00:00Z";
  r.agent_version = "0.1.0";
  r.machine_id = std::string(64, 'a');
  r.result = result(false, {{"disk_encryption", "fail"}});
  r.received_at = T("2026-11-27T10:00:00Z");
  ASSERT_TRUE(store_->ingestReports({r}).ok());
  DeviceFilter f;
  f.now = T("2026-11-27T12:00:00Z");
  f.stale_after = std::chrono::hours(24);
  f.status = "noncompliant";
  auto non = store_->listDevices(f);
  ASSERT_TRUE(non.ok()) << non.status().toString();
  ASSERT_EQ(non->size(), 1u);
  EXPECT_EQ((*non)[0].device_id, "dev-1");
  f.status = "stale";  // enrolled a day and more ago, never reported
  auto stale = store_->listDevices(f);
  ASSERT_TRUE(stale.ok());
  EXPECT_EQ(stale->size(), 4u);
  f.status.reset();
  f.limit = 2;
  auto page = store_->listDevices(f);
  ASSERT_EQ(page->size(), 2u);
  f.after = (*page)[1].device_id;
  auto next = store_->listDevices(f);
  ASSERT_EQ(next->size(), 2u);
  EXPECT_EQ((*next)[0].device_id, "dev-2");
  f.level = "other";
  EXPECT_EQ(store_->listDevices(f)->size(), 0u);

  auto marked = store_->markStale(T("2026-11-27T12:00:00Z"), std::chrono::hours(24));
  ASSERT_TRUE(marked.ok());
  EXPECT_EQ(*marked, 4);
  EXPECT_EQ(*store_->markStale(T("2026-11-27T13:00:00Z"), std::chrono::hours(24)), 0);
  auto counts = store_->deviceCounts(T("2026-11-27T12:00:00Z"), std::chrono::hours(24));
  ASSERT_TRUE(counts.ok());
  ASSERT_EQ(counts->size(), 2u);
  EXPECT_EQ((*counts)[0], (std::pair<std::string, int64_t>{"noncompliant", 1}));
  EXPECT_EQ((*counts)[1], (std::pair<std::string, int64_t>{"stale", 4}));

  auto auth = store_->deviceForAuth("dev-1");
  ASSERT_TRUE(auth.ok()) << auth.status().toString();
  EXPECT_EQ(auth->cert_serial, "01");
  EXPECT_EQ(auth->level, "standard");
  EXPECT_FALSE(auth->retired_at.has_value());
  EXPECT_EQ(store_->deviceForAuth("nope").status().code(), StatusCode::kNotFound);
  ASSERT_TRUE(store_->retireDevice("dev-1", T("2026-11-27T12:00:00Z")).ok());
  EXPECT_TRUE(store_->deviceForAuth("dev-1")->retired_at.has_value());
  EXPECT_FALSE(store_->retireDevice("dev-1", T("2026-11-27T12:00:00Z")).ok());
  EXPECT_TRUE(store_->getDevice("dev-1")->retired_at.has_value());
}

TEST_P(StoreTest, PoliciesAreVersionedAndTokensHashed) {
  PolicyRecord p{"standard", 1, "{\"level\":\"standard\"}", "sig", T("2026-11-26T08:00:00Z")};
  ASSERT_TRUE(store_->putPolicy(p).ok());
  auto same = store_->putPolicy(p);
  ASSERT_FALSE(same.ok());
  EXPECT_NE(same.message().find("higher \"version\""), std::string::npos);
  p.version = 2;
  p.body = "{\"v\":2}";
  ASSERT_TRUE(store_->putPolicy(p).ok());
  EXPECT_EQ(store_->latestPolicy("standard")->body, "{\"v\":2}");
  EXPECT_EQ(store_->latestPolicy("nope").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->listLatestPolicies()->size(), 1u);

  TokenRecord t;
  t.name = "it-reader";
  t.scope = "read";
  t.created_at = T("2026-11-26T08:00:00Z");
  t.expires_at = T("2026-12-26T08:00:00Z");
  auto tok = store_->createToken("tokhash", t);
  ASSERT_TRUE(tok.ok());
  auto found = store_->findToken("tokhash", T("2026-11-27T00:00:00Z"));
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->id, tok->id);
  EXPECT_EQ(found->name, "it-reader");
  EXPECT_EQ(found->scope, "read");
  EXPECT_EQ(found->created_at, T("2026-11-26T08:00:00Z"));
  EXPECT_EQ(found->expires_at, T("2026-12-26T08:00:00Z"));
  EXPECT_FALSE(found->revoked_at);
  EXPECT_FALSE(store_->findToken("tokhash", T("2027-01-01T00:00:00Z")).ok());  // expired
  // A token without an end date, looked up after one with: nothing of the first one stays.
  TokenRecord forever;
  forever.name = "siem";
  forever.scope = "admin";
  forever.created_at = T("2026-11-26T09:00:00Z");
  ASSERT_TRUE(store_->createToken("otherhash", forever).ok());
  auto other = store_->findToken("otherhash", T("2030-01-01T00:00:00Z"));
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(other->name, "siem");
  EXPECT_FALSE(other->expires_at);
  EXPECT_EQ(store_->findToken("nosuchhash", T("2026-11-27T00:00:00Z")).status().code(),
            StatusCode::kNotFound);
  ASSERT_TRUE(store_->revokeToken(tok->id, T("2026-11-27T00:00:00Z")).ok());
  EXPECT_FALSE(store_->findToken("tokhash", T("2026-11-27T01:00:00Z")).ok());
}

// The audit log: appended in order, read back after a cursor, with its detail.
TEST_P(StoreTest, AuditLogAppendsAndPages) {
  for (int i = 0; i < 5; ++i) {
    AuditEntry e;
    e.at = T("2026-11-26T10:00:00Z");
    e.actor = i % 2 == 0 ? "cli:root" : "helpdesk lead";
    e.action = "secret.create";
    e.target = "secret:" + std::to_string(i + 1);
    if (i == 0) e.detail = R"({"uses":1})";
    ASSERT_TRUE(store_->appendAudit(e).ok());
  }
  auto all = store_->listAudit(0, 100);
  ASSERT_TRUE(all.ok()) << all.status().toString();
  ASSERT_EQ(all->size(), 5u);
  EXPECT_EQ((*all)[0].target, "secret:1");
  EXPECT_EQ((*all)[0].detail.value_or(""), R"({"uses":1})");
  EXPECT_FALSE((*all)[1].detail.has_value());
  EXPECT_EQ((*all)[1].actor, "helpdesk lead");
  auto page = store_->listAudit((*all)[2].id, 100);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->size(), 2u);
  EXPECT_EQ((*page)[0].target, "secret:4");
  json::Value shown = AuditEntryJson((*all)[0]);
  EXPECT_EQ(shown.find("detail")->find("uses")->asInt(), 1);
  EXPECT_EQ(shown.find("cursor")->asString(), std::to_string((*all)[0].id));
}

// An action's audit entry is stored with it, in one transaction: both or neither.
TEST_P(StoreTest, AuditEntriesAreStoredWithTheirActionOrNotAtAll) {
  AuditEntry entry;
  entry.at = T("2026-11-26T10:00:00Z");
  entry.actor = "cli:root";
  entry.action = "secret.create";
  entry.target = "secret:";  // the new id is appended
  SecretRecord spec;
  spec.level = "standard";
  spec.created_at = T("2026-11-26T10:00:00Z");
  auto created = store_->createSecret("hash-audited", spec, &entry);
  ASSERT_TRUE(created.ok()) << created.status().toString();
  entry.action = "secret.revoke";
  entry.target = "secret:999";
  EXPECT_EQ(store_->revokeSecret(999, T("2026-11-26T10:00:00Z"), &entry).code(),
            StatusCode::kNotFound);
  entry.action = "device.retire";
  entry.target = "device:none";
  EXPECT_FALSE(store_->retireDevice("none", T("2026-11-26T10:00:00Z"), &entry).ok());
  entry.action = "device.owner";
  EXPECT_FALSE(store_->setDeviceOwner("none", std::string("x"), &entry).ok());
  auto log = store_->listAudit(0, 100);
  ASSERT_TRUE(log.ok()) << log.status().toString();
  ASSERT_EQ(log->size(), 1u);  // the refused actions left nothing
  EXPECT_EQ((*log)[0].target, "secret:" + std::to_string(created->id));
  // The store still works after the rolled-back transactions.
  entry.action = "secret.revoke";
  entry.target = "secret:" + std::to_string(created->id);
  EXPECT_TRUE(store_->revokeSecret(created->id, T("2026-11-26T11:00:00Z"), &entry).ok());
  EXPECT_EQ(store_->listAudit(0, 100)->size(), 2u);
}

// More enrolments with one secret than the threshold within the window: one spike event per
// window, a new one in a later window, none for a quiet secret.
TEST_P(StoreTest, EnrolmentSpikeIsRaisedOncePerWindow) {
  SecretRecord spec;
  spec.level = "standard";
  spec.created_at = T("2026-11-26T08:00:00Z");
  ASSERT_TRUE(store_->createSecret("hash-rollout", spec).ok());
  ASSERT_TRUE(store_->createSecret("hash-quiet", spec).ok());
  SpikeRule rule{.threshold = 2, .window = std::chrono::minutes(10)};
  int n = 0;
  auto enrolAt = [&](const std::string& hash, const char* when) {
    DeviceRecord d;
    d.device_id = "dev-" + std::to_string(++n);
    d.hostname = "h";
    d.cert_serial = "01";
    d.enrolled_at = T(when);
    ASSERT_TRUE(store_->enrollDevice(hash, d, T(when), rule).ok());
  };
  auto spikes = [&] {
    std::vector<FeedEvent> out;
    auto feed = store_->feed(0, 1000);
    EXPECT_TRUE(feed.ok());
    if (!feed.ok()) return out;
    for (const auto& e : *feed) {
      if (e.type == "enrolment_spike") out.push_back(e);
    }
    return out;
  };
  enrolAt("hash-rollout", "2026-11-26T10:00:00Z");
  enrolAt("hash-rollout", "2026-11-26T10:00:01Z");
  enrolAt("hash-quiet", "2026-11-26T10:00:01Z");
  EXPECT_EQ(spikes().size(), 0u);  // 2 is not more than 2
  enrolAt("hash-rollout", "2026-11-26T10:00:02Z");
  ASSERT_EQ(spikes().size(), 1u);
  EXPECT_EQ(spikes()[0].detail.value_or(""), R"({"secret_id":1,"count":3,"window_seconds":600})");
  enrolAt("hash-rollout", "2026-11-26T10:05:00Z");  // same window: no second event
  enrolAt("hash-rollout", "2026-11-26T10:06:00Z");
  EXPECT_EQ(spikes().size(), 1u);
  enrolAt("hash-rollout", "2026-11-26T10:30:00Z");  // a later window, quiet so far
  enrolAt("hash-rollout", "2026-11-26T10:30:01Z");
  EXPECT_EQ(spikes().size(), 1u);
  enrolAt("hash-rollout", "2026-11-26T10:30:02Z");  // and a new spike in it
  EXPECT_EQ(spikes().size(), 2u);
  enrolAt("hash-quiet", "2026-11-26T10:30:02Z");
  EXPECT_EQ(spikes().size(), 2u);
}

// The kind `secret list` shows, from the limits.
TEST(SecretKindTest, NamesEachKind) {
  SecretRecord s;
  EXPECT_EQ(SecretKind(s), "rollout");
  s.uses_left = 1;
  EXPECT_EQ(SecretKind(s), "single-use");
  s.uses_left = 0;
  s.uses = 1;
  EXPECT_EQ(SecretKind(s), "single-use");  // still single-use once used
  s.uses_left = 4;
  EXPECT_EQ(SecretKind(s), "limited");
  s.owner = "alice";
  EXPECT_EQ(SecretKind(s), "per-person");
  s.uses_left = std::nullopt;
  s.approval = true;
  EXPECT_EQ(SecretKind(s), "per-person+approval");
}

// A report of `device` with `sequence`, received at `at` (a verdict per sequence parity, so
// each report changes the check and appends a feed event).
NewReport reportAt(const std::string& device, int64_t sequence, const char* at) {
  NewReport r;
  r.device_id = device;
  r.report_id = device + "-" + std::to_string(sequence);
  r.sequence = sequence;
  r.sent_at = at;
  r.agent_version = "0.1.0";
  r.machine_id = protocol::Sha256Hex(device);  // one PC each: no cloned-disk events
  r.result = result(false, {{"disk_encryption", sequence % 2 == 1 ? "fail" : "pass"}});
  r.received_at = T(at);
  return r;
}

int eventsOf(Store& store, const std::string& device) {
  auto feed = store.feed(0, 1000);
  EXPECT_TRUE(feed.ok());
  int n = 0;
  for (const auto& e : *feed) n += e.device_id == device ? 1 : 0;
  return n;
}

TEST_P(StoreTest, PruneDeletesOldHistoryButKeepsEachDevicesLatestReport) {
  SecretRecord spec;
  spec.level = "standard";
  spec.created_at = T("2024-01-01T00:00:00Z");
  ASSERT_TRUE(store_->createSecret("h", spec).ok());
  enroll("h", "dev-1");
  enroll("h", "dev-2");
  ASSERT_TRUE(store_
                  ->ingestReports({reportAt("dev-1", 1, "2025-01-01T00:00:00Z"),
                                   reportAt("dev-1", 2, "2025-06-01T00:00:00Z"),
                                   reportAt("dev-1", 3, "2026-11-01T00:00:00Z"),
                                   reportAt("dev-2", 1, "2024-01-01T00:00:00Z")})
                  .ok());
  PruneOptions o;
  o.now = T("2026-11-27T00:00:00Z");  // 400 days back: 2025-10-23
  o.batch = 1;                        // many small transactions
  o.dry_run = true;
  auto dry = store_->prune(o);
  ASSERT_TRUE(dry.ok()) << dry.status().toString();
  EXPECT_EQ(dry->reports, 2);  // dev-1's 1 and 2; dev-2's only report is its latest
  // The verdict changes of those three old reports, and the device_noncompliant that dev-1's
  // first and dev-2's report brought.
  EXPECT_EQ(dry->events, 5);
  EXPECT_TRUE(dry->retired_devices.empty());
  EXPECT_EQ(store_->deviceHistory("dev-1", 100)->size(), 3u);  // a dry run deletes nothing

  o.dry_run = false;
  auto done = store_->prune(o);
  ASSERT_TRUE(done.ok()) << done.status().toString();
  EXPECT_EQ(done->reports, 2);
  EXPECT_EQ(done->events, 5);
  auto h1 = store_->deviceHistory("dev-1", 100);
  ASSERT_EQ(h1->size(), 1u);
  EXPECT_EQ((*h1)[0].sequence, 3);
  auto h2 = store_->deviceHistory("dev-2", 100);
  ASSERT_EQ(h2->size(), 1u);  // old, but the device's latest: kept
  EXPECT_TRUE(store_->getDevice("dev-2")->latest_result.has_value());
  EXPECT_EQ(eventsOf(*store_, "dev-1"), 2);  // enrolled + the recent verdict change
  // Idempotent.
  auto again = store_->prune(o);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->reports + again->events, 0);
}

// serve's SIGTERM waited for a whole retention backlog (minutes on a large old database) before
// it stopped: prune now asks before each batch and stops there, keeping what it deleted and the
// retention horizon; the next prune finishes the rest.
TEST_P(StoreTest, PruneStopsBetweenBatchesWhenAskedAndTheNextOneFinishes) {
  SecretRecord spec;
  spec.level = "standard";
  spec.created_at = T("2024-01-01T00:00:00Z");
  ASSERT_TRUE(store_->createSecret("h", spec).ok());
  enroll("h", "dev-1");
  ASSERT_TRUE(store_
                  ->ingestReports({reportAt("dev-1", 1, "2025-01-01T00:00:00Z"),
                                   reportAt("dev-1", 2, "2025-02-01T00:00:00Z"),
                                   reportAt("dev-1", 3, "2025-03-01T00:00:00Z"),
                                   reportAt("dev-1", 4, "2026-11-01T00:00:00Z")})
                  .ok());
  PruneOptions o;
  o.now = T("2026-11-27T00:00:00Z");
  o.batch = 1;
  int asked = 0;
  o.should_stop = [&] { return ++asked > 2; };  // two batches, then stop
  auto first = store_->prune(o);
  ASSERT_TRUE(first.ok()) << first.status().toString();
  EXPECT_TRUE(first->stopped);
  EXPECT_EQ(first->reports, 2);
  EXPECT_EQ(first->events, 0);
  EXPECT_EQ(store_->deviceHistory("dev-1", 100)->size(), 2u);
  // What was deleted is recorded: a period report before the cutoff says history is missing.
  auto coverage = store_->reportContext(ReportPeriod{0, 1}, false);
  ASSERT_TRUE(coverage.ok());
  EXPECT_TRUE(coverage->pruned_before.has_value());

  o.should_stop = nullptr;
  auto rest = store_->prune(o);
  ASSERT_TRUE(rest.ok()) << rest.status().toString();
  EXPECT_FALSE(rest->stopped);
  EXPECT_EQ(rest->reports, 1);
  EXPECT_GT(rest->events, 0);
  ASSERT_EQ(store_->deviceHistory("dev-1", 100)->size(), 1u);
  EXPECT_EQ((*store_->deviceHistory("dev-1", 100))[0].sequence, 4);
}

TEST_P(StoreTest, PruneDeletesARetiredDeviceEntirelyAfterItsWindow) {
  SecretRecord spec;
  spec.level = "standard";
  spec.created_at = T("2026-01-01T00:00:00Z");
  ASSERT_TRUE(store_->createSecret("h", spec).ok());
  enroll("h", "gone");
  enroll("h", "recent");
  ASSERT_TRUE(store_
                  ->ingestReports({reportAt("gone", 1, "2026-09-01T00:00:00Z"),
                                   reportAt("gone", 2, "2026-09-02T00:00:00Z"),
                                   reportAt("recent", 1, "2026-09-01T00:00:00Z")})
                  .ok());
  ASSERT_TRUE(store_->retireDevice("gone", T("2026-10-01T00:00:00Z")).ok());
  ASSERT_TRUE(store_->retireDevice("recent", T("2026-11-20T00:00:00Z")).ok());
  PruneOptions o;
  o.now = T("2026-11-27T00:00:00Z");  // 30 days back: 2026-10-28
  o.dry_run = true;
  auto dry = store_->prune(o);
  ASSERT_TRUE(dry.ok()) << dry.status().toString();
  ASSERT_EQ(dry->retired_devices, std::vector<std::string>{"gone"});
  EXPECT_EQ(dry->retired_reports, 2);
  EXPECT_EQ(dry->retired_events, 5);  // enrolled, 2 verdict changes, device_noncompliant, retired
  EXPECT_TRUE(store_->getDevice("gone").ok());

  o.dry_run = false;
  auto done = store_->prune(o);
  ASSERT_TRUE(done.ok()) << done.status().toString();
  EXPECT_EQ(done->retired_devices, std::vector<std::string>{"gone"});
  EXPECT_EQ(store_->getDevice("gone").status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(store_->deviceHistory("gone", 100)->empty());
  EXPECT_EQ(eventsOf(*store_, "gone"), 0);
  EXPECT_EQ(store_->missingReports("gone").valueOr(-1), 0);
  // The device retired a week ago stays, with everything it had.
  EXPECT_TRUE(store_->getDevice("recent").ok());
  EXPECT_EQ(store_->deviceHistory("recent", 100)->size(), 1u);
  EXPECT_EQ(eventsOf(*store_, "recent"), 4);  // enrolled, its verdict, device_noncompliant, retired
}

// Pruning a large backlog goes in batches: ingest is served between them, not after the end.
TEST_P(StoreTest, PruneInBatchesLetsIngestThrough) {
  if (GetParam() != "sqlite") GTEST_SKIP() << "one backend is enough for the interleaving";
  SecretRecord spec;
  spec.level = "standard";
  spec.created_at = T("2024-01-01T00:00:00Z");
  ASSERT_TRUE(store_->createSecret("h", spec).ok());
  enroll("h", "old");
  enroll("h", "live");
  std::vector<NewReport> backlog;
  for (int i = 1; i <= 20000; ++i) {
    NewReport r = reportAt("old", i, "2024-06-01T00:00:00Z");
    backlog.push_back(std::move(r));
  }
  backlog.push_back(reportAt("old", 20001, "2026-11-26T00:00:00Z"));
  ASSERT_TRUE(store_->ingestReports(backlog).ok());

  std::atomic<bool> pruning{true};
  std::atomic<int> ingested_during{0};
  PruneOptions o;
  o.now = T("2026-11-27T00:00:00Z");
  o.batch = 200;
  std::thread pruner([&] {
    auto r = store_->prune(o);
    EXPECT_TRUE(r.ok());
    EXPECT_EQ(r->reports, 20000);
    pruning = false;
  });
  for (int i = 1; i <= 2000 && pruning; ++i) {
    std::string at = "2026-11-26T10:00:00Z";
    ASSERT_TRUE(store_->ingestReports({reportAt("live", i, at.c_str())}).ok());
    if (pruning) ++ingested_during;
  }
  pruner.join();
  // One prune transaction for everything would let at most the first through.
  EXPECT_GT(ingested_during.load(), 10) << "ingest waited for the whole prune";
  std::cout << "[ info ] " << ingested_during << " reports ingested while pruning\n";
  EXPECT_EQ(store_->deviceHistory("old", 1000)->size(), 1u);
}

// Renewal: the pending certificate replaces the current one at its first use (never before),
// a second renewal replaces an unused pending one, and a retired device cannot renew.
TEST_P(StoreTest, RenewedCertificateBecomesCurrentOnlyWhenUsed) {
  SecretRecord spec;
  spec.level = "standard";
  spec.created_at = T("2026-11-26T08:00:00Z");
  ASSERT_TRUE(store_->createSecret("h", spec).ok());
  enroll("h", "dev-1");
  TimePoint at = T("2027-05-01T00:00:00Z");
  ASSERT_TRUE(store_->setPendingCertificate("dev-1", "01", "02", "key-02", at).ok());
  EXPECT_EQ(store_->deviceForAuth("dev-1")->cert_serial, "01");
  EXPECT_EQ(*store_->deviceForAuth("dev-1")->pending_cert_serial, "02");
  // Renewed again before "02" was used: "03" replaces it.
  ASSERT_TRUE(store_->setPendingCertificate("dev-1", "01", "03", "key-03", at).ok());
  EXPECT_EQ(store_->promotePendingCertificate("dev-1", "02", at).code(),
            StatusCode::kFailedPrecondition);
  ASSERT_TRUE(store_->promotePendingCertificate("dev-1", "03", at).ok());
  auto d = store_->deviceForAuth("dev-1");
  EXPECT_EQ(d->cert_serial, "03");
  EXPECT_FALSE(d->pending_cert_serial.has_value());
  // Only the current certificate can renew.
  EXPECT_EQ(store_->setPendingCertificate("dev-1", "01", "04", "key-04", at).code(),
            StatusCode::kFailedPrecondition);
  auto feed = store_->feed(0, 100);
  ASSERT_TRUE(feed.ok());
  EXPECT_EQ(feed->back().type, "renewed");
  ASSERT_TRUE(store_->retireDevice("dev-1", at).ok());
  EXPECT_EQ(store_->setPendingCertificate("dev-1", "03", "05", "key-05", at).code(),
            StatusCode::kFailedPrecondition);
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreTest, ::testing::Values("sqlite", "postgresql"));

}  // namespace
}  // namespace hearth::server
