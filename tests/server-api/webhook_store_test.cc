// The webhook outbox in the store, on SQLite and (HEARTH_TEST_PG_URI) PostgreSQL: a delivery is
// written with the feed event that causes it (ingest, staleness, enrolment, retire) and only for
// subscribed types; the first pending delivery of a webhook holds back its later ones; claims,
// attempts, giving up, the test delivery, the log, deletion and retention.
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "hearth/server/store.h"
#include "hearth/time.h"
#include "support/pg_schema.h"
#include "support/temp_dir.h"

namespace hearth::server {
namespace {

TimePoint T(const char* s) { return *parseRfc3339(s); }

json::Value result(const std::string& vpn) {
  json::Value c = json::Value::object();
  c.set("id", "vpn");
  c.set("verdict", vpn);
  c.set("required", true);
  c.set("summary", "s");
  json::Value checks = json::Value::array();
  checks.push(std::move(c));
  json::Value r = json::Value::object();
  r.set("compliant", vpn == "pass");
  r.set("checks", std::move(checks));
  return r;
}

class WebhookStoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    std::string uri = dir_.path() + "/hearth.db";
    if (GetParam() == "postgresql") {
      pg_ = std::make_unique<testing::PostgresSchema>("webhooks");
      if (pg_->uri().empty()) GTEST_SKIP() << "HEARTH_TEST_PG_URI not set: no PostgreSQL server";
      uri = pg_->uri();
    }
    auto s = OpenStore(uri);
    ASSERT_TRUE(s.ok()) << s.status().toString();
    store_ = std::move(s).value();
    SecretRecord secret;
    secret.level = "standard";
    secret.created_at = T("2026-12-01T00:00:00Z");
    ASSERT_TRUE(store_->createSecret("hash", secret).ok());
  }

  void TearDown() override { store_.reset(); }

  int64_t webhook(const std::vector<std::string>& events, const char* url) {
    WebhookRecord w;
    w.url = url;
    w.secret = "0123456789abcdef-secret";
    w.events = events;
    w.created_at = T("2026-12-01T00:00:00Z");
    AuditEntry audit = NewAuditEntry("test", "webhook.create", "webhook:");
    auto made = store_->createWebhook(w, &audit);
    EXPECT_TRUE(made.ok()) << made.status().toString();
    EXPECT_TRUE(made->secret.empty());
    return made.ok() ? made->id : 0;
  }

  void enroll(const std::string& id, TimePoint at) {
    DeviceRecord d;
    d.device_id = id;
    d.hostname = "host-" + id;
    d.owner = "bob";
    d.cert_serial = "01";
    d.enrolled_at = at;
    ASSERT_TRUE(store_->enrollDevice("hash", d, at).ok());
  }

  void report(const std::string& device, int64_t seq, const std::string& vpn, TimePoint at) {
    NewReport r;
    r.device_id = device;
    r.report_id = device + "-" + std::to_string(seq);
    r.sequence = seq;
    r.sent_at = formatRfc3339(at);
    r.agent_version = "0.1.0";
    r.result = result(vpn);
    r.received_at = at;
    auto done = store_->ingestReports({r});
    ASSERT_TRUE(done.ok()) << done.status().toString();
  }

  std::vector<WebhookDelivery> log(int64_t id) {
    auto l = store_->listDeliveries(id, 0, 1000);
    EXPECT_TRUE(l.ok()) << l.status().toString();
    return l.ok() ? *l : std::vector<WebhookDelivery>{};
  }

  testing::TempDir dir_;
  std::unique_ptr<testing::PostgresSchema> pg_;
  std::unique_ptr<Store> store_;
};

