// Webhooks against the real hearth-server and a real HTTPS receiver on loopback that checks each
// delivery's HMAC (support/webhook_receiver.h), on SQLite and (HEARTH_TEST_PG_URI) PostgreSQL:
// a signed check_failed within 5 s of the report in each format; a receiver answering 500 then
// 200, or too slowly, gets the same delivery again; order per webhook across retries, a failing
// webhook holding up only itself; kill -9 right after the report's acknowledgement; the creation
// rules, scopes, audit and the command line.
#include <chrono>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "hearth/json.h"
#include "hearth/protocol/crypto.h"
#include "hearth/time.h"
#include "support/files.h"
#include "support/https_client.h"
#include "support/pg_schema.h"
#include "support/report_body.h"
#include "support/server_process.h"
#include "support/temp_dir.h"
#include "support/webhook_receiver.h"

namespace hearth {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::ReadFile;
using testing::ReceivedDelivery;
using testing::RunProcess;
using testing::ScriptedAnswer;

constexpr const char* kSecret = "whsec_test_0123456789abcdef";

struct Http {
  int status = 0;
  json::Value body;
};

json::Value parsed(const std::string& text) {
  auto v = json::parse(text);
  return v.ok() ? *v : json::Value();
}

std::string str(const json::Value& o, const char* key) {
  const json::Value* v = o.isObject() ? o.find(key) : nullptr;
  return v != nullptr && v->isString() ? v->asString() : "";
}

class WebhookDeliveryTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "postgresql") {
      pg_ = std::make_unique<testing::PostgresSchema>("webhook");
      if (pg_->uri().empty()) GTEST_SKIP() << "HEARTH_TEST_PG_URI not set: no PostgreSQL server";
      database_ = pg_->uri();
    }
    receiver_ = std::make_unique<testing::WebhookReceiver>(dir_.path(), kSecret);
    server_ = std::make_unique<testing::TestServer>(dir_.path() + "/state", database_);
    auto r = server_->init();
    ASSERT_EQ(r.exit_code, 0) << r.err;
    start();
  }

  void start(const std::vector<std::string>& more = {}) {
    std::string log = dir_.path() + "/server" + std::to_string(++starts_) + ".log";
    std::vector<std::string> extra = {"--webhook-ca-file", receiver_->caFile(), "--webhook-timeout",
                                      "2"};
    extra.insert(extra.end(), more.begin(), more.end());
    ASSERT_TRUE(server_->serve(log, {.extra = extra})) << ReadFile(log);
  }

  Http admin(const std::string& method, const std::string& path, const std::string& body = "",
             const std::string& token = "") {
    std::vector<std::string> argv = {
        "/usr/bin/curl",
        "-sS",
        "--max-time",
        "20",
        "--cacert",
        server_->caFile(),
        "-X",
        method,
        "-o",
        dir_.path() + "/answer",
        "-w",
        "%{http_code}",
        "-H",
        "Authorization: Bearer " + (token.empty() ? server_->adminToken() : token)};
    if (!body.empty()) {
      argv.insert(argv.end(), {"-H", "Content-Type: application/json", "--data-binary", body});
    }
    argv.push_back("https://" + server_->address("admin") + path);
    auto r = RunProcess(argv);
    return {std::atoi(r.out.c_str()), parsed(ReadFile(dir_.path() + "/answer"))};
  }

  // Reports a failing disk_encryption and kills the server -9 right after the acknowledgement,
  // with the first delivery attempt under way answered late (lost with the server); starts it
  // again and waits until a delivery of `event` that arrived after the restart was answered 200.
  void failKillNineAndRestart(const std::string& event) {
    receiver_->script({{.status = 200, .delay = milliseconds(3000)}});
    ASSERT_EQ(report("fail"), 202);
    server_->kill9();
    auto restarted = std::chrono::system_clock::now();
    start();
    ASSERT_TRUE(testing::PollUntil(
        [&] {
          for (const auto& d : receiver_->received()) {
            if (d.at >= restarted && d.answered == 200 && !d.delivery_id.empty() &&
                str(parsed(d.body), "event") == event) {
              return true;
            }
          }
          return false;
        },
        seconds(40), milliseconds(100)))
        << "no " << event << " delivered after the restart";
  }

  // A webhook to the receiver's `path`; its id.
  std::string addWebhook(const std::string& path, const std::string& events,
                         const std::string& format = "json") {
    Http h = admin("POST", "/api/v1/webhooks",
                   R"({"url":")" + receiver_->url(path) + R"(","secret":")" + kSecret +
                       R"(","events":)" + events + R"(,"format":")" + format + R"("})");
    EXPECT_EQ(h.status, 201) << json::write(h.body);
    const json::Value* id = h.body.isObject() ? h.body.find("webhook_id") : nullptr;
    return id != nullptr && id->isInt() ? std::to_string(id->asInt()) : "";
  }

  void enrol(const std::string& hostname) {
    auto d = testing::EnrolDevice("https://" + server_->address("devices"), server_->caFile(),
                                  server_->enrollSecret(), hostname);
    ASSERT_TRUE(d.ok()) << d.error;
    key_ = dir_.write("device.key", d.key_pem);
    cert_ = dir_.write("device.pem", d.cert_pem);
  }

  // Sends the next report with disk_encryption `verdict` (pass or fail); the HTTP status.
  long report(const std::string& verdict) {
    std::string body = testing::MinimalReportBody(*protocol::RandomUuid(), ++sequence_);
    if (verdict == "pass") {
      body.replace(body.find(R"("verdict":"fail")"), 16, R"("verdict":"pass")");
      body.replace(body.find(R"("compliant":false)"), 17, R"("compliant":true)");
    }
    testing::HttpsClient client(
        {.ca_file = server_->caFile(), .cert_file = cert_, .key_file = key_});
    auto reply =
        client.postJson("https://" + server_->address("devices") + "/api/v1/reports", body);
    return reply.completed() ? reply.status : 0;
  }

  // The webhook's delivery log (newest first) once `done` holds for it, or at the deadline.
  json::Value deliveriesWhen(const std::string& id,
                             const std::function<bool(const json::Value&)>& done) {
    json::Value last;
    testing::PollUntil(
        [&] {
          Http h = admin("GET", "/api/v1/webhooks/" + id + "/deliveries");
          last = h.body;
          const json::Value* list = h.status == 200 ? last.find("deliveries") : nullptr;
          return list != nullptr && done(*list);
        },
        seconds(30), milliseconds(200));
    return last.isObject() && last.find("deliveries") != nullptr ? *last.find("deliveries")
                                                                 : json::Value::array();
  }

  testing::TempDir dir_;
  std::unique_ptr<testing::PostgresSchema> pg_;
  std::string database_;
  std::unique_ptr<testing::WebhookReceiver> receiver_;
  std::unique_ptr<testing::TestServer> server_;
  std::string key_, cert_;
  int64_t sequence_ = 0;
  int starts_ = 0;
};

