// The compliance workflow in the store, on SQLite and (HEARTH_TEST_PG_URI) PostgreSQL, with a
// fixed clock: failing_since kept across a reopen, grace periods at their exact boundaries
// (at_risk, then noncompliant without a report, its event once), exemptions (compliant while in
// force, exemption_expired once when they lapse, revoke), a level change, the list's filters and
// the sort by failing_since with its cursor, and feed events naming hostname and owner.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <Poco/Data/PostgreSQL/Connector.h>
#include <Poco/Data/SQLite/Connector.h>
#include <Poco/Data/Session.h>
#include <gtest/gtest.h>

#include "device_render.h"
#include "hearth/server/store.h"
#include "hearth/time.h"
#include "support/store_backend.h"

namespace hearth::server {
namespace {

using std::chrono::hours;
using std::chrono::seconds;

TimePoint T(const char* s) { return *parseRfc3339(s); }

const TimePoint kT0 = T("2026-12-01T10:00:00Z");

json::Value result(const std::string& vpn, const std::string& screen_lock = "pass",
                   bool vpn_required = true) {
  json::Value checks = json::Value::array();
  for (const auto& [id, verdict] : {std::pair{"vpn", vpn}, std::pair{"screen_lock", screen_lock}}) {
    json::Value c = json::Value::object();
    c.set("id", id);
    c.set("verdict", verdict);
    c.set("required", std::string(id) != "vpn" || vpn_required);
    c.set("summary", "s");
    checks.push(std::move(c));
  }
  json::Value r = json::Value::object();
  r.set("compliant", (vpn == "pass" || !vpn_required) && screen_lock == "pass");
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

  // A new version of level `level`'s policy: vpn required (or not) with `grace_days` (none: no
  // key), stored through `on` (another server's store) or store_.
  void policy(const std::string& level, int64_t version, std::optional<int> grace_days,
              bool vpn_required = true, Store* on = nullptr) {
    PolicyRecord p;
    p.level = level;
    p.version = version;
    std::string grace = grace_days ? ",\"grace_days\":" + std::to_string(*grace_days) : "";
    p.body = "{\"level\":\"" + level + "\",\"version\":" + std::to_string(version) +
             ",\"checks\":{\"vpn\":{\"required\":" + (vpn_required ? "true" : "false") +
             ",\"company_addresses\":[\"10.0.0.1\"]" + grace +
             "},\"screen_lock\":{\"required\":true}}}";
    p.signature = "sig";
    p.created_at = kT0 - hours(24);
    ASSERT_TRUE((on != nullptr ? on : store_.get())->putPolicy(p).ok());
  }

  void enroll(const std::string& id, const std::string& owner = "bob",
              const std::string& secret = "hash") {
    DeviceRecord d;
    d.device_id = id;
    d.hostname = "host-" + id;
    d.owner = owner;
    d.cert_serial = "01";
    d.enrolled_at = kT0 - hours(24);
    ASSERT_TRUE(store_->enrollDevice(secret, d, d.enrolled_at).ok());
  }

  // "bobs-pc", enrolled with a per-person secret made for "bob" (IT's word), the request
  // declaring `declared` (ignored: the secret's owner wins). Returns it as stored.
  DeviceRecord enrollBobsPc(std::optional<std::string> declared = std::nullopt) {
    SecretRecord personal;
    personal.level = "standard";
    personal.owner = "bob";
    personal.created_at = kT0 - hours(24);
    EXPECT_TRUE(store_->createSecret("bobs-hash", personal).ok());
    DeviceRecord bobs;
    bobs.device_id = "bobs-pc";
    bobs.hostname = "bobs-pc";
    bobs.owner = std::move(declared);
    bobs.cert_serial = "02";
    bobs.enrolled_at = kT0 - hours(24);
    auto enrolled = store_->enrollDevice("bobs-hash", bobs, bobs.enrolled_at);
    EXPECT_TRUE(enrolled.ok()) << enrolled.status().toString();
    return enrolled.ok() ? *enrolled : DeviceRecord{};
  }

  void report(const std::string& device, const std::string& vpn, TimePoint at,
              const std::string& screen_lock = "pass", bool vpn_required = true) {
    NewReport r;
    r.device_id = device;
    r.report_id = device + "-" + std::to_string(++sequence_[device]);
    r.sequence = sequence_[device];
    r.sent_at = formatRfc3339(at);
    r.agent_version = "0.1.0";
    r.result = result(vpn, screen_lock, vpn_required);
    r.received_at = at;
    auto done = store_->ingestReports({r});
    ASSERT_TRUE(done.ok()) << done.status().toString();
  }

  // Enrolment secret "approval-hash": its devices wait for approval.
  void approvalSecret() {
    SecretRecord secret;
    secret.level = "standard";
    secret.approval = true;
    secret.created_at = kT0 - hours(24);
    ASSERT_TRUE(store_->createSecret("approval-hash", secret).ok());
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

  // An owner change as IT makes it (admin API, CLI, owners import), audited at kT0.
  static OwnerChange itOwner(const std::string& device, std::optional<std::string> owner,
                             TimePoint at = kT0) {
    AuditEntry audit = NewAuditEntry("test", "device.owner", "device:" + device);
    audit.at = at;
    return OwnerChange{device, std::move(owner), audit};
  }

  // An exemption of `check` granted at `created`, for a device or (owner_exemption) an owner,
  // through `on` (another server's store) or store_.
  ExemptionRecord exemption(const std::string& who, TimePoint until, TimePoint created,
                            bool owner_exemption = false, const std::string& check = "vpn",
                            Store* on = nullptr) {
    ExemptionRecord e;
    (owner_exemption ? e.owner : e.device_id) = who;
    e.check = check;
    e.until = until;
    e.reason = "r";
    e.created_at = created;
    e.created_by = "test";
    auto made = (on != nullptr ? on : store_.get())->createExemption(e);
    EXPECT_TRUE(made.ok()) << made.status().toString();
    return made.ok() ? *made : e;
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

// Ingest reads the levels' newest policy versions and whether any exemption is in force once per
// batch (not once per store, nor kept across batches): a policy and an exemption that another
// server (or the CLI) stored after this store's first report count at the next report.
TEST_P(StandingStoreTest, TheNextReportSeesAPolicyAndAnExemptionAnotherServerStored) {
  policy("standard", 1, std::nullopt);
  enroll("dev-1");
  enroll("dev-2");
  report("dev-1", "fail", kT0);
  report("dev-2", "fail", kT0);
  auto second = OpenStore(uri_);
  ASSERT_TRUE(second.ok()) << second.status().toString();
  Store* other = second->get();
  policy("standard", 2, 10, /*vpn_required=*/true, other);
  report("dev-1", "fail", kT0 + hours(1));
  auto d1 = store_->getDevice("dev-1");
  ASSERT_TRUE(d1.ok());
  EXPECT_EQ(d1->status, "at_risk");
  ASSERT_TRUE(d1->deadline.has_value());
  EXPECT_EQ(*d1->deadline, kT0 + hours(240));

  ExemptionRecord e = exemption("dev-2", kT0 + hours(48), kT0 + hours(1), false, "vpn", other);
  ASSERT_GT(e.id, 0);
  // Missing the exemption, this report would make dev-2 at_risk (grace 10 days) without it.
  report("dev-2", "fail", kT0 + hours(2));
  auto d2 = store_->getDevice("dev-2");
  ASSERT_TRUE(d2.ok());
  EXPECT_EQ(d2->status, "compliant");
  ASSERT_NE(check(*d2, "vpn"), nullptr);
  EXPECT_EQ(check(*d2, "vpn")->find("exempt_until")->asString(), formatRfc3339(e.until));
  // dev-1 has no exemption: the same batch reading sees it in force for dev-2 only.
  report("dev-1", "fail", kT0 + hours(3));
  EXPECT_EQ(store_->getDevice("dev-1")->status, "at_risk");
  // An exemption for dev-1's owner counts only once IT says the owner is bob (dev-1 declared
  // "bob" itself at enrolment).
  exemption("bob", kT0 + hours(48), kT0 + hours(4), /*owner_exemption=*/true, "vpn", other);
  report("dev-1", "fail", kT0 + hours(5));
  EXPECT_EQ(store_->getDevice("dev-1")->status, "at_risk");
  ASSERT_TRUE(other->setDeviceOwners({itOwner("dev-1", "bob", kT0 + hours(6))}).ok());
  report("dev-1", "fail", kT0 + hours(7));
  EXPECT_EQ(store_->getDevice("dev-1")->status, "compliant");
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
  auto active = store_->listExemptions(true, kT0 + hours(2), 0, 100);
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
  auto after = store_->listExemptions(true, e.until, 0, 100);
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
  // The owners as IT sets them (an owners import): only these count for an owner's exemption.
  ASSERT_TRUE(store_
                  ->setDeviceOwners(
                      {itOwner("dev-1", "bob"), itOwner("dev-2", "bob"), itOwner("dev-3", "alice")})
                  .ok());
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
  EXPECT_EQ(store_->setDeviceLevel("dev-1", "strict", kT0).code(), StatusCode::kFailedPrecondition);
  policy("strict", 1, std::nullopt);
  AuditEntry audit = NewAuditEntry("test", "device.level", "device:dev-1");
  ASSERT_TRUE(store_->setDeviceLevel("dev-1", "strict", kT0, &audit).ok());
  EXPECT_EQ(store_->deviceForAuth("dev-1")->level, "strict");
  EXPECT_EQ(store_->setDeviceLevel("nope", "strict", kT0).code(), StatusCode::kNotFound);
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

// Security (issue 14): any PC holding the rollout secret may declare itself "bob" when it
// enrols; an owner's exemption must not follow that claim. It covers owners IT set (admin API,
// CLI, owners import, a per-person secret), and an owner IT sets or changes decides the device
// again at once, with its event, not at its next report.
TEST_P(StandingStoreTest, AnOwnersExemptionIgnoresAnOwnerTheDeviceDeclaredItself) {
  policy("standard", 1, std::nullopt);
  enroll("claimer", "bob");                         // a shared secret: "bob" is the PC's own word
  ASSERT_EQ(enrollBobsPc("mallory").owner, "bob");  // the secret's owner wins
  report("claimer", "fail", kT0);
  report("bobs-pc", "fail", kT0);
  exemption("bob", kT0 + hours(240), kT0 + hours(1), /*owner_exemption=*/true);
  EXPECT_EQ(withStatus("compliant", kT0 + hours(1)), std::vector<std::string>{"bobs-pc"});
  EXPECT_EQ(withStatus("noncompliant", kT0 + hours(1)), std::vector<std::string>{"claimer"});
  // Its next report does not change that either.
  report("claimer", "fail", kT0 + hours(2));
  auto claimer = store_->getDevice("claimer");
  ASSERT_TRUE(claimer.ok());
  EXPECT_EQ(claimer->status, "noncompliant");
  EXPECT_TRUE(check(*claimer, "vpn")->find("exempt_until")->isNull());

  // IT says the claimer is Bob's (owners import): covered at once, device_compliant now.
  ASSERT_TRUE(store_->setDeviceOwners({itOwner("claimer", "bob", kT0 + hours(3))}).ok());
  claimer = store_->getDevice("claimer");
  ASSERT_TRUE(claimer.ok());
  EXPECT_EQ(claimer->status, "compliant");
  EXPECT_FALSE(check(*claimer, "vpn")->find("exempt_until")->isNull());
  // IT gives it to Alice (admin API / CLI): Bob's exemption no longer covers it, at once.
  AuditEntry audit = NewAuditEntry("test", "device.owner", "device:claimer");
  audit.at = kT0 + hours(4);
  ASSERT_TRUE(store_->setDeviceOwner("claimer", "alice", &audit).ok());
  EXPECT_EQ(store_->getDevice("claimer")->status, "noncompliant");
  auto feed = store_->feed(0, 1000);
  ASSERT_TRUE(feed.ok());
  std::vector<std::string> claimer_events;
  for (const auto& e : *feed) {
    if (e.device_id == "claimer" &&
        (e.type == "device_compliant" || e.type == "device_noncompliant"))
      claimer_events.push_back(e.type + " " + formatRfc3339(e.at));
  }
  EXPECT_EQ(claimer_events,
            (std::vector<std::string>{"device_noncompliant " + formatRfc3339(kT0),
                                      "device_compliant " + formatRfc3339(kT0 + hours(3)),
                                      "device_noncompliant " + formatRfc3339(kT0 + hours(4))}));
  // The lapse of Bob's exemption names only the devices it covered.
  EXPECT_GE(*store_->expireDeadlines(kT0 + hours(240)), 1);
  EXPECT_EQ(events({"exemption_expired"}),
            std::vector<std::string>{"exemption_expired bobs-pc vpn"});
}

TEST_P(StandingStoreTest, AnOwnerFromBeforeV13IsItsOnlyWhenITSetIt) {
  policy("standard", 1, std::nullopt);
  enroll("declared", "bob");
  enroll("imported", "carol");
  ASSERT_TRUE(store_->setDeviceOwners({itOwner("imported", "bob")}).ok());
  report("declared", "fail", kT0);
  report("imported", "fail", kT0);
  // As a database from before v13 held them: no source recorded; migration 13 runs again.
  store_.reset();
  exec("ALTER TABLE devices DROP COLUMN owner_source");
  exec("ALTER TABLE exemptions DROP COLUMN expiring_alerted");
  exec("DELETE FROM schema_migrations WHERE version = 13");
  open();
  exemption("bob", kT0 + hours(240), kT0 + hours(1), /*owner_exemption=*/true);
  EXPECT_EQ(withStatus("compliant", kT0 + hours(1)), std::vector<std::string>{"imported"});
  EXPECT_EQ(withStatus("noncompliant", kT0 + hours(1)), std::vector<std::string>{"declared"});
}

TEST_P(StandingStoreTest, ExemptionsComeAPageAtATimeNewestFirst) {
  policy("standard", 1, std::nullopt);
  enroll("dev-1");
  std::vector<int64_t> made;
  for (int i = 0; i < 5; ++i) {
    made.push_back(exemption("dev-1", kT0 + hours(10 + i), kT0 + hours(1)).id);
  }
  std::vector<int64_t> seen;
  int pages = 0;
  for (int64_t before = 0;; ++pages) {
    auto page = store_->listExemptions(false, kT0, before, 2);
    ASSERT_TRUE(page.ok()) << page.status().toString();
    ASSERT_LE(page->size(), 2u);
    for (const auto& e : *page) seen.push_back(e.id);
    if (page->size() < 2) break;
    before = page->back().id;
  }
  EXPECT_EQ(pages, 2);
  std::reverse(made.begin(), made.end());
  EXPECT_EQ(seen, made);
  // active_only pages too: at kT0 + 11h the first two have lapsed (until 10h and 11h).
  auto active = store_->listExemptions(true, kT0 + hours(11), 0, 2);
  ASSERT_TRUE(active.ok());
  EXPECT_EQ(active->size(), 2u);
  auto rest = store_->listExemptions(true, kT0 + hours(11), active->back().id, 2);
  ASSERT_TRUE(rest.ok());
  EXPECT_EQ(rest->size(), 1u);
  // A page is never larger than kMaxExemptionPage, whatever is asked.
  auto big = store_->listExemptions(false, kT0, 0, kMaxExemptionPage + 500);
  ASSERT_TRUE(big.ok());
  EXPECT_EQ(big->size(), 5u);
}

// Two servers on one database grant exemptions at the same moment: each gets the id the database
// gave its own row (a SELECT MAX(id) afterwards could return the other server's).
TEST_P(StandingStoreTest, TwoServersGrantingAtOnceEachGetTheirOwnExemptionsId) {
  policy("standard", 1, std::nullopt);
  enroll("dev-a");
  enroll("dev-b");
  auto second = OpenStore(uri_);
  ASSERT_TRUE(second.ok()) << second.status().toString();
  constexpr int kEach = 60;
  // The same check, until and created_at on both: only the device tells them apart.
  auto grant = [&](Store* store, const std::string& device, std::vector<ExemptionRecord>* out) {
    for (int i = 0; i < kEach; ++i) {
      ExemptionRecord e;
      e.device_id = device;
      e.check = "vpn";
      e.until = kT0 + hours(48);
      e.reason = "r";
      e.created_at = kT0;
      e.created_by = device;
      auto made = store->createExemption(e);
      if (made.ok()) out->push_back(*made);
    }
  };
  std::vector<ExemptionRecord> a, b;
  std::thread ta(grant, store_.get(), "dev-a", &a);
  std::thread tb(grant, second->get(), "dev-b", &b);
  ta.join();
  tb.join();
  ASSERT_EQ(a.size(), static_cast<size_t>(kEach));
  ASSERT_EQ(b.size(), static_cast<size_t>(kEach));
  std::map<int64_t, std::string> stored;
  for (int64_t before = 0;;) {
    auto page = store_->listExemptions(false, kT0, before, kMaxExemptionPage);
    ASSERT_TRUE(page.ok());
    for (const auto& e : *page) stored[e.id] = *e.device_id;
    if (page->size() < static_cast<size_t>(kMaxExemptionPage)) break;
    before = page->back().id;
  }
  ASSERT_EQ(stored.size(), static_cast<size_t>(2 * kEach));
  std::set<int64_t> ids;
  for (const auto* list : {&a, &b}) {
    for (const auto& e : *list) {
      EXPECT_TRUE(ids.insert(e.id).second) << "id " << e.id << " given twice";
      EXPECT_EQ(stored[e.id], *e.device_id) << "id " << e.id << " is another server's exemption";
    }
  }
}

// The same, made certain: another server's exemption (same check, until and created_at) lands
// between this server's INSERT and its reading of the id (a trigger writes it there). The id
// comes back from the INSERT itself; a SELECT MAX(id) afterwards would return the other's.
TEST_P(StandingStoreTest, AnotherServersExemptionLandingRightAfterTheInsertDoesNotTakeItsId) {
  policy("standard", 1, std::nullopt);
  enroll("dev-a");
  enroll("dev-b");
  const std::string other =
      "INSERT INTO exemptions(device_id, check_id, until_at, reason, created_at, created_by) "
      "VALUES ('dev-b', NEW.check_id, NEW.until_at, 'other', NEW.created_at, 'other')";
  if (GetParam() == "postgresql") {
    exec("CREATE FUNCTION other_server() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN " + other +
         "; RETURN NULL; END$$");
    exec(
        "CREATE TRIGGER other_server AFTER INSERT ON exemptions FOR EACH ROW WHEN "
        "(NEW.created_by <> 'other') EXECUTE FUNCTION other_server()");
  } else {
    exec(
        "CREATE TRIGGER other_server AFTER INSERT ON exemptions WHEN NEW.created_by <> 'other' "
        "BEGIN " +
        other + "; END");
  }
  ExemptionRecord mine = exemption("dev-a", kT0 + hours(48), kT0);
  auto page = store_->listExemptions(false, kT0, 0, 10);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->size(), 2u);  // the other server's is the newer
  EXPECT_EQ(*page->front().device_id, "dev-b");
  EXPECT_EQ(page->back().id, mine.id);
  EXPECT_EQ(*page->back().device_id, "dev-a");
}

// exemption_expiring: once per exemption, `within` before it lapses, one event per device it
// covers; not again on another pass, from another server or after a restart.
TEST_P(StandingStoreTest, AnExemptionAboutToLapseIsAnnouncedOnceAcrossServersAndRestarts) {
  policy("standard", 1, std::nullopt);
  enroll("dev-1", "bob");
  enroll("dev-2", "bob");
  enroll("dev-3", "bob");  // declared "bob" itself: not covered, not announced
  ASSERT_TRUE(store_->setDeviceOwners({itOwner("dev-1", "bob"), itOwner("dev-2", "bob")}).ok());
  const TimePoint until = kT0 + hours(24 * 10);
  ExemptionRecord owners = exemption("bob", until, kT0, /*owner_exemption=*/true);
  ExemptionRecord revoked = exemption("dev-3", until, kT0);
  ASSERT_TRUE(store_->revokeExemption(revoked.id, kT0 + hours(1)).ok());
  const auto within = hours(24 * 3);
  auto early = store_->markExpiringExemptions(until - within - seconds(1), within);
  ASSERT_TRUE(early.ok()) << early.status().toString();
  EXPECT_EQ(*early, 0);
  const TimePoint at = until - within + hours(1);
  auto second = OpenStore(uri_);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(*store_->markExpiringExemptions(at, within), 2);
  EXPECT_EQ(*(*second)->markExpiringExemptions(at + hours(1), within), 0);
  EXPECT_EQ(*store_->markExpiringExemptions(at + hours(2), within), 0);
  open();
  EXPECT_EQ(*store_->markExpiringExemptions(at + hours(3), within), 0);
  auto feed = store_->feed(0, 1000);
  ASSERT_TRUE(feed.ok());
  std::vector<std::string> seen;
  for (const auto& e : *feed) {
    if (e.type != "exemption_expiring") continue;
    seen.push_back(e.device_id + " " + e.check.value_or("") + " " + formatRfc3339(e.at));
    auto detail = json::parse(e.detail.value_or(""));
    ASSERT_TRUE(detail.ok());
    EXPECT_EQ(detail->find("exemption_id")->asInt(), owners.id);
    EXPECT_EQ(detail->find("until")->asString(), formatRfc3339(until));
    EXPECT_EQ(detail->find("days_left")->asInt(), 2);
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"dev-1 vpn " + formatRfc3339(at),
                                            "dev-2 vpn " + formatRfc3339(at)}));
  // A lapsed exemption is never announced as expiring.
  ExemptionRecord brief = exemption("dev-1", kT0 + hours(24 * 20), kT0, false, "screen_lock");
  ASSERT_GE(*store_->expireDeadlines(brief.until), 1);
  EXPECT_EQ(*store_->markExpiringExemptions(brief.until, within), 0);
}

// The standing review (issue 14, findings 1 to 6): each test below failed before its fix.

// Finding 1: a check that becomes required (a policy change) on a device already failing it
// counted its grace from when it started failing: past already, noncompliant at once.
TEST_P(StandingStoreTest, ACheckThatBecomesRequiredWhileFailingGetsItsWholeGraceFromThen) {
  policy("standard", 1, 3, /*vpn_required=*/false);
  enroll("dev-1");
  report("dev-1", "fail", kT0, "pass", /*vpn_required=*/false);
  EXPECT_EQ(store_->getDevice("dev-1")->status, "compliant");
  policy("standard", 2, 3);
  TimePoint later = kT0 + hours(24 * 10);
  report("dev-1", "fail", later);
  auto d = store_->getDevice("dev-1");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->status, "at_risk");
  ASSERT_TRUE(d->deadline);
  EXPECT_EQ(*d->deadline, later + hours(72));
  EXPECT_EQ(check(*d, "vpn")->find("fix_by")->asString(), formatRfc3339(later + hours(72)));
  // The verdict itself holds since it first failed.
  EXPECT_EQ(check(*d, "vpn")->find("since")->asString(), formatRfc3339(kT0));
  EXPECT_TRUE(events({"device_noncompliant"}).empty());
  // A failure that stays: the clock does not move with later reports.
  report("dev-1", "fail", later + hours(24));
  EXPECT_EQ(*store_->getDevice("dev-1")->deadline, later + hours(72));
  report("dev-1", "fail", later + hours(72));
  EXPECT_EQ(store_->getDevice("dev-1")->status, "noncompliant");
}

// A grace period changed by the policy counts from the same moment (raising it moves the
// deadline later; lowering it may make a device that has failed longer noncompliant at once).
TEST_P(StandingStoreTest, AGraceChangeKeepsTheMomentTheGraceCountsFrom) {
  policy("standard", 1, 2);
  enroll("dev-1");
  report("dev-1", "fail", kT0);
  policy("standard", 2, 5);
  report("dev-1", "fail", kT0 + hours(24 * 3));
  auto d = store_->getDevice("dev-1");
  EXPECT_EQ(d->status, "at_risk");
  EXPECT_EQ(*d->deadline, kT0 + hours(24 * 5));
  policy("standard", 3, 1);
  report("dev-1", "fail", kT0 + hours(24 * 4));
  EXPECT_EQ(store_->getDevice("dev-1")->status, "noncompliant");
}

// Finding 2: fail -> unknown -> fail restarted the grace period: a device alternating stayed
// at_risk for ever. An unknown keeps the clock; only a pass (or not_applicable) ends it.
TEST_P(StandingStoreTest, AnUnknownBetweenFailuresDoesNotRestartTheGrace) {
  policy("standard", 1, 3);
  enroll("dev-1");
  report("dev-1", "fail", kT0);
  report("dev-1", "unknown", kT0 + hours(24 * 2));
  auto d = store_->getDevice("dev-1");
  EXPECT_EQ(d->status, "unknown");
  ASSERT_TRUE(d->deadline);
  EXPECT_EQ(*d->deadline, kT0 + hours(72));
  // The deadline passes while unknown: noncompliant, its event once.
  EXPECT_EQ(withStatus("noncompliant", kT0 + hours(72)), std::vector<std::string>{"dev-1"});
  EXPECT_EQ(*store_->expireDeadlines(kT0 + hours(72)), 1);
  report("dev-1", "fail", kT0 + hours(24 * 4));
  d = store_->getDevice("dev-1");
  EXPECT_EQ(d->status, "noncompliant");
  EXPECT_EQ(check(*d, "vpn")->find("fix_by")->asString(), formatRfc3339(kT0 + hours(72)));
  EXPECT_EQ(*d->failing_since, kT0);
  EXPECT_EQ(events({"device_noncompliant"}), std::vector<std::string>{"device_noncompliant dev-1"});
  // A pass ends the incident: the next failure has its whole grace again.
  report("dev-1", "pass", kT0 + hours(24 * 5));
  report("dev-1", "fail", kT0 + hours(24 * 6));
  d = store_->getDevice("dev-1");
  EXPECT_EQ(d->status, "at_risk");
  EXPECT_EQ(*d->deadline, kT0 + hours(24 * 9));
}

// Findings 1 and 5: a level change re-decides the device at once, in its transaction, and a
// check the new level requires gets its grace from the change.
TEST_P(StandingStoreTest, ALevelChangeDecidesTheDeviceAtOnceWithGraceFromTheChange) {
  policy("standard", 1, std::nullopt, /*vpn_required=*/false);
  policy("strict", 1, 3);
  policy("lockdown", 1, 0);
  enroll("dev-1");
  report("dev-1", "fail", kT0, "pass", /*vpn_required=*/false);
  EXPECT_EQ(store_->getDevice("dev-1")->status, "compliant");
  TimePoint move = kT0 + hours(24 * 10);
  ASSERT_TRUE(store_->setDeviceLevel("dev-1", "strict", move).ok());
  auto d = store_->getDevice("dev-1");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->status, "at_risk");
  ASSERT_TRUE(d->deadline);
  EXPECT_EQ(*d->deadline, move + hours(72));
  EXPECT_TRUE(check(*d, "vpn")->find("required")->asBool());
  EXPECT_EQ(*d->failing_since, move);
  EXPECT_EQ(*store_->expireDeadlines(move + hours(72)), 1);
  EXPECT_EQ(events({"device_noncompliant"}), std::vector<std::string>{"device_noncompliant dev-1"});
  // Back to a level that does not require vpn: compliant at once, its event with it.
  ASSERT_TRUE(store_->setDeviceLevel("dev-1", "standard", move + hours(80)).ok());
  d = store_->getDevice("dev-1");
  EXPECT_EQ(d->status, "compliant");
  EXPECT_FALSE(check(*d, "vpn")->find("required")->asBool());
  EXPECT_EQ(events({"device_compliant"}), std::vector<std::string>{"device_compliant dev-1"});
  // A level without grace: noncompliant at the change, not at the next report.
  ASSERT_TRUE(store_->setDeviceLevel("dev-1", "lockdown", move + hours(90)).ok());
  EXPECT_EQ(store_->getDevice("dev-1")->status, "noncompliant");
  EXPECT_EQ(events({"device_noncompliant"}).size(), 2u);
  // Required without a break since the move to lockdown: strict's grace counts from then, and
  // the agent's next report under the new policy keeps that clock.
  ASSERT_TRUE(store_->setDeviceLevel("dev-1", "strict", move + hours(100)).ok());
  EXPECT_EQ(*store_->getDevice("dev-1")->deadline, move + hours(90 + 72));
  report("dev-1", "fail", move + hours(110));
  EXPECT_EQ(*store_->getDevice("dev-1")->deadline, move + hours(90 + 72));
}

// Finding 4: a device awaiting approval alerted IT (device_noncompliant) before IT accepted it
// (its fleet dates: fleet_store_test.cc).
TEST_P(StandingStoreTest, ADeviceAwaitingApprovalRaisesNoDeviceEventUntilApproved) {
  approvalSecret();
  policy("standard", 1, 1);
  enroll("dev-p", "bob", "approval-hash");
  report("dev-p", "fail", kT0);
  EXPECT_EQ(*store_->expireDeadlines(kT0 + hours(48)), 0);
  report("dev-p", "fail", kT0 + hours(49));
  EXPECT_TRUE(events({"device_noncompliant", "device_compliant"}).empty());
  TimePoint approved = kT0 + hours(50);
  ASSERT_TRUE(store_->approveDevice("dev-p", approved).ok());
  EXPECT_EQ(events({"device_noncompliant"}), std::vector<std::string>{"device_noncompliant dev-p"});
  auto feed = store_->feed(0, 1000);
  for (const auto& e : *feed) {
    if (e.type == "device_noncompliant") {
      EXPECT_EQ(e.at, approved);
    }
  }
}

// Finding 6: a certificate's expiry is recorded in the enrolment's (and the renewal's)
// transaction: it was a separate write after the commit, lost by a kill -9 in between.
TEST_P(StandingStoreTest, ACertificatesExpiryIsRecordedWithTheEnrolmentAndTheRenewal) {
  DeviceRecord d;
  d.device_id = "dev-c";
  d.hostname = "host-c";
  d.cert_serial = "01";
  d.cert_not_after = kT0 + hours(24 * 10);
  d.enrolled_at = kT0;
  ASSERT_TRUE(store_->enrollDevice("hash", d, kT0).ok());
  auto raised = store_->markExpiringCertificates(kT0, hours(24 * 30));
  ASSERT_TRUE(raised.ok());
  EXPECT_EQ(*raised, 1);
  ASSERT_TRUE(
      store_->setPendingCertificate("dev-c", "01", "02", "key-02", kT0, kT0 + hours(24 * 20)).ok());
  ASSERT_TRUE(store_->promotePendingCertificate("dev-c", "02", kT0 + hours(1)).ok());
  EXPECT_EQ(*store_->markExpiringCertificates(kT0 + hours(1), hours(24 * 30)), 1);
  EXPECT_EQ(*store_->markExpiringCertificates(kT0 + hours(2), hours(24 * 30)), 0);
}

// Finding 3: two servers on one database raced: each read a device (or a lapsed exemption)
// before the other's commit and both appended its event. Two store instances (two connections,
// as two servers have) run the same pass at once: every event exactly once.
class TwoServers {
 public:
  explicit TwoServers(const std::string& uri) {
    for (auto& s : stores_) {
      auto opened = OpenStore(uri);
      EXPECT_TRUE(opened.ok()) << opened.status().toString();
      if (opened.ok()) s = std::move(opened).value();
    }
  }
  bool ok() const { return stores_[0] && stores_[1]; }
  // Runs `work` on both stores at once (as far as two threads can).
  void race(const std::function<void(Store&, int)>& work) {
    std::atomic<int> ready{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < 2; ++i) {
      threads.emplace_back([&, i] {
        ready.fetch_add(1);
        while (ready.load() < 2) std::this_thread::yield();
        work(*stores_[i], i);
      });
    }
    for (auto& t : threads) t.join();
  }

