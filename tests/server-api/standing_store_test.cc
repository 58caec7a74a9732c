// The compliance workflow in the store, on SQLite and (HEARTH_TEST_PG_URI) PostgreSQL, with a
// fixed clock: failing_since kept across a reopen, grace periods at their exact boundaries
// (at_risk, then noncompliant without a report, its event once), exemptions (compliant while in
// force, exemption_expired once when they lapse, revoke), a level change, the list's filters and
// the sort by failing_since with its cursor, and feed events naming hostname and owner.
#include <algorithm>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "hearth/server/store.h"
#include "hearth/time.h"
#include "support/store_backend.h"

namespace hearth::server {
namespace {

using std::chrono::hours;
using std::chrono::seconds;

TimePoint T(const char* s) { return *parseRfc3339(s); }

const TimePoint kT0 = T("2026-12-01T10:00:00Z");

json::Value result(const std::string& vpn, const std::string& screen_lock = "pass") {
  json::Value checks = json::Value::array();
  for (const auto& [id, verdict] : {std::pair{"vpn", vpn}, std::pair{"screen_lock", screen_lock}}) {
    json::Value c = json::Value::object();
    c.set("id", id);
    c.set("verdict", verdict);
    c.set("required", true);
    c.set("summary", "s");
    checks.push(std::move(c));
  }
  json::Value r = json::Value::object();
  r.set("compliant", vpn == "pass" && screen_lock == "pass");
  r.set("checks", std::move(checks));
  return r;
}

class StandingStoreTest : public testing::StoreBackendTest {
 protected:
  StandingStoreTest() : StoreBackendTest("standing") {}

  void SetUp() override {
    StoreBackendTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    SecretRecord secret;
    secret.level = "standard";
    secret.created_at = kT0 - hours(24);
    ASSERT_TRUE(store_->createSecret("hash", secret).ok());
  }

  // A new version of level `level`'s policy: vpn required with `grace_days` (none: no key).
  void policy(const std::string& level, int64_t version, std::optional<int> grace_days) {
    PolicyRecord p;
    p.level = level;
    p.version = version;
    std::string grace = grace_days ? ",\"grace_days\":" + std::to_string(*grace_days) : "";
    p.body = "{\"level\":\"" + level + "\",\"version\":" + std::to_string(version) +
             ",\"checks\":{\"vpn\":{\"required\":true,\"company_addresses\":[\"10.0.0.1\"]" +
             grace + "},\"screen_lock\":{\"required\":true}}}";
    p.signature = "sig";
    p.created_at = kT0 - hours(24);
    ASSERT_TRUE(store_->putPolicy(p).ok());
  }

  void enroll(const std::string& id, const std::string& owner = "bob") {
    DeviceRecord d;
    d.device_id = id;
    d.hostname = "host-" + id;
    d.owner = owner;
    d.cert_serial = "01";
    d.enrolled_at = kT0 - hours(24);
    ASSERT_TRUE(store_->enrollDevice("hash", d, d.enrolled_at).ok());
  }

  void report(const std::string& device, const std::string& vpn, TimePoint at,
              const std::string& screen_lock = "pass") {
    NewReport r;
    r.device_id = device;
    r.report_id = device + "-" + std::to_string(++sequence_[device]);
    r.sequence = sequence_[device];
    r.sent_at = formatRfc3339(at);
    r.agent_version = "0.1.0";
    r.result = result(vpn, screen_lock);
    r.received_at = at;
    auto done = store_->ingestReports({r});
    ASSERT_TRUE(done.ok()) << done.status().toString();
  }

  std::vector<DeviceRecord> list(DeviceFilter f, TimePoint now) {
    f.now = now;
    f.stale_after = hours(24 * 365);
    auto l = store_->listDevices(f);
    EXPECT_TRUE(l.ok()) << l.status().toString();
    return l.ok() ? *l : std::vector<DeviceRecord>{};
  }

  std::vector<std::string> ids(DeviceFilter f, TimePoint now) {
    std::vector<std::string> out;
    for (const auto& d : list(std::move(f), now)) out.push_back(d.device_id);
    return out;
  }

  std::vector<std::string> withStatus(const std::string& status, TimePoint now) {
    DeviceFilter f;
    f.status = status;
    return ids(f, now);
  }

  // The feed's events of these types, as "type device [check]".
  std::vector<std::string> events(std::initializer_list<const char*> types) {
    std::vector<std::string> out;
    auto feed = store_->feed(0, 1000);
    EXPECT_TRUE(feed.ok());
    for (const auto& e : *feed) {
      if (std::find(types.begin(), types.end(), e.type) == types.end()) continue;
      out.push_back(e.type + " " + e.device_id + (e.check ? " " + *e.check : ""));
    }
    return out;
  }