TEST_P(WebhookDeliveryTest, SignedCheckFailedArrivesWithinFiveSecondsInEachFormat) {
  std::string json_id = addWebhook("/json", R"(["check_failed"])");
  addWebhook("/slack", R"(["check_failed","check_fixed"])", "slack");
  addWebhook("/teams", R"(["all"])", "teams");
  enrol("pc-1 <Bob's> *laptop*");
  receiver_->script({});
  auto sent = std::chrono::system_clock::now();
  ASSERT_EQ(report("fail"), 202);
  // The teams webhook (all types) also gets the enrolment before its check_failed and the
  // device_noncompliant after it (in order per webhook): five deliveries, three check_failed.
  ASSERT_TRUE(receiver_->waitFor(5, seconds(10)));
  std::map<std::string, ReceivedDelivery> by_path;
  for (const auto& d : receiver_->received()) {
    EXPECT_TRUE(d.signature_ok) << d.signature << " " << d.body;
    EXPECT_EQ(d.content_type, "application/json");
    if (d.body.find("enrolled") != std::string::npos) continue;  // the teams webhook's first
    by_path.emplace(d.path, d);  // each webhook's first after it: its check_failed
  }
  ASSERT_EQ(by_path.size(), 3u);
  for (const auto& [path, d] : by_path) {
    EXPECT_LT(d.at - sent, seconds(5)) << path;
    EXPECT_FALSE(d.delivery_id.empty());
    int64_t signed_at = std::atoll(d.timestamp.c_str());
    int64_t arrived = std::chrono::duration_cast<seconds>(d.at.time_since_epoch()).count();
    EXPECT_LE(std::abs(arrived - signed_at), 5);
  }
  json::Value event = parsed(by_path["/json"].body);
  EXPECT_EQ(str(event, "event"), "check_failed");
  EXPECT_EQ(str(event, "type"), "verdict_changed");
  EXPECT_EQ(str(event, "check"), "disk_encryption");
  EXPECT_EQ(str(event, "to"), "fail");
  EXPECT_EQ(str(event, "hostname"), "pc-1 <Bob's> *laptop*");
  EXPECT_FALSE(str(event, "device_id").empty());
  EXPECT_FALSE(str(event, "cursor").empty());
  // The feed holds the same event under the same cursor.
  Http feed = admin("GET", "/api/v1/feed");
  EXPECT_NE(json::write(feed.body).find("\"cursor\":\"" + str(event, "cursor") + "\""),
            std::string::npos);

  json::Value slack = parsed(by_path["/slack"].body);
  EXPECT_EQ(str(slack, "text"),
            "Check failed: pc-1 &lt;Bob's&gt; *laptop*, check disk_encryption: none -> fail");
  json::Value teams = parsed(by_path["/teams"].body);
  ASSERT_TRUE(teams.isObject()) << by_path["/teams"].body;
  EXPECT_EQ(str(teams, "type"), "message");
  const json::Value& attachment = teams.find("attachments")->asArray().at(0);
  EXPECT_EQ(str(attachment, "contentType"), "application/vnd.microsoft.card.adaptive");
  const json::Value& block = attachment.find("content")->find("body")->asArray().at(0);
  EXPECT_EQ(str(block, "text"),
            "Check failed: pc\\-1 \\<Bob's\\> \\*laptop\\*, check disk\\_encryption: none -> "
            "fail");

  auto log = deliveriesWhen(json_id, [](const json::Value& l) {
    return l.asArray().size() == 1 && str(l.asArray()[0], "status") == "delivered";
  });
  ASSERT_EQ(log.asArray().size(), 1u);
  EXPECT_EQ(str(log.asArray()[0], "delivery_id"), by_path["/json"].delivery_id);
}