TEST_P(WebhookStoreTest, FeedEventsOfSubscribedTypesAreQueuedWithTheirEvent) {
  int64_t failing = webhook({"check_failed", "check_fixed", "retired"}, "https://a.example/x");
  int64_t enrolments = webhook({"enrolled", "stale"}, "https://b.example/x");
  TimePoint t0 = T("2026-12-07T10:00:00Z");
  enroll("dev-1", t0);
  report("dev-1", 1, "pass", t0 + std::chrono::minutes(1));   // unknown -> pass: not delivered
  report("dev-1", 2, "fail", t0 + std::chrono::minutes(2));   // check_failed
  report("dev-1", 3, "fail", t0 + std::chrono::minutes(3));   // nothing changes
  report("dev-1", 4, "pass", t0 + std::chrono::minutes(4));   // check_fixed
  report("dev-1", 5, "error", t0 + std::chrono::minutes(5));  // pass -> error: not delivered
  ASSERT_TRUE(store_->markStale(t0 + std::chrono::hours(30), std::chrono::hours(24)).ok());
  ASSERT_TRUE(store_->retireDevice("dev-1", t0 + std::chrono::hours(31)).ok());

  auto a = log(failing);
  ASSERT_EQ(a.size(), 3u);
  EXPECT_EQ(a[2].event, "check_failed");  // newest first
  EXPECT_EQ(a[1].event, "check_fixed");
  EXPECT_EQ(a[0].event, "retired");
  for (const auto& d : a) {
    EXPECT_EQ(d.status, "pending");
    EXPECT_EQ(d.attempts, 0);
    EXPECT_TRUE(d.event_cursor.has_value());
  }
  auto b = log(enrolments);
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(b[1].event, "enrolled");
  EXPECT_EQ(b[0].event, "stale");

  // The delivery carries the feed event (the same cursor) with hostname and owner.
  auto feed = store_->feed(0, 100);
  ASSERT_TRUE(feed.ok());
  auto due = store_->claimDueDeliveries(t0 + std::chrono::hours(32), std::chrono::seconds(20), 10);
  ASSERT_TRUE(due.ok()) << due.status().toString();
  ASSERT_EQ(due->size(), 2u);  // the head of each webhook only
  const DueDelivery& first = (*due)[0].webhook.id == failing ? (*due)[0] : (*due)[1];
  EXPECT_EQ(first.delivery.id, a[2].id);
  EXPECT_EQ(first.webhook.secret, "0123456789abcdef-secret");
  EXPECT_EQ(first.webhook.url, "https://a.example/x");
  EXPECT_EQ(first.event.find("event")->asString(), "check_failed");
  EXPECT_EQ(first.event.find("type")->asString(), "verdict_changed");
  EXPECT_EQ(first.event.find("check")->asString(), "vpn");
  EXPECT_EQ(first.event.find("to")->asString(), "fail");
  EXPECT_EQ(first.event.find("hostname")->asString(), "host-dev-1");
  EXPECT_EQ(first.event.find("owner")->asString(), "bob");
  EXPECT_EQ(first.event.find("cursor")->asString(), std::to_string(*a[2].event_cursor));
}

TEST_P(WebhookStoreTest, EventsBeforeAWebhookAreNotQueuedForIt) {
  TimePoint t0 = T("2026-12-07T10:00:00Z");
  enroll("dev-1", t0);
  report("dev-1", 1, "fail", t0);  // before any webhook: not queued later either
  int64_t id = webhook({"check_failed"}, "https://a.example/x");
  EXPECT_TRUE(log(id).empty());
  report("dev-1", 2, "pass", t0 + std::chrono::minutes(1));
  report("dev-1", 3, "fail", t0 + std::chrono::minutes(2));
  EXPECT_EQ(log(id).size(), 1u);
}