  const json::Value* check(const DeviceRecord& d, const std::string& id) {
    for (const auto& c : d.checks_summary.asArray()) {
      if (c.find("id")->asString() == id) return &c;
    }
    return nullptr;
  }

  std::map<std::string, int64_t> sequence_;
};

TEST_P(StandingStoreTest, FailingSinceIsKeptAcrossReportsAndAReopen) {
  policy("standard", 1, std::nullopt);
  enroll("dev-1");
  report("dev-1", "pass", kT0 - hours(1));
  report("dev-1", "fail", kT0);
  report("dev-1", "fail", kT0 + hours(24));
  open();
  report("dev-1", "fail", kT0 + hours(24 * 8));
  DeviceFilter week;
  week.failing_for = hours(24 * 7);
  auto found = list(week, kT0 + hours(24 * 8));
  ASSERT_EQ(found.size(), 1u);
  ASSERT_TRUE(found[0].failing_since);
  EXPECT_EQ(*found[0].failing_since, kT0);
  EXPECT_EQ(found[0].status, "noncompliant");
  const json::Value* vpn = check(found[0], "vpn");
  ASSERT_NE(vpn, nullptr);
  EXPECT_EQ(vpn->find("since")->asString(), formatRfc3339(kT0));
  EXPECT_EQ(vpn->find("fix_by")->asString(), formatRfc3339(kT0));  // no grace
  EXPECT_TRUE(check(found[0], "screen_lock")->find("fix_by")->isNull());
  // Not yet 9 days: not in failing_for=9.
  week.failing_for = hours(24 * 9);
  EXPECT_TRUE(list(week, kT0 + hours(24 * 8)).empty());
  // Compliant again: no failing_since, and device_compliant after device_noncompliant.
  report("dev-1", "pass", kT0 + hours(24 * 9));
  auto d = store_->getDevice("dev-1");
  ASSERT_TRUE(d.ok());
  EXPECT_FALSE(d->failing_since);
  EXPECT_EQ(d->status, "compliant");
  EXPECT_EQ(events({"device_noncompliant", "device_compliant"}),
            (std::vector<std::string>{"device_noncompliant dev-1", "device_compliant dev-1"}));
}

TEST_P(StandingStoreTest, GraceIsAtRiskUntilTheExactDeadlineThenNoncompliantWithoutAReport) {
  policy("standard", 1, 3);
  enroll("dev-1");
  report("dev-1", "fail", kT0);
  TimePoint deadline = kT0 + hours(72);
  auto d = store_->getDevice("dev-1");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->status, "at_risk");
  ASSERT_TRUE(d->deadline);
  EXPECT_EQ(*d->deadline, deadline);
  EXPECT_EQ(check(*d, "vpn")->find("fix_by")->asString(), formatRfc3339(deadline));

  TimePoint just_before = deadline - seconds(1);
  EXPECT_EQ(withStatus("at_risk", just_before), std::vector<std::string>{"dev-1"});
  EXPECT_TRUE(withStatus("noncompliant", just_before).empty());
  auto none = store_->expireDeadlines(just_before);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, 0);
  EXPECT_TRUE(events({"device_noncompliant"}).empty());

  EXPECT_TRUE(withStatus("at_risk", deadline).empty());
  EXPECT_EQ(withStatus("noncompliant", deadline), std::vector<std::string>{"dev-1"});
  EXPECT_EQ(list({}, deadline)[0].status, "noncompliant");
  auto one = store_->expireDeadlines(deadline);
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(*one, 1);
  auto again = store_->expireDeadlines(deadline + hours(1));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, 0);
  // A report after the deadline changes nothing more: the event stands once.
  report("dev-1", "fail", deadline + hours(2));
  EXPECT_EQ(events({"device_noncompliant"}), std::vector<std::string>{"device_noncompliant dev-1"});
  auto feed = store_->feed(0, 1000);
  for (const auto& e : *feed) {
    if (e.type == "device_noncompliant") {
      EXPECT_EQ(e.at, deadline);
    }
  }
}

TEST_P(StandingStoreTest, APolicyDefaultGraceAndALaterPolicyMoveTheDeadline) {
  policy("standard", 1, std::nullopt);
  enroll("dev-1");
  report("dev-1", "fail", kT0);
  EXPECT_EQ(withStatus("noncompliant", kT0), std::vector<std::string>{"dev-1"});
  policy("standard", 2, 10);
  report("dev-1", "fail", kT0 + hours(1));
  auto d = store_->getDevice("dev-1");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->status, "at_risk");
  EXPECT_EQ(*d->deadline, kT0 + hours(240));
  EXPECT_EQ(*d->failing_since, kT0);
}