// A certificate that nears its end without a renewal: one signed certificate_expiring delivery,
// from the maintenance pass that runs when serve starts (and every minute), once per certificate.
TEST_P(WebhookDeliveryTest, ACertificateNearItsEndIsAnnouncedOnce) {
  const std::vector<std::string> short_certs = {"--device-cert-days", "20",
                                                "--cert-expiry-warn-days", "30"};
  addWebhook("/certs", R"(["certificate_expiring"])");
  server_->stop();
  start(short_certs);
  enrol("pc-away");  // a certificate for 20 days: within the 30-day warning at once
  server_->stop();
  start(short_certs);
  ASSERT_TRUE(receiver_->waitFor(1, seconds(10)));
  auto got = receiver_->received();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(got[0].signature_ok);
  json::Value event = parsed(got[0].body);
  EXPECT_EQ(str(event, "event"), "certificate_expiring");
  EXPECT_EQ(str(event, "type"), "certificate_expiring");
  EXPECT_EQ(str(event, "hostname"), "pc-away");
  EXPECT_FALSE(str(event, "serial").empty());
  ASSERT_NE(event.find("days_left"), nullptr);
  EXPECT_GE(event.find("days_left")->asInt(), 19);
  EXPECT_LE(event.find("days_left")->asInt(), 20);
  auto not_after = parseRfc3339(str(event, "not_after"));
  ASSERT_TRUE(not_after.ok()) << got[0].body;
  EXPECT_LT(*not_after - std::chrono::system_clock::now(), std::chrono::hours(24 * 21));
  // Another start (another pass) raises nothing more for the same certificate.
  server_->stop();
  start(short_certs);
  Http feed = admin("GET", "/api/v1/feed");
  size_t raised = 0;
  for (const auto& e : feed.body.find("events")->asArray()) {
    raised += str(e, "type") == "certificate_expiring" ? 1 : 0;
  }
  EXPECT_EQ(raised, 1u);  // a delivery is made only with an event
}

