// What the IT console's overview, feed page and device history read (issue 15), on SQLite and
// (HEARTH_TEST_PG_URI) PostgreSQL: failures per check equal to the device list's own `check`
// filter, each day's last status count (the trend), the fleet's alerts (enrolment spikes and
// cloned machines) newest first, a device's events newest first with paging, the newest feed and
// audit entries, the device search by hostname or owner, and a level's standing under another
// set of required checks (the policy preview).
#include <algorithm>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "hearth/server/store.h"
#include "hearth/time.h"
#include "support/store_backend.h"

namespace hearth::server {
namespace {

using std::chrono::hours;
using std::chrono::minutes;

TimePoint T(const char* s) { return *parseRfc3339(s); }

const TimePoint kT0 = T("2026-12-01T10:00:00Z");

json::Value result(const std::string& vpn, const std::string& screen_lock) {
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

class OverviewStoreTest : public testing::StoreBackendTest {
 protected:
  OverviewStoreTest() : StoreBackendTest("overview") {}

  void SetUp() override {
    StoreBackendTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    SecretRecord secret;
    secret.level = "standard";
    secret.created_at = kT0 - hours(24);
    ASSERT_TRUE(store_->createSecret("hash", secret).ok());
    PolicyRecord p;
    p.level = "standard";
    p.version = 1;
    p.body = R"({"level":"standard","version":1,"checks":{"vpn":{"required":true,)"
             R"("company_addresses":["10.0.0.1"]},"screen_lock":{"required":true}}})";
    p.signature = "sig";
    p.created_at = kT0 - hours(24);
    ASSERT_TRUE(store_->putPolicy(p).ok());
  }

  void enroll(const std::string& id, const std::string& hostname, const std::string& owner,
              TimePoint at = kT0 - hours(24), const SpikeRule& spike = SpikeRule{}) {
    DeviceRecord d;
    d.device_id = id;
    d.hostname = hostname;
    d.owner = owner;
    d.cert_serial = "01";
    d.enrolled_at = at;
    auto made = store_->enrollDevice("hash", d, at, spike);
    ASSERT_TRUE(made.ok()) << made.status().toString();
  }

  void report(const std::string& device, const std::string& vpn, const std::string& screen_lock,
              TimePoint at, const std::string& machine_id = "") {
    NewReport r;
    r.device_id = device;
    r.report_id = device + "-" + std::to_string(++sequence_[device]);
    r.sequence = sequence_[device];
    r.sent_at = formatRfc3339(at);
    r.agent_version = "0.1.0";
    r.machine_id = machine_id.empty() ? "machine-" + device : machine_id;
    r.result = result(vpn, screen_lock);
    r.received_at = at;
    auto done = store_->ingestReports({r});
    ASSERT_TRUE(done.ok()) << done.status().toString();
  }

  std::vector<std::string> ids(DeviceFilter f, TimePoint now) {
    f.now = now;
    f.stale_after = hours(24 * 365);
    f.limit = 1000;
    auto l = store_->listDevices(f);
    EXPECT_TRUE(l.ok()) << l.status().toString();
    std::vector<std::string> out;
    if (l.ok()) {
      for (const auto& d : *l) out.push_back(d.device_id);
    }
    return out;
  }

  std::map<std::string, int64_t> sequence_;
};

TEST_P(OverviewStoreTest, FailuresPerCheckAreTheCheckFiltersCounts) {
  enroll("d1", "alpha", "ann");
  enroll("d2", "beta", "bob");
  enroll("d3", "gamma", "cat");
  enroll("d4", "delta", "dan");
  report("d1", "fail", "pass", kT0);
  report("d2", "fail", "fail", kT0);
  report("d3", "pass", "pass", kT0);
  report("d4", "fail", "fail", kT0);
  // A retired device's failures count no more (nor does the list show it).
  ASSERT_TRUE(store_->retireDevice("d4", kT0 + minutes(1)).ok());
  auto failing = store_->failingChecks();
  ASSERT_TRUE(failing.ok()) << failing.status().toString();
  std::vector<std::pair<std::string, int64_t>> want = {{"vpn", 2}, {"screen_lock", 1}};
  EXPECT_EQ(*failing, want);
  for (const auto& [check, n] : *failing) {
    DeviceFilter f;
    f.check = check;
    EXPECT_EQ(static_cast<int64_t>(ids(f, kT0 + hours(1)).size()), n) << check;
  }
  // A fix is counted at once.
  report("d2", "pass", "fail", kT0 + hours(1));
  failing = store_->failingChecks();
  ASSERT_TRUE(failing.ok());
  want = {{"screen_lock", 1}, {"vpn", 1}};
  EXPECT_EQ(*failing, want);
}

TEST_P(OverviewStoreTest, EachDayKeepsItsLastStatusCount) {
  enroll("d1", "alpha", "ann");
  enroll("d2", "beta", "bob");
  report("d1", "pass", "pass", kT0);
  report("d2", "fail", "pass", kT0);
  auto stale = hours(24 * 30);
  ASSERT_TRUE(store_->recordDailyStatus(T("2026-12-01T10:01:00Z"), stale).ok());
  report("d2", "pass", "pass", T("2026-12-01T20:00:00Z"));
  ASSERT_TRUE(store_->recordDailyStatus(T("2026-12-01T23:59:00Z"), stale).ok());
  report("d1", "fail", "pass", T("2026-12-02T08:00:00Z"));
  ASSERT_TRUE(store_->recordDailyStatus(T("2026-12-02T09:00:00Z"), stale).ok());

  auto days = store_->dailyStatus("2026-11-01");
  ASSERT_TRUE(days.ok()) << days.status().toString();
  ASSERT_EQ(days->size(), 2u);
  auto counts = [](const DailyStatus& d) {
    return std::map<std::string, int64_t>(d.counts.begin(), d.counts.end());
  };
  EXPECT_EQ((*days)[0].day, "2026-12-01");
  EXPECT_EQ(counts((*days)[0]), (std::map<std::string, int64_t>{{"compliant", 2}}));
  EXPECT_EQ((*days)[1].day, "2026-12-02");
  EXPECT_EQ(counts((*days)[1]),
            (std::map<std::string, int64_t>{{"compliant", 1}, {"noncompliant", 1}}));
  // The same counts as deviceCounts at that moment.
  auto now = store_->deviceCounts(T("2026-12-02T09:00:00Z"), stale);
  ASSERT_TRUE(now.ok());
  std::map<std::string, int64_t> at_that_moment(now->begin(), now->end());
  EXPECT_EQ(counts((*days)[1]), at_that_moment);

  auto from_second = store_->dailyStatus("2026-12-02");
  ASSERT_TRUE(from_second.ok());
  ASSERT_EQ(from_second->size(), 1u);
  EXPECT_EQ(from_second->front().day, "2026-12-02");
}

TEST_P(OverviewStoreTest, FleetAlertsAreSpikesAndClonesNewestFirst) {
  SpikeRule spike{.threshold = 2, .window = std::chrono::seconds(600)};
  enroll("s1", "spike-1", "a", kT0, spike);
  enroll("s2", "spike-2", "b", kT0 + minutes(1), spike);
  enroll("s3", "spike-3", "c", kT0 + minutes(2), spike);  // the third within 10 minutes
  // Two devices reporting one machine id: a cloned disk.
  std::string machine(64, 'c');
  report("s1", "pass", "pass", kT0 + hours(1), machine);
  report("s2", "pass", "pass", kT0 + hours(2), machine);
  report("s3", "fail", "pass", kT0 + hours(3));  // other events are not alerts

  auto alerts = store_->fleetAlerts(kT0 - hours(1), 20);
  ASSERT_TRUE(alerts.ok()) << alerts.status().toString();
  std::vector<std::string> got;
  for (const auto& e : *alerts) got.push_back(e.type + " " + e.device_id);
  EXPECT_EQ(got, (std::vector<std::string>{"duplicate_machine_id s2", "enrolment_spike s3"}));
  ASSERT_FALSE(alerts->empty());
  EXPECT_EQ(alerts->front().hostname, "spike-2");
  // Only those at or after `since`, and at most `limit`.
  auto later = store_->fleetAlerts(kT0 + hours(1), 20);
  ASSERT_TRUE(later.ok());
  EXPECT_EQ(later->size(), 1u);
  auto one = store_->fleetAlerts(kT0 - hours(1), 1);
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->size(), 1u);
}

TEST_P(OverviewStoreTest, ADevicesEventsNewestFirstInPages) {
  enroll("d1", "alpha", "ann");
  enroll("d2", "beta", "bob");
  report("d1", "pass", "pass", kT0);
  report("d1", "fail", "pass", kT0 + hours(1));
  report("d2", "fail", "fail", kT0 + hours(1));
  report("d1", "pass", "pass", kT0 + hours(2));

  auto all = store_->deviceEvents("d1", 0, 100);
  ASSERT_TRUE(all.ok()) << all.status().toString();
  ASSERT_GE(all->size(), 4u);  // enrolled, verdict changes, device status changes
  for (const auto& e : *all) EXPECT_EQ(e.device_id, "d1");
  for (size_t i = 1; i < all->size(); ++i) EXPECT_GT((*all)[i - 1].cursor, (*all)[i].cursor);
  EXPECT_EQ(all->back().type, "enrolled");
  EXPECT_EQ(all->front().hostname, "alpha");
  // Paged by `before`: the same events, none twice.
  std::vector<int64_t> paged;
  int64_t before = 0;
  while (true) {
    auto page = store_->deviceEvents("d1", before, 2);
    ASSERT_TRUE(page.ok());
    for (const auto& e : *page) paged.push_back(e.cursor);
    if (page->size() < 2) break;
    before = page->back().cursor;
  }
  std::vector<int64_t> want;
  for (const auto& e : *all) want.push_back(e.cursor);
  EXPECT_EQ(paged, want);
  auto none = store_->deviceEvents("no-such-device", 0, 10);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST_P(OverviewStoreTest, NewestFeedAndAuditEntriesAreTheLastOnesInOrder) {
  enroll("d1", "alpha", "ann");
  enroll("d2", "beta", "bob");
  report("d1", "fail", "pass", kT0);
  for (int i = 0; i < 5; ++i) {
    AuditEntry a = NewAuditEntry("it", "device.owner", "device:d" + std::to_string(i));
    ASSERT_TRUE(store_->appendAudit(a).ok());
  }
  auto feed = store_->feed(0, 1000);
  ASSERT_TRUE(feed.ok());
  ASSERT_GE(feed->size(), 4u);
  auto newest = store_->feedNewest(3);
  ASSERT_TRUE(newest.ok()) << newest.status().toString();
  ASSERT_EQ(newest->size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ((*newest)[i].cursor, (*feed)[feed->size() - 3 + i].cursor);
  }
  EXPECT_EQ(newest->back().hostname, (*feed).back().hostname);
  auto everything = store_->feedNewest(1000);
  ASSERT_TRUE(everything.ok());
  ASSERT_EQ(everything->size(), feed->size());
  // Field by field as the feed pages them, absent values (no check, no detail) absent too.
  for (size_t i = 0; i < feed->size(); ++i) {
    const FeedEvent &a = (*everything)[i], &b = (*feed)[i];
    EXPECT_EQ(a.cursor, b.cursor);
    EXPECT_EQ(a.at, b.at);
    EXPECT_EQ(a.device_id, b.device_id);
    EXPECT_EQ(a.type, b.type);
    EXPECT_EQ(a.check, b.check) << a.type;
    EXPECT_EQ(a.from, b.from) << a.type;
    EXPECT_EQ(a.to, b.to) << a.type;
    EXPECT_EQ(a.detail, b.detail) << a.type;
    EXPECT_EQ(a.hostname, b.hostname);
    EXPECT_EQ(a.owner, b.owner);
  }
  // The statement is kept and run again: a smaller page after a larger one has only its rows.
  auto one = store_->feedNewest(1);
  ASSERT_TRUE(one.ok());
  ASSERT_EQ(one->size(), 1u);
  EXPECT_EQ(one->front().cursor, feed->back().cursor);

  auto audit = store_->auditNewest(2);
  ASSERT_TRUE(audit.ok()) << audit.status().toString();
  ASSERT_EQ(audit->size(), 2u);
  EXPECT_EQ((*audit)[0].target, "device:d3");
  EXPECT_EQ((*audit)[1].target, "device:d4");
}

TEST_P(OverviewStoreTest, SearchFindsHostnameOrOwnerInAnyCase) {
  enroll("d1", "Bobs-Laptop", "ann@example.com");
  enroll("d2", "desk-7", "Bob.Hansen@example.com");
  enroll("d3", "kitchen", "cat@example.com");
  enroll("d4", "100%_pc", "dan@example.com");
  DeviceFilter f;
  f.search = "bob";
  EXPECT_EQ(ids(f, kT0), (std::vector<std::string>{"d1", "d2"}));
  f.search = "KITCH";
  EXPECT_EQ(ids(f, kT0), (std::vector<std::string>{"d3"}));
  // LIKE's own characters are searched as text, not as patterns.
  f.search = "%";
  EXPECT_EQ(ids(f, kT0), (std::vector<std::string>{"d4"}));
  f.search = "%_p";
  EXPECT_EQ(ids(f, kT0), (std::vector<std::string>{"d4"}));
  f.search = "_";
  EXPECT_EQ(ids(f, kT0), (std::vector<std::string>{"d4"}));
  // With the other filters.
  f.search = "example";
  f.owner = "cat@example.com";
  EXPECT_EQ(ids(f, kT0), (std::vector<std::string>{"d3"}));
}

TEST_P(OverviewStoreTest, ALevelsStandingUnderAnotherSetOfRequiredChecks) {
  enroll("d1", "alpha", "ann");
  enroll("d2", "beta", "bob");
  enroll("d3", "gamma", "cat");
  enroll("d4", "delta", "dan");
  report("d1", "fail", "pass", kT0);
  report("d2", "pass", "unknown", kT0);
  report("d3", "pass", "pass", kT0);
  report("d4", "fail", "fail", kT0);
  ASSERT_TRUE(store_->retireDevice("d4", kT0 + minutes(1)).ok());  // counts no more

  auto vpn = store_->levelStanding("standard", {"vpn"});
  ASSERT_TRUE(vpn.ok()) << vpn.status().toString();
  EXPECT_EQ(vpn->devices, 3);
  EXPECT_EQ(vpn->failing, 1);
  auto both = store_->levelStanding("standard", {"vpn", "screen_lock"});
  ASSERT_TRUE(both.ok());
  EXPECT_EQ(both->failing, 2);  // an unknown required check fails the device too
  auto none = store_->levelStanding("standard", {});
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->devices, 3);
  EXPECT_EQ(none->failing, 0);
  using Counts = std::vector<std::pair<std::string, std::pair<int64_t, int64_t>>>;
  EXPECT_EQ(both->per_check, (Counts{{"screen_lock", {0, 1}}, {"vpn", {1, 0}}}));
  auto other = store_->levelStanding("strict", {"vpn"});
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(other->devices, 0);
  EXPECT_EQ(other->failing, 0);
}

INSTANTIATE_TEST_SUITE_P(Backends, OverviewStoreTest, ::testing::Values("sqlite", "postgresql"));

}  // namespace
}  // namespace hearth::server