TEST_P(WebhookStoreTest, TheHeadHoldsBackItsWebhookOnlyUntilDeliveredOrGivenUp) {
  int64_t slow = webhook({"check_failed", "check_fixed"}, "https://a.example/x");
  int64_t other = webhook({"check_failed", "check_fixed"}, "https://b.example/x");
  TimePoint t0 = T("2026-12-07T10:00:00Z");
  enroll("dev-1", t0);
  report("dev-1", 1, "fail", t0);
  report("dev-1", 2, "pass", t0 + std::chrono::seconds(1));
  TimePoint now = t0 + std::chrono::seconds(5);
  auto round1 = store_->claimDueDeliveries(now, std::chrono::seconds(20), 10);
  ASSERT_TRUE(round1.ok());
  ASSERT_EQ(round1->size(), 2u);
  // Claimed: not handed out again while the claim lasts.
  auto again = store_->claimDueDeliveries(now, std::chrono::seconds(20), 10);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->empty());
  for (const auto& d : *round1) {
    DeliveryAttempt attempt;
    attempt.at = now;
    if (d.webhook.id == slow) {
      attempt.http_status = 500;
      attempt.error = "HTTP 500";
      attempt.retry_at = now + std::chrono::seconds(60);
    } else {
      attempt.delivered = true;
      attempt.http_status = 200;
    }
    ASSERT_TRUE(store_->recordDeliveryAttempt(d.delivery.id, attempt).ok());
  }
  // The other webhook goes on with its second event; the failing one waits for its first.
  auto round2 =
      store_->claimDueDeliveries(now + std::chrono::seconds(1), std::chrono::seconds(20), 10);
  ASSERT_TRUE(round2.ok());
  ASSERT_EQ(round2->size(), 1u);
  EXPECT_EQ((*round2)[0].webhook.id, other);
  EXPECT_EQ((*round2)[0].delivery.event, "check_fixed");
  // A lapsed claim (a server killed while sending) is handed out again, the same delivery.
  auto lapsed =
      store_->claimDueDeliveries(now + std::chrono::seconds(30), std::chrono::seconds(20), 10);
  ASSERT_TRUE(lapsed.ok());
  ASSERT_EQ(lapsed->size(), 1u);
  EXPECT_EQ((*lapsed)[0].delivery.id, (*round2)[0].delivery.id);
  DeliveryAttempt delivered;
  delivered.at = now + std::chrono::seconds(30);
  delivered.delivered = true;
  delivered.http_status = 204;
  ASSERT_TRUE(store_->recordDeliveryAttempt((*lapsed)[0].delivery.id, delivered).ok());
  // The failing head is due again after its retry time, still the first event.
  auto round3 =
      store_->claimDueDeliveries(now + std::chrono::seconds(61), std::chrono::seconds(20), 10);
  ASSERT_TRUE(round3.ok());
  ASSERT_EQ(round3->size(), 1u);
  EXPECT_EQ((*round3)[0].webhook.id, slow);
  EXPECT_EQ((*round3)[0].delivery.event, "check_failed");
  EXPECT_EQ((*round3)[0].delivery.attempts, 1);
  // Given up: failed, visible in the log; the next event of that webhook comes up.
  DeliveryAttempt give_up;
  give_up.at = now + std::chrono::seconds(61);
  give_up.error = "HTTP 500";
  give_up.http_status = 500;
  ASSERT_TRUE(store_->recordDeliveryAttempt((*round3)[0].delivery.id, give_up).ok());
  auto entries = log(slow);
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[1].status, "failed");
  EXPECT_EQ(entries[1].attempts, 2);
  EXPECT_EQ(entries[1].last_http_status.value_or(0), 500);
  EXPECT_EQ(entries[1].last_error.value_or(""), "HTTP 500");
  EXPECT_TRUE(entries[1].finished_at.has_value());
  auto round4 =
      store_->claimDueDeliveries(now + std::chrono::seconds(62), std::chrono::seconds(20), 10);
  ASSERT_TRUE(round4.ok());
  ASSERT_EQ(round4->size(), 1u);
  EXPECT_EQ((*round4)[0].delivery.event, "check_fixed");

  // Retention removes finished deliveries only.
  auto pruned = store_->pruneDeliveries(now + std::chrono::hours(1));
  ASSERT_TRUE(pruned.ok());
  EXPECT_EQ(*pruned, 3);  // the failed one and the other webhook's two
  EXPECT_EQ(log(slow).size(), 1u);
}