TEST_P(WebhookDeliveryTest, A500ThenA200DeliversTheSameDeliveryAgain) {
  std::string id = addWebhook("/hook", R"(["check_failed"])");
  enrol("pc-2");
  receiver_->script({{.status = 500}, {.status = 200}});
  ASSERT_EQ(report("fail"), 202);
  ASSERT_TRUE(receiver_->waitFor(2, seconds(15)));
  auto got = receiver_->received();
  ASSERT_EQ(got[0].answered, 500);
  ASSERT_EQ(got[1].answered, 200);
  EXPECT_EQ(got[0].delivery_id, got[1].delivery_id);
  EXPECT_EQ(got[0].body, got[1].body);
  EXPECT_TRUE(got[0].signature_ok && got[1].signature_ok);
  auto log = deliveriesWhen(id, [](const json::Value& l) {
    return !l.asArray().empty() && str(l.asArray()[0], "status") == "delivered";
  });
  ASSERT_EQ(log.asArray().size(), 1u);
  EXPECT_EQ(log.asArray()[0].find("attempts")->asInt(), 2);
  EXPECT_EQ(log.asArray()[0].find("last_http_status")->asInt(), 200);
  // Delivered once more, not again.
  std::this_thread::sleep_for(seconds(2));
  EXPECT_EQ(receiver_->received().size(), 2u);
}

TEST_P(WebhookDeliveryTest, ASlowReceiverTimesOutAndGetsTheSameDeliveryAgain) {
  std::string id = addWebhook("/hook", R"(["check_failed"])");
  enrol("pc-3");
  // Longer than --webhook-timeout 2.
  receiver_->script({{.status = 200, .delay = milliseconds(4000)}});
  ASSERT_EQ(report("fail"), 202);
  ASSERT_TRUE(receiver_->waitFor(2, seconds(20)));
  auto got = receiver_->received();
  EXPECT_EQ(got[0].delivery_id, got[1].delivery_id);
  EXPECT_GE(got[1].at - got[0].at, seconds(2));
  auto log = deliveriesWhen(id, [](const json::Value& l) {
    return !l.asArray().empty() && str(l.asArray()[0], "status") == "delivered";
  });
  ASSERT_EQ(log.asArray().size(), 1u);
  EXPECT_GE(log.asArray()[0].find("attempts")->asInt(), 2);
}