 private:
  std::unique_ptr<Store> stores_[2];
};

constexpr int kRaceDevices = 40;

TEST_P(StandingStoreTest, TwoServersPassingTheSameDeadlinesRaiseOneEventPerDevice) {
  policy("standard", 1, 1);
  for (int i = 0; i < kRaceDevices; ++i) {
    enroll("dev-" + std::to_string(i));
    report("dev-" + std::to_string(i), "fail", kT0);
  }
  TwoServers servers(uri_);
  ASSERT_TRUE(servers.ok());
  servers.race([&](Store& s, int) { EXPECT_TRUE(s.expireDeadlines(kT0 + hours(48)).ok()); });
  EXPECT_EQ(events({"device_noncompliant"}).size(), static_cast<size_t>(kRaceDevices));
}

TEST_P(StandingStoreTest, TwoServersLapsingTheSameExemptionsRaiseOneEventPerDevice) {
  policy("standard", 1, std::nullopt);
  for (int i = 0; i < kRaceDevices; ++i) {
    std::string id = "dev-" + std::to_string(i);
    enroll(id);
    report(id, "fail", kT0);
    ExemptionRecord e;
    e.device_id = id;
    e.check = "vpn";
    e.until = kT0 + hours(24);
    e.reason = "r";
    e.created_at = kT0 + hours(1);
    e.created_by = "test";
    ASSERT_TRUE(store_->createExemption(e).ok());
  }
  TwoServers servers(uri_);
  ASSERT_TRUE(servers.ok());
  servers.race([&](Store& s, int) { EXPECT_TRUE(s.expireDeadlines(kT0 + hours(25)).ok()); });
  EXPECT_EQ(events({"exemption_expired"}).size(), static_cast<size_t>(kRaceDevices));
  // One at the report, one after the lapse.
  EXPECT_EQ(events({"device_noncompliant"}).size(), static_cast<size_t>(2 * kRaceDevices));
}

TEST_P(StandingStoreTest, TwoServersDecidingTheSameDevicesRaiseOneDeviceEventEach) {
  policy("standard", 1, std::nullopt);
  std::vector<OwnerChange> bobs;
  for (int i = 0; i < kRaceDevices; ++i) {
    enroll("dev-" + std::to_string(i), "bob");
    report("dev-" + std::to_string(i), "fail", kT0);
    bobs.push_back(itOwner("dev-" + std::to_string(i), "bob", kT0));
  }
  // IT's word that they are bob's (an owner's exemption ignores an owner a PC declared).
  ASSERT_TRUE(store_->setDeviceOwners(bobs).ok());
  TwoServers servers(uri_);
  ASSERT_TRUE(servers.ok());
  std::vector<int64_t> made(2);
  // Several rounds: two admins exempt bob's devices at once (each server re-decides all of
  // them), then both exemptions are revoked one after the other.
  for (int round = 0; round < 3; ++round) {
    TimePoint at = kT0 + hours(1 + 10 * round);
    servers.race([&](Store& s, int i) {
      ExemptionRecord e;
      e.owner = "bob";
      e.check = "vpn";
      e.until = kT0 + hours(24 * 30);
      e.reason = "admin " + std::to_string(i);
      e.created_at = at;
      e.created_by = "admin-" + std::to_string(i);
      auto m = s.createExemption(e);
      EXPECT_TRUE(m.ok()) << m.status().toString();
      if (m.ok()) made[i] = m->id;
    });
    ASSERT_TRUE(store_->revokeExemption(made[0], at + hours(1)).ok());
    ASSERT_TRUE(store_->revokeExemption(made[1], at + hours(2)).ok());
    EXPECT_EQ(events({"device_compliant"}).size(), static_cast<size_t>(kRaceDevices * (round + 1)))
        << "round " << round;
  }
  EXPECT_EQ(events({"device_noncompliant"}).size(), static_cast<size_t>(kRaceDevices * 4));
}

// Another server's transaction holds dev-1's row (as a server deciding it does: SELECT ... FOR
// UPDATE) while it grants an exemption or stores a policy; this server's report for dev-1 waits
// for that lock and must then decide the device with what the other committed. (On PostgreSQL,
// a subquery of the locking SELECT read them as they were before the wait: the report ignored
// the exemption, or the new grace period.)
class HeldDevice {
 public:
  // Opens a connection of its own on `uri` (a raw one, as another server's), locks `device`'s
  // row and runs `sql` in the same transaction, uncommitted.
  HeldDevice(const std::string& uri, bool postgres, const std::string& device,
             const std::vector<std::string>& sql)
      : postgres_(postgres) {
    if (postgres_) {
      Poco::Data::PostgreSQL::Connector::registerConnector();
      auto conninfo = PostgresUriToConninfo(uri);
      EXPECT_TRUE(conninfo.ok());
      session_ = std::make_unique<Poco::Data::Session>("PostgreSQL", *conninfo);
      watcher_ = std::make_unique<Poco::Data::Session>("PostgreSQL", *conninfo);
      *session_ << "SELECT pg_backend_pid()", Poco::Data::Keywords::into(pid_),
          Poco::Data::Keywords::now;
      session_->begin();
      std::string id = device;
      *session_ << "SELECT device_id FROM devices WHERE device_id = $1 FOR UPDATE",
          Poco::Data::Keywords::use(id), Poco::Data::Keywords::now;
    } else {
      Poco::Data::SQLite::Connector::registerConnector();
      session_ = std::make_unique<Poco::Data::Session>("SQLite", uri);
      *session_ << "BEGIN IMMEDIATE", Poco::Data::Keywords::now;
    }
    for (const auto& q : sql) *session_ << q, Poco::Data::Keywords::now;
  }
  // Waits until another connection waits for this one's lock (PostgreSQL; SQLite, whose
  // writer waits in its busy handler, unseen: a moment).
  void awaitWaiter() {
    if (!postgres_) {
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
      return;
    }
    for (int i = 0; i < 500; ++i) {
      Poco::Int64 waiting = 0;
      *watcher_ << "SELECT COUNT(*) FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))",
          Poco::Data::Keywords::use(pid_), Poco::Data::Keywords::into(waiting),
          Poco::Data::Keywords::now;
      if (waiting > 0) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ADD_FAILURE() << "nobody waited for the device's lock";
  }
  void commit() {
    if (postgres_) {
      session_->commit();
    } else {
      *session_ << "COMMIT", Poco::Data::Keywords::now;
    }
  }

 private:
  bool postgres_;
  Poco::Int32 pid_ = 0;
  std::unique_ptr<Poco::Data::Session> session_, watcher_;
};

TEST_P(StandingStoreTest, AReportWaitingForAnotherServersLockSeesTheExemptionItGranted) {
  policy("standard", 1, std::nullopt);
  enroll("dev-1");
  report("dev-1", "fail", kT0);
  ASSERT_EQ(store_->getDevice("dev-1")->status, "noncompliant");
  const std::string until = formatRfc3339(kT0 + hours(48));
  HeldDevice other(uri_, GetParam() == "postgresql", "dev-1",
                   {"INSERT INTO exemptions(device_id, check_id, until_at, reason, created_at, "
                    "created_by) VALUES ('dev-1', 'vpn', '" +
                    until + "', 'r', '" + formatRfc3339(kT0) + "', 'other')"});
  std::thread reporting([&] { report("dev-1", "fail", kT0 + hours(1)); });
  other.awaitWaiter();
  other.commit();
  reporting.join();
  auto d = store_->getDevice("dev-1");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->status, "compliant");
  ASSERT_NE(check(*d, "vpn"), nullptr);
  const json::Value* exempt = check(*d, "vpn")->find("exempt_until");
  ASSERT_NE(exempt, nullptr);
  EXPECT_EQ(exempt->isString() ? exempt->asString() : "", until);
}

TEST_P(StandingStoreTest, AReportWaitingForAnotherServersLockUsesThePolicyItStored) {
  policy("standard", 1, std::nullopt);
  enroll("dev-1");
  report("dev-1", "fail", kT0);
  ASSERT_EQ(store_->getDevice("dev-1")->status, "noncompliant");
  // Version 2 gives vpn 10 days of grace.
  const std::string body =
      "{\"level\":\"standard\",\"version\":2,\"checks\":{\"vpn\":{\"required\":true,"
      "\"company_addresses\":[\"10.0.0.1\"],\"grace_days\":10},\"screen_lock\":{\"required\":"
      "true}}}";
  HeldDevice other(uri_, GetParam() == "postgresql", "dev-1",
                   {"INSERT INTO policies(level, version, body, signature, created_at) VALUES "
                    "('standard', 2, '" +
                    body + "', 'sig', '" + formatRfc3339(kT0) + "')"});
  std::thread reporting([&] { report("dev-1", "fail", kT0 + hours(1)); });
  other.awaitWaiter();
  other.commit();
  reporting.join();
  auto d = store_->getDevice("dev-1");
  ASSERT_TRUE(d.ok());
  // The failure counts from kT0 (the first report): due 10 days after it.
  EXPECT_EQ(d->status, "at_risk");
  ASSERT_TRUE(d->deadline.has_value());
  EXPECT_EQ(*d->deadline, kT0 + hours(240));
}

// A device awaiting approval raises no event, exemption events included: its exemption's
// approaching end and its lapse were announced for it (and sent to webhooks) although its device
// events were held back. It is still decided again when the exemption lapses.
TEST_P(StandingStoreTest, ADeviceAwaitingApprovalRaisesNoExemptionEvents) {
  approvalSecret();
  policy("standard", 1, std::nullopt);
  enroll("dev-ok", "bob");
  enroll("dev-p", "bob", "approval-hash");
  const TimePoint until = kT0 + hours(24 * 5);
  exemption("dev-ok", until, kT0);
  exemption("dev-p", until, kT0);
  const auto within = hours(24 * 3);
  EXPECT_EQ(*store_->markExpiringExemptions(until - hours(24), within), 1);
  auto lapsed = store_->expireDeadlines(until + hours(1));
  ASSERT_TRUE(lapsed.ok()) << lapsed.status().toString();
  EXPECT_EQ(
      events({"exemption_expiring", "exemption_expired"}),
      (std::vector<std::string>{"exemption_expiring dev-ok vpn", "exemption_expired dev-ok vpn"}));
}

// Who set a device's owner is on the device (and in the API's JSON): IT reading "bob" on a PC can
// tell whether IT said so or the PC declared it (then an owner's exemption does not cover it).
TEST_P(StandingStoreTest, TheDeviceSaysWhoSetItsOwner) {
  policy("standard", 1, std::nullopt);
  enroll("claimer", "bob");  // a shared secret: the PC's own word
  DeviceRecord nobodys;
  nobodys.device_id = "nobodys";
  nobodys.hostname = "nobodys";
  nobodys.cert_serial = "03";
  nobodys.enrolled_at = kT0 - hours(24);
  ASSERT_TRUE(store_->enrollDevice("hash", nobodys, nobodys.enrolled_at).ok());
  EXPECT_EQ(enrollBobsPc().owner_source, "secret");
  auto sources = [&]() {
    std::map<std::string, std::string> out;
    for (const auto& d : list({}, kT0)) {
      out[d.device_id] = d.owner_source.value_or("-");
      auto one = store_->getDevice(d.device_id);
      EXPECT_TRUE(one.ok());
      if (one.ok()) {
        EXPECT_EQ(one->owner_source, d.owner_source) << d.device_id;
      }
      const json::Value rendered = DeviceJson(d, false);
      const json::Value* field = rendered.find("owner_source");
      EXPECT_NE(field, nullptr);
      if (field != nullptr) {
        EXPECT_EQ(field->isNull() ? "-" : field->asString(), out[d.device_id]);
      }
    }
    return out;
  };
  EXPECT_EQ(sources(), (std::map<std::string, std::string>{
                           {"bobs-pc", "secret"}, {"claimer", "device"}, {"nobodys", "-"}}));
  ASSERT_TRUE(
      store_->setDeviceOwners({itOwner("claimer", "bob"), itOwner("bobs-pc", std::nullopt)}).ok());
  EXPECT_EQ(sources(), (std::map<std::string, std::string>{
                           {"bobs-pc", "-"}, {"claimer", "it"}, {"nobodys", "-"}}));
}

INSTANTIATE_TEST_SUITE_P(Backends, StandingStoreTest, ::testing::Values("sqlite", "postgresql"));

}  // namespace
}  // namespace hearth::server