TEST_P(StandingStoreTest, AnExemptionMakesTheDeviceCompliantAndItsLapseIsAnEventOnce) {
  policy("standard", 1, std::nullopt);
  enroll("dev-1");
  report("dev-1", "fail", kT0);
  ExemptionRecord e;
  e.device_id = "dev-1";
  e.check = "vpn";
  e.until = kT0 + hours(24);
  e.reason = "travelling";
  e.created_at = kT0 + hours(1);
  e.created_by = "test";
  AuditEntry audit = NewAuditEntry("test", "exemption.create", "exemption:");
  auto made = store_->createExemption(e, &audit);
  ASSERT_TRUE(made.ok()) << made.status().toString();
  EXPECT_GT(made->id, 0);
  auto d = store_->getDevice("dev-1");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->status, "compliant");
  EXPECT_EQ(check(*d, "vpn")->find("exempt_until")->asString(), formatRfc3339(e.until));
  // A report while exempted keeps it compliant.
  report("dev-1", "fail", kT0 + hours(2));
  EXPECT_EQ(withStatus("compliant", kT0 + hours(2)), std::vector<std::string>{"dev-1"});
  auto active = store_->listExemptions(true, kT0 + hours(2));
  ASSERT_TRUE(active.ok());
  ASSERT_EQ(active->size(), 1u);

  auto early = store_->expireDeadlines(e.until - seconds(1));
  ASSERT_TRUE(early.ok());
  EXPECT_EQ(*early, 0);
  auto lapsed = store_->expireDeadlines(e.until);
  ASSERT_TRUE(lapsed.ok());
  EXPECT_GE(*lapsed, 1);
  EXPECT_EQ(*store_->expireDeadlines(e.until + hours(1)), 0);
  EXPECT_EQ(events({"exemption_expired", "device_noncompliant", "device_compliant"}),
            (std::vector<std::string>{"device_noncompliant dev-1", "device_compliant dev-1",
                                      "exemption_expired dev-1 vpn", "device_noncompliant dev-1"}));
  EXPECT_EQ(withStatus("noncompliant", e.until), std::vector<std::string>{"dev-1"});
  auto after = store_->listExemptions(true, e.until);
  ASSERT_TRUE(after.ok());
  EXPECT_TRUE(after->empty());
  // Audited with the change.
  auto log = store_->listAudit(0, 100);
  ASSERT_TRUE(log.ok());
  EXPECT_EQ(log->back().target, "exemption:" + std::to_string(made->id));
}

TEST_P(StandingStoreTest, AnOwnersExemptionCoversTheirDevicesAndARevokeEndsIt) {
  policy("standard", 1, std::nullopt);
  enroll("dev-1", "bob");
  enroll("dev-2", "bob");
  enroll("dev-3", "alice");
  for (const char* d : {"dev-1", "dev-2", "dev-3"}) report(d, "fail", kT0);
  ExemptionRecord e;
  e.owner = "bob";
  e.check = "vpn";
  e.until = kT0 + hours(240);
  e.reason = "no VPN client yet";
  e.created_at = kT0 + hours(1);
  e.created_by = "test";
  auto made = store_->createExemption(e);
  ASSERT_TRUE(made.ok()) << made.status().toString();
  EXPECT_EQ(withStatus("compliant", kT0 + hours(1)), (std::vector<std::string>{"dev-1", "dev-2"}));
  EXPECT_EQ(withStatus("noncompliant", kT0 + hours(1)), std::vector<std::string>{"dev-3"});
  ASSERT_TRUE(store_->revokeExemption(made->id, kT0 + hours(2)).ok());
  EXPECT_EQ(store_->revokeExemption(made->id, kT0 + hours(3)).code(), StatusCode::kNotFound);
  EXPECT_EQ(withStatus("noncompliant", kT0 + hours(2)),
            (std::vector<std::string>{"dev-1", "dev-2", "dev-3"}));
  // An exemption for a device that is not there is refused.
  e.owner.reset();
  e.device_id = "nope";
  EXPECT_EQ(store_->createExemption(e).status().code(), StatusCode::kNotFound);
}