TEST_P(WebhookDeliveryTest, OrderPerWebhookHoldsAcrossRetriesAndAFailingOneHoldsUpOnlyItself) {
  testing::WebhookReceiver other(dir_.path(), kSecret, receiver_.get());
  std::string id = addWebhook("/hook", R"(["check_failed","check_fixed"])");
  Http h = admin("POST", "/api/v1/webhooks",
                 R"({"url":")" + other.url() + R"(","secret":")" + kSecret +
                     R"(","events":["check_failed","check_fixed"]})");
  ASSERT_EQ(h.status, 201);
  enrol("pc-4");
  // The first webhook's receiver fails four times (about 7.5 s or more of backoff).
  receiver_->script({{.status = 500}, {.status = 503}, {.status = 500}, {.status = 502}});
  ASSERT_EQ(report("fail"), 202);
  ASSERT_EQ(report("pass"), 202);
  ASSERT_EQ(report("fail"), 202);
  // The other webhook gets all three meanwhile, in order.
  ASSERT_TRUE(other.waitFor(3, seconds(10)));
  auto quick = other.received();
  std::vector<std::string> events;
  for (const auto& d : quick) events.push_back(str(parsed(d.body), "event"));
  EXPECT_EQ(events, (std::vector<std::string>{"check_failed", "check_fixed", "check_failed"}));
  for (const auto& d : receiver_->received()) EXPECT_NE(d.answered, 200);

  ASSERT_TRUE(receiver_->waitFor(7, seconds(40)));
  auto got = receiver_->received();
  // Never a later delivery before an earlier one was answered 200.
  std::vector<std::string> delivered_events;
  int64_t highest = 0;
  for (const auto& d : got) {
    int64_t n = std::atoll(d.delivery_id.c_str());
    EXPECT_GE(n, highest) << "delivery " << n << " after " << highest;
    highest = std::max(highest, n);
    EXPECT_TRUE(d.signature_ok);
    if (d.answered == 200) delivered_events.push_back(str(parsed(d.body), "event"));
  }
  EXPECT_EQ(got[0].delivery_id, got[4].delivery_id);  // four failures, then the same one
  EXPECT_EQ(delivered_events,
            (std::vector<std::string>{"check_failed", "check_fixed", "check_failed"}));
  auto log = deliveriesWhen(id, [](const json::Value& l) {
    for (const auto& d : l.asArray()) {
      if (str(d, "status") != "delivered") return false;
    }
    return l.asArray().size() == 3;
  });
  ASSERT_EQ(log.asArray().size(), 3u);
  EXPECT_EQ(log.asArray()[2].find("attempts")->asInt(), 5);
}

TEST_P(WebhookDeliveryTest, KilledNineRightAfterTheAcknowledgementTheEventIsStillDelivered) {
  std::string id = addWebhook("/hook", R"(["check_failed"])");
  enrol("pc-5");
  ASSERT_NO_FATAL_FAILURE(failKillNineAndRestart("check_failed"));
  std::set<std::string> ids;
  for (const auto& d : receiver_->received()) {
    EXPECT_TRUE(d.signature_ok);
    EXPECT_EQ(str(parsed(d.body), "event"), "check_failed");
    ids.insert(d.delivery_id);
  }
  EXPECT_EQ(ids.size(), 1u);  // at least once, and a repeat under the same id
  auto log = deliveriesWhen(id, [](const json::Value& l) {
    return l.asArray().size() == 1 && str(l.asArray()[0], "status") == "delivered";
  });
  ASSERT_EQ(log.asArray().size(), 1u);
  EXPECT_EQ(str(log.asArray()[0], "delivery_id"), *ids.begin());
}