TEST_P(WebhookStoreTest, ARunIsClaimedInOrderAndStopsAtWhatIsNotDueOrClaimed) {
  int64_t a = webhook({"check_failed", "check_fixed"}, "https://a.example/x");
  int64_t b = webhook({"check_failed"}, "https://b.example/x");
  TimePoint t0 = T("2026-12-07T10:00:00Z");
  enroll("dev-1", t0);
  for (int i = 1; i <= 6; ++i) {  // a: fail, pass, fail, pass, fail, pass; b: the 3 fails
    report("dev-1", i, i % 2 == 1 ? "fail" : "pass", t0 + std::chrono::seconds(i));
  }
  TimePoint now = t0 + std::chrono::seconds(10);
  auto runs = store_->claimDeliveryRuns(now, std::chrono::seconds(20), 10, 4);
  ASSERT_TRUE(runs.ok()) << runs.status().toString();
  ASSERT_EQ(runs->size(), 7u);  // a's first 4 (the run's cap) and b's 3, grouped, in order
  std::vector<int64_t> a_ids, b_ids;
  for (const auto& d : *runs) (d.webhook.id == a ? a_ids : b_ids).push_back(d.delivery.id);
  ASSERT_EQ(a_ids.size(), 4u);
  ASSERT_EQ(b_ids.size(), 3u);
  EXPECT_TRUE(std::is_sorted(a_ids.begin(), a_ids.end()));
  EXPECT_TRUE(std::is_sorted(b_ids.begin(), b_ids.end()));
  EXPECT_EQ((*runs)[0].webhook.id, (*runs)[3].webhook.id);  // a run is contiguous
  EXPECT_EQ((*runs)[0].event.find("event")->asString(), "check_failed");
  EXPECT_EQ((*runs)[1].event.find("event")->asString(),
            (*runs)[0].webhook.id == a ? "check_fixed" : "check_failed");
  // a's 5th and 6th wait behind its claimed head: nothing more for anyone.
  auto none = store_->claimDeliveryRuns(now, std::chrono::seconds(20), 10, 4);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());

  // a: the first two delivered, the third failed (retry in a minute), the fourth released.
  DeliveryAttempt ok;
  ok.at = now;
  ok.delivered = true;
  ok.http_status = 200;
  DeliveryAttempt retry;
  retry.at = now;
  retry.http_status = 503;
  retry.error = "HTTP 503";
  retry.retry_at = now + std::chrono::minutes(1);
  ASSERT_TRUE(
      store_
          ->recordDeliveryAttempts({{a_ids[0], ok}, {a_ids[1], ok}, {a_ids[2], retry}}, {a_ids[3]})
          .ok());
  // b: all three delivered in one transaction.
  ASSERT_TRUE(
      store_->recordDeliveryAttempts({{b_ids[0], ok}, {b_ids[1], ok}, {b_ids[2], ok}}, {}).ok());
  auto entries = log(a);
  ASSERT_EQ(entries.size(), 6u);  // newest first
  EXPECT_EQ(entries[5].status, "delivered");
  EXPECT_EQ(entries[4].status, "delivered");
  EXPECT_EQ(entries[3].status, "pending");
  EXPECT_EQ(entries[3].attempts, 1);
  EXPECT_EQ(entries[3].last_http_status.value_or(0), 503);
  EXPECT_EQ(entries[2].status, "pending");  // released, never attempted
  EXPECT_EQ(entries[2].attempts, 0);
  for (const auto& d : log(b)) EXPECT_EQ(d.status, "delivered");
  // The failed head holds back the released one and those behind it until its retry time.
  auto held =
      store_->claimDeliveryRuns(now + std::chrono::seconds(1), std::chrono::seconds(20), 10, 4);
  ASSERT_TRUE(held.ok());
  EXPECT_TRUE(held->empty());
  auto after =
      store_->claimDeliveryRuns(now + std::chrono::minutes(2), std::chrono::seconds(20), 10, 4);
  ASSERT_TRUE(after.ok());
  ASSERT_EQ(after->size(), 4u);  // the retried head, the released one, the 5th and the 6th
  EXPECT_EQ((*after)[0].delivery.id, a_ids[2]);
  EXPECT_EQ((*after)[0].delivery.attempts, 1);
  EXPECT_EQ((*after)[1].delivery.id, a_ids[3]);

  // A delivery claimed by someone else (a test delivery under way) ends a run before it.
  ASSERT_TRUE(store_
                  ->recordDeliveryAttempts(
                      {{(*after)[0].delivery.id, ok}},
                      {(*after)[1].delivery.id, (*after)[2].delivery.id, (*after)[3].delivery.id})
                  .ok());
  TimePoint later = now + std::chrono::minutes(3);
  auto test = store_->createTestDelivery(a, later, std::chrono::seconds(20));
  ASSERT_TRUE(test.ok());
  report("dev-1", 7, "fail", later);  // behind the test delivery
  auto cut = store_->claimDeliveryRuns(later, std::chrono::seconds(20), 10, 10);
  ASSERT_TRUE(cut.ok());
  std::vector<int64_t> a_cut;
  for (const auto& d : *cut) {
    if (d.webhook.id == a) a_cut.push_back(d.delivery.id);
  }
  // a: the released one, the 5th, the 6th; not the test, not the 7th behind it (b gets its 7th).
  ASSERT_EQ(a_cut.size(), 3u);
  EXPECT_EQ(cut->size(), 4u);
  for (int64_t id : a_cut) EXPECT_LT(id, test->delivery.id);
}