TEST_P(StandingStoreTest, ALevelChangeNeedsAPolicyAndIsAudited) {
  policy("standard", 1, std::nullopt);
  enroll("dev-1");
  EXPECT_EQ(store_->setDeviceLevel("dev-1", "strict").code(), StatusCode::kFailedPrecondition);
  policy("strict", 1, std::nullopt);
  AuditEntry audit = NewAuditEntry("test", "device.level", "device:dev-1");
  ASSERT_TRUE(store_->setDeviceLevel("dev-1", "strict", &audit).ok());
  EXPECT_EQ(store_->deviceForAuth("dev-1")->level, "strict");
  EXPECT_EQ(store_->setDeviceLevel("nope", "strict").code(), StatusCode::kNotFound);
  DeviceFilter f;
  f.level = "strict";
  EXPECT_EQ(ids(f, kT0), std::vector<std::string>{"dev-1"});
  auto log = store_->listAudit(0, 100);
  ASSERT_TRUE(log.ok());
  EXPECT_EQ(log->back().action, "device.level");
}

TEST_P(StandingStoreTest, ListsFilterByCheckOwnerAndRetiredAndSortByFailingSinceAcrossPages) {
  policy("standard", 1, std::nullopt);
  for (const char* d : {"a", "b", "c", "d"}) enroll(d, d[0] == 'a' ? "alice" : "bob");
  report("c", "fail", kT0);                     // failing longest
  report("a", "fail", kT0 + hours(1), "fail");  // both checks
  report("b", "pass", kT0 + hours(2), "fail");  // screen_lock only
  report("d", "pass", kT0 + hours(3));          // compliant
  TimePoint now = kT0 + hours(4);
  DeviceFilter vpn;
  vpn.check = "vpn";
  EXPECT_EQ(ids(vpn, now), (std::vector<std::string>{"a", "c"}));
  DeviceFilter bob;
  bob.owner = "bob";
  EXPECT_EQ(ids(bob, now), (std::vector<std::string>{"b", "c", "d"}));
  // Sorted by failing_since (the compliant one last), one per page, the cursor carried on.
  DeviceFilter sorted;
  sorted.sort_failing_since = true;
  sorted.limit = 1;
  std::vector<std::string> order;
  for (int page = 0; page < 6; ++page) {
    auto got = list(sorted, now);
    if (got.empty()) break;
    order.push_back(got[0].device_id);
    sorted.after = DeviceCursor(got[0], sorted);
  }
  EXPECT_EQ(order, (std::vector<std::string>{"c", "a", "b", "d"}));
  // Retired devices are listed only under status=retired.
  ASSERT_TRUE(store_->retireDevice("d", now).ok());
  EXPECT_EQ(withStatus("retired", now), std::vector<std::string>{"d"});
  EXPECT_EQ(ids({}, now), (std::vector<std::string>{"a", "b", "c"}));
}

// Review of issue 14: on PostgreSQL a database made with another collation than C (en_US, ICU)
// sorted the placeholder of "no failing_since" ('~') before every time, so compliant devices
// came first in sort=failing_since. The column is given an ICU collation here as such a
// database would have it; the list still puts them last.
TEST_P(StandingStoreTest, SortByFailingSincePutsDevicesWithoutOneLastWhateverTheCollation) {
  if (GetParam() == "postgresql") {
    exec("ALTER TABLE devices ALTER COLUMN failing_since TYPE TEXT COLLATE \"en-x-icu\"");
  }
  policy("standard", 1, std::nullopt);
  for (const char* d : {"a", "b", "c"}) enroll(d, "bob");
  report("a", "pass", kT0);  // compliant: no failing_since
  report("b", "fail", kT0 + hours(1));
  report("c", "fail", kT0 + hours(2));
  TimePoint now = kT0 + hours(4);
  DeviceFilter sorted;
  sorted.sort_failing_since = true;
  EXPECT_EQ(ids(sorted, now), (std::vector<std::string>{"b", "c", "a"}));
  sorted.limit = 1;
  std::vector<std::string> order;
  for (int page = 0; page < 5; ++page) {
    auto got = list(sorted, now);
    if (got.empty()) break;
    order.push_back(got[0].device_id);
    sorted.after = DeviceCursor(got[0], sorted);
  }
  EXPECT_EQ(order, (std::vector<std::string>{"b", "c", "a"}));
}

TEST_P(StandingStoreTest, FeedEventsNameTheDevicesHostnameAndOwner) {
  policy("standard", 1, std::nullopt);
  enroll("dev-1", "bob");
  report("dev-1", "fail", kT0);
  auto feed = store_->feed(0, 100);
  ASSERT_TRUE(feed.ok());
  ASSERT_FALSE(feed->empty());
  for (const auto& e : *feed) {
    EXPECT_EQ(e.hostname.value_or(""), "host-dev-1") << e.type;
    EXPECT_EQ(e.owner.value_or(""), "bob") << e.type;
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, StandingStoreTest, ::testing::Values("sqlite", "postgresql"));

}  // namespace
}  // namespace hearth::server