TEST_P(WebhookDeliveryTest, CreationRulesScopesAuditTestAndTheCommandLine) {
  std::string secret = std::string(R"(","secret":")") + kSecret;
  Http plain = admin("POST", "/api/v1/webhooks",
                     R"({"url":"http://hooks.example.com/x)" + secret + R"(","events":["stale"]})");
  EXPECT_EQ(plain.status, 400);
  EXPECT_NE(str(plain.body, "error").find("loopback"), std::string::npos);
  EXPECT_EQ(admin("POST", "/api/v1/webhooks",
                  R"({"url":"https://x.example/h)" + secret + R"(","events":["nope"]})")
                .status,
            400);
  EXPECT_EQ(admin("POST", "/api/v1/webhooks",
                  R"({"url":"https://x.example/h","secret":"short","events":["stale"]})")
                .status,
            400);
  Http loop = admin("POST", "/api/v1/webhooks",
                    R"({"url":"http://127.0.0.1:9/path-secret)" + secret +
                        R"(","events":["stale"],"format":"slack"})");
  ASSERT_EQ(loop.status, 201) << json::write(loop.body);
  std::string loop_id = std::to_string(loop.body.find("webhook_id")->asInt());

  // A read token reads, never writes.
  auto reader = server_->cli({"token", "create", "--name", "reader", "--scope", "read"});
  ASSERT_EQ(reader.exit_code, 0) << reader.err;
  std::string read_token = testing::Trimmed(reader.out);
  EXPECT_EQ(
      admin("POST", "/api/v1/webhooks",
            R"({"url":"https://x.example/h)" + secret + R"(","events":["stale"]})", read_token)
          .status,
      403);
  EXPECT_EQ(admin("DELETE", "/api/v1/webhooks/" + loop_id, "", read_token).status, 403);
  EXPECT_EQ(admin("POST", "/api/v1/webhooks/" + loop_id + "/test", "", read_token).status, 403);
  Http list = admin("GET", "/api/v1/webhooks", "", read_token);
  ASSERT_EQ(list.status, 200);
  std::string listed = json::write(list.body);
  EXPECT_EQ(listed.find(kSecret), std::string::npos);
  EXPECT_EQ(listed.find("path-secret"), std::string::npos);
  EXPECT_NE(listed.find("http://127.0.0.1:9"), std::string::npos);

  // The API's test: sent now, signed, its outcome answered and logged.
  std::string id = addWebhook("/api-test", R"(["stale"])");
  Http test = admin("POST", "/api/v1/webhooks/" + id + "/test");
  ASSERT_EQ(test.status, 200) << json::write(test.body);
  EXPECT_TRUE(test.body.find("delivered")->asBool());
  ASSERT_TRUE(receiver_->waitFor(1, seconds(5)));
  ReceivedDelivery first = receiver_->received()[0];
  EXPECT_TRUE(first.signature_ok);
  EXPECT_EQ(str(parsed(first.body), "event"), "test");
  EXPECT_EQ(first.delivery_id, str(test.body, "delivery_id"));
  Http unreachable = admin("POST", "/api/v1/webhooks/" + loop_id + "/test");
  ASSERT_EQ(unreachable.status, 200);
  EXPECT_FALSE(unreachable.body.find("delivered")->asBool());
  EXPECT_FALSE(str(unreachable.body, "error").empty());

  EXPECT_EQ(admin("DELETE", "/api/v1/webhooks/" + loop_id).status, 200);
  EXPECT_EQ(admin("GET", "/api/v1/webhooks/" + loop_id).status, 404);
  EXPECT_EQ(admin("GET", "/api/v1/webhooks/" + loop_id + "/deliveries").status, 404);

  // The command line: add (secret from a file), list, test, deliveries, remove.
  std::string secret_file = dir_.write("secret", std::string(kSecret) + "\n");
  auto add =
      server_->cli({"webhook", "add", "--url", receiver_->url("/cli"), "--events",
                    "check_failed,stale", "--format", "teams", "--secret-file", secret_file});
  ASSERT_EQ(add.exit_code, 0) << add.err;
  EXPECT_EQ(add.out, "");  // the given secret is not printed
  auto cli_list = server_->cli({"webhook", "list", "--json"});
  ASSERT_EQ(cli_list.exit_code, 0) << cli_list.err;
  EXPECT_EQ(cli_list.out.find(kSecret), std::string::npos);
  json::Value hooks = *parsed(cli_list.out).find("webhooks");
  std::string cli_id = std::to_string(hooks.asArray().back().find("webhook_id")->asInt());
  EXPECT_EQ(str(hooks.asArray().back(), "format"), "teams");
  auto cli_test =
      server_->cli({"webhook", "test", cli_id, "--webhook-ca-file", receiver_->caFile()});
  EXPECT_EQ(cli_test.exit_code, 0) << cli_test.out << cli_test.err;
  ASSERT_TRUE(receiver_->waitFor(2, seconds(5)));
  ReceivedDelivery second = receiver_->received()[1];
  EXPECT_EQ(second.path, "/cli");
  EXPECT_TRUE(second.signature_ok);
  EXPECT_EQ(str(parsed(second.body), "type"), "message");  // the Teams format
  auto cli_log = server_->cli({"webhook", "deliveries", cli_id, "--json"});
  ASSERT_EQ(cli_log.exit_code, 0) << cli_log.err;
  json::Value entries = *parsed(cli_log.out).find("deliveries");
  ASSERT_EQ(entries.asArray().size(), 1u);
  EXPECT_EQ(str(entries.asArray()[0], "status"), "delivered");
  EXPECT_EQ(str(entries.asArray()[0], "event"), "test");
  // Without a secret file a secret is made and printed once.
  auto made = server_->cli({"webhook", "add", "--url", "https://x.example/h", "--events", "all"});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  EXPECT_TRUE(made.out.starts_with("whsec_"));
  EXPECT_EQ(
      server_->cli({"webhook", "add", "--url", "http://x.example/h", "--events", "all"}).exit_code,
      2);
  EXPECT_EQ(server_->cli({"webhook", "remove", cli_id}).exit_code, 0);
  EXPECT_EQ(server_->cli({"webhook", "remove", cli_id}).exit_code, 2);

  // Every write is in the audit log, with who did it; never the secret or the URL's path.
  Http audit = admin("GET", "/api/v1/audit");
  std::string audited = json::write(audit.body);
  EXPECT_EQ(audited.find(kSecret), std::string::npos);
  EXPECT_EQ(audited.find("path-secret"), std::string::npos);
  std::vector<std::string> actions;
  for (const auto& e : audit.body.find("entries")->asArray()) {
    std::string action = str(e, "action");
    if (!action.starts_with("webhook.")) continue;
    bool cli = str(e, "actor").starts_with("cli:");
    actions.push_back(action + (cli ? " cli" : " api"));
  }
  EXPECT_EQ(actions, (std::vector<std::string>{
                         "webhook.create api", "webhook.create api", "webhook.test api",
                         "webhook.test api", "webhook.delete api", "webhook.create cli",
                         "webhook.test cli", "webhook.create cli", "webhook.delete cli"}));
}

// Issue 14 acceptance: the device event reaches a webhook signed within 5 s of the report that
// made the device non-compliant, with the device's hostname and owner; and it still arrives when
// the server is killed -9 right after acknowledging that report.
TEST_P(WebhookDeliveryTest, DeviceNoncompliantArrivesSignedWithinFiveSecondsAndAfterAKillNine) {
  std::string id = addWebhook("/device", R"(["device_noncompliant","device_compliant"])");
  enrol("pc-6");
  auto sent = std::chrono::system_clock::now();
  ASSERT_EQ(report("fail"), 202);
  ASSERT_TRUE(receiver_->waitFor(1, seconds(5))) << "no delivery within 5 s of the report";
  auto first = receiver_->received()[0];
  EXPECT_LE(first.at - sent, seconds(5));
  EXPECT_TRUE(first.signature_ok);
  json::Value event = parsed(first.body);
  EXPECT_EQ(str(event, "event"), "device_noncompliant");
  EXPECT_EQ(str(event, "type"), "device_noncompliant");
  EXPECT_EQ(str(event, "hostname"), "pc-6");
  ASSERT_NE(event.find("owner"), nullptr);

  // Compliant again (device_compliant), then non-compliant again and killed right after the
  // acknowledgement, with the first attempt under way answered late.
  ASSERT_EQ(report("pass"), 202);
  ASSERT_TRUE(receiver_->waitFor(2, seconds(5)));
  EXPECT_EQ(str(parsed(receiver_->received()[1].body), "event"), "device_compliant");
  ASSERT_NO_FATAL_FAILURE(failKillNineAndRestart("device_noncompliant"));
  std::set<std::string> noncompliant_ids;
  for (const auto& d : receiver_->received()) {
    EXPECT_TRUE(d.signature_ok);
    if (str(parsed(d.body), "event") == "device_noncompliant")
      noncompliant_ids.insert(d.delivery_id);
  }
  EXPECT_EQ(noncompliant_ids.size(),
            2u);  // the first and the one across the kill (repeats: same id)
  auto log = deliveriesWhen(id, [](const json::Value& l) {
    for (const auto& d : l.asArray()) {
      if (str(d, "status") != "delivered") return false;
    }
    return l.asArray().size() == 3;
  });
  EXPECT_EQ(log.asArray().size(), 3u);
}

INSTANTIATE_TEST_SUITE_P(Backends, WebhookDeliveryTest, ::testing::Values("sqlite", "postgresql"));

}  // namespace
}  // namespace hearth