TEST_P(WebhookStoreTest, AnExpiringCertificateRaisesOneEventPerCertificateUntilRenewed) {
  int64_t hook = webhook({"certificate_expiring"}, "https://a.example/x");
  TimePoint t0 = T("2026-12-07T10:00:00Z");
  enroll("dev-1", t0);
  enroll("dev-2", t0);
  enroll("dev-3", t0);
  enroll("dev-4", t0);  // issued before the server recorded expiry: never raised
  const auto days = [](int n) { return std::chrono::hours(24 * n); };
  ASSERT_TRUE(store_->setCertificateExpiry("dev-1", "01", t0 + days(20)).ok());
  ASSERT_TRUE(store_->setCertificateExpiry("dev-2", "01", t0 + days(200)).ok());
  ASSERT_TRUE(store_->setCertificateExpiry("dev-3", "01", t0 + days(10)).ok());
  EXPECT_EQ(store_->setCertificateExpiry("dev-1", "99", t0).code(),
            StatusCode::kFailedPrecondition);
  // dev-3 renewed (a pending certificate waits for its first use): not raised.
  ASSERT_TRUE(store_->setPendingCertificate("dev-3", "01", "02", "key-02", t0).ok());
  ASSERT_TRUE(store_->setCertificateExpiry("dev-3", "02", t0 + days(375)).ok());

  auto raised = store_->markExpiringCertificates(t0, days(30));
  ASSERT_TRUE(raised.ok()) << raised.status().toString();
  EXPECT_EQ(*raised, 1);
  auto again = store_->markExpiringCertificates(t0 + std::chrono::hours(1), days(30));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, 0);  // once per certificate
  auto feed = store_->feed(0, 100);
  ASSERT_TRUE(feed.ok());
  std::vector<FeedEvent> expiring;
  for (const auto& e : *feed) {
    if (e.type == "certificate_expiring") expiring.push_back(e);
  }
  ASSERT_EQ(expiring.size(), 1u);
  EXPECT_EQ(expiring[0].device_id, "dev-1");
  auto detail = json::parse(expiring[0].detail.value_or(""));
  ASSERT_TRUE(detail.ok());
  EXPECT_EQ(detail->find("serial")->asString(), "01");
  EXPECT_EQ(detail->find("not_after")->asString(), "2026-12-27T10:00:00Z");
  EXPECT_EQ(detail->find("days_left")->asInt(), 20);
  // The outbox has it for the subscribed webhook, with the fields for its receiver.
  auto due = store_->claimDueDeliveries(t0 + std::chrono::hours(2), std::chrono::seconds(20), 10);
  ASSERT_TRUE(due.ok());
  ASSERT_EQ(due->size(), 1u);
  EXPECT_EQ((*due)[0].webhook.id, hook);
  EXPECT_EQ((*due)[0].event.find("event")->asString(), "certificate_expiring");
  EXPECT_EQ((*due)[0].event.find("hostname")->asString(), "host-dev-1");
  EXPECT_EQ((*due)[0].event.find("not_after")->asString(), "2026-12-27T10:00:00Z");

  // dev-3 uses its renewed certificate: its expiry moves with it, far away: still nothing.
  ASSERT_TRUE(store_->promotePendingCertificate("dev-3", "02", t0 + days(1)).ok());
  auto after_promotion = store_->markExpiringCertificates(t0 + days(1), days(30));
  ASSERT_TRUE(after_promotion.ok());
  EXPECT_EQ(*after_promotion, 0);
  // Much later, dev-3's new certificate nears its end too: its own event; dev-2 reaches the
  // window; a retired device raises nothing.
  ASSERT_TRUE(store_->retireDevice("dev-2", t0 + days(2)).ok());
  auto later = store_->markExpiringCertificates(t0 + days(350), days(30));
  ASSERT_TRUE(later.ok());
  EXPECT_EQ(*later, 1);
  auto feed2 = store_->feed(0, 100);
  ASSERT_TRUE(feed2.ok());
  EXPECT_EQ(feed2->back().type, "certificate_expiring");
  EXPECT_EQ(feed2->back().device_id, "dev-3");
}

TEST_P(WebhookStoreTest, TestDeliveryListingAndDeletion) {
  int64_t id = webhook({"stale"}, "https://a.example/hook");
  TimePoint now = T("2026-12-07T10:00:00Z");
  AuditEntry audit = NewAuditEntry("test", "webhook.test", "webhook:1");
  auto test = store_->createTestDelivery(id, now, std::chrono::seconds(20), &audit);
  ASSERT_TRUE(test.ok()) << test.status().toString();
  EXPECT_EQ(test->delivery.event, "test");
  EXPECT_EQ(test->event.find("event")->asString(), "test");
  EXPECT_EQ(test->webhook.secret, "0123456789abcdef-secret");
  // Claimed by the test: the worker leaves it alone.
  auto due = store_->claimDueDeliveries(now, std::chrono::seconds(20), 10);
  ASSERT_TRUE(due.ok());
  EXPECT_TRUE(due->empty());
  EXPECT_EQ(store_->createTestDelivery(id + 100, now, std::chrono::seconds(20)).status().code(),
            StatusCode::kNotFound);

  auto hooks = store_->listWebhooks();
  ASSERT_TRUE(hooks.ok());
  ASSERT_EQ(hooks->size(), 1u);
  EXPECT_TRUE((*hooks)[0].secret.empty());
  EXPECT_EQ((*hooks)[0].events, std::vector<std::string>{"stale"});

  AuditEntry del = NewAuditEntry("test", "webhook.delete", "webhook:1");
  ASSERT_TRUE(store_->deleteWebhook(id, &del).ok());
  EXPECT_EQ(store_->deleteWebhook(id).code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->listDeliveries(id, 0, 10).status().code(), StatusCode::kNotFound);
  // Its subscriptions went with it: new events queue nothing.
  ASSERT_TRUE(store_->markStale(now + std::chrono::hours(48), std::chrono::hours(24)).ok());
  auto audit_log = store_->listAudit(0, 100);
  ASSERT_TRUE(audit_log.ok());
  std::vector<std::string> actions;
  for (const auto& e : *audit_log) actions.push_back(e.action);
  EXPECT_EQ(actions,
            (std::vector<std::string>{"webhook.create", "webhook.test", "webhook.delete"}));
}

INSTANTIATE_TEST_SUITE_P(Backends, WebhookStoreTest, ::testing::Values("sqlite", "postgresql"));

}  // namespace
}  // namespace hearth::server
