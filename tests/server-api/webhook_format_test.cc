// Webhooks without a network: the signature (against Poco's independent HMAC-SHA256), the Slack
// and Teams bodies (well-formed JSON, person-given strings escaped), the retry schedule, and
// which URLs, secrets and event types a webhook takes.
#include <set>
#include <string>

#include <Poco/HMACEngine.h>
#include <Poco/SHA2Engine.h>
#include <gtest/gtest.h>

#include "hearth/json.h"
#include "hearth/server/webhooks.h"
#include "hearth/time.h"
#include "support/files.h"

namespace hearth::server {
namespace {

TimePoint T(const char* s) { return *parseRfc3339(s); }

class Sha256 : public Poco::SHA2Engine {
 public:
  enum { BLOCK_SIZE = 64, DIGEST_SIZE = 32 };
  Sha256() : Poco::SHA2Engine(SHA_256) {}
};

std::string pocoHmac(const std::string& secret, const std::string& message) {
  Poco::HMACEngine<Sha256> hmac(secret);
  hmac.update(message);
  return Poco::DigestEngine::digestToHex(hmac.digest());
}

json::Value failedEvent(const std::string& hostname, const std::string& owner) {
  json::Value e = json::Value::object();
  e.set("event", "check_failed");
  e.set("cursor", "42");
  e.set("at", "2026-12-07T03:00:00Z");
  e.set("device_id", "dev-1");
  e.set("type", "verdict_changed");
  e.set("check", "vpn");
  e.set("from", "pass");
  e.set("to", "fail");
  e.set("hostname", hostname);
  e.set("owner", owner);
  return e;
}

TEST(WebhookSignatureTest, IsHmacSha256OfTimestampDotBody) {
  std::string body = R"({"event":"check_failed"})";
  std::string secret = "whsec_0123456789abcdef";
  EXPECT_EQ(WebhookSignature(secret, 1765076400, body), pocoHmac(secret, "1765076400." + body));
  // RFC 4231, test case 2, over a message of the same shape.
  EXPECT_EQ(pocoHmac("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_NE(WebhookSignature(secret, 1765076401, body), WebhookSignature(secret, 1765076400, body));
  EXPECT_EQ(WebhookSignature(secret, 1, body).size(), 64u);
}

TEST(WebhookBodyTest, JsonIsTheEventItself) {
  json::Value e = failedEvent("pc-1", "bob");
  auto parsed = json::parse(WebhookBody(WebhookFormat::kJson, e));
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(json::write(*parsed), json::write(e));
}

TEST(WebhookBodyTest, SlackTextEscapesMentionsAndLinks) {
  std::string body =
      WebhookBody(WebhookFormat::kSlack, failedEvent("<!channel> & pc", "\"Bob\" <http://x|y>"));
  auto parsed = json::parse(body);
  ASSERT_TRUE(parsed.ok()) << body;
  ASSERT_TRUE(parsed->find("text") != nullptr && parsed->find("text")->isString());
  std::string text = parsed->find("text")->asString();
  EXPECT_EQ(text,
            "Check failed: &lt;!channel&gt; &amp; pc (\"Bob\" &lt;http://x|y&gt;), check vpn: pass "
            "-> fail");
  EXPECT_EQ(text.find('<'), std::string::npos);
}

TEST(WebhookBodyTest, TeamsIsAnAdaptiveCardWithMarkdownEscaped) {
  std::string body = WebhookBody(WebhookFormat::kTeams, failedEvent("pc_*1*", "[Bob](http://x)"));
  auto parsed = json::parse(body);
  ASSERT_TRUE(parsed.ok()) << body;
  EXPECT_EQ(parsed->find("type")->asString(), "message");
  const json::Value& attachment = parsed->find("attachments")->asArray().at(0);
  EXPECT_EQ(attachment.find("contentType")->asString(), "application/vnd.microsoft.card.adaptive");
  const json::Value* card = attachment.find("content");
  ASSERT_NE(card, nullptr);
  EXPECT_EQ(card->find("type")->asString(), "AdaptiveCard");
  const json::Value& block = card->find("body")->asArray().at(0);
  EXPECT_EQ(block.find("type")->asString(), "TextBlock");
  EXPECT_EQ(block.find("text")->asString(),
            "Check failed: pc\\_\\*1\\* (\\[Bob\\]\\(http://x\\)), check vpn: pass -> fail");
}

TEST(WebhookBodyTest, TestEventHasAFormattedMessageToo) {
  json::Value e = json::Value::object();
  e.set("event", "test");
  e.set("webhook_id", 3);
  auto slack = json::parse(WebhookBody(WebhookFormat::kSlack, e));
  ASSERT_TRUE(slack.ok());
  EXPECT_EQ(slack->find("text")->asString(), "Test delivery from hearth-server");
}

TEST(RetryScheduleTest, DoublesWithJitterUpToTheCapThenGivesUp) {
  TimePoint created = T("2026-12-07T00:00:00Z");
  TimePoint now = created + std::chrono::seconds(1);
  using std::chrono::milliseconds;
  // Attempt n waits base * 2^(n-1), scaled by the jitter in [0.5, 1].
  EXPECT_EQ(*RetrySchedule::next(1, created, now, 1.0) - now, milliseconds(1000));
  EXPECT_EQ(*RetrySchedule::next(1, created, now, 0.5) - now, milliseconds(500));
  EXPECT_EQ(*RetrySchedule::next(2, created, now, 1.0) - now, milliseconds(2000));
  EXPECT_EQ(*RetrySchedule::next(5, created, now, 1.0) - now, milliseconds(16000));
  EXPECT_EQ(*RetrySchedule::next(5, created, now, 0.75) - now, milliseconds(12000));
  // The jitter is kept in its range.
  EXPECT_EQ(*RetrySchedule::next(1, created, now, 7.0) - now, milliseconds(1000));
  EXPECT_EQ(*RetrySchedule::next(1, created, now, 0.0) - now, milliseconds(500));
  // Capped at an hour.
  EXPECT_EQ(*RetrySchedule::next(19, created, now, 1.0) - now,
            std::chrono::duration_cast<milliseconds>(RetrySchedule::kRetryCap));
  // Bounded: by attempts, and by age.
  EXPECT_FALSE(RetrySchedule::next(RetrySchedule::kMaxAttempts, created, now, 1.0));
  EXPECT_FALSE(RetrySchedule::next(1, created, created + RetrySchedule::kMaxAge, 1.0));
  EXPECT_TRUE(RetrySchedule::next(1, created,
                                  created + RetrySchedule::kMaxAge - std::chrono::seconds(1), 1.0));
  // The whole schedule, without jitter: within a day and ended by the attempt bound.
  TimePoint t = created;
  int64_t attempts = 0;
  while (auto next = RetrySchedule::next(++attempts, created, t, 1.0)) t = *next;
  EXPECT_EQ(attempts, RetrySchedule::kMaxAttempts);
  EXPECT_LT(t - created, RetrySchedule::kMaxAge);
}

TEST(WebhookSpecTest, UrlsMustBeHttpsExceptToLoopback) {
  EXPECT_TRUE(ValidateWebhookUrl("https://hooks.example.com/a/b?c=d").ok());
  EXPECT_TRUE(ValidateWebhookUrl("https://10.0.0.5:8443/hook").ok());
  EXPECT_TRUE(ValidateWebhookUrl("http://127.0.0.1:9000/hook").ok());
  EXPECT_TRUE(ValidateWebhookUrl("http://127.1.2.3/hook").ok());
  EXPECT_TRUE(ValidateWebhookUrl("http://[::1]:9000/hook").ok());
  EXPECT_TRUE(ValidateWebhookUrl("http://localhost:9000/").ok());
  for (const char* bad :
       {"http://hooks.example.com/x", "http://10.0.0.5/x", "http://128.0.0.1/x", "http://[::2]/x",
        "http://localhost.example.com/x", "ftp://127.0.0.1/x", "file:///etc/passwd",
        "https://user:pw@example.com/x", "https://example.com/x#f", "https:///nohost",
        "https://example.com/a b", "hooks.example.com"}) {
    EXPECT_FALSE(ValidateWebhookUrl(bad).ok()) << bad;
  }
  EXPECT_NE(ValidateWebhookUrl("http://hooks.example.com/x").message().find("loopback"),
            std::string::npos);
  EXPECT_FALSE(ValidateWebhookUrl("https://example.com/" + std::string(2100, 'a')).ok());
}

TEST(WebhookSpecTest, EndpointHidesPathAndQuery) {
  EXPECT_EQ(WebhookEndpoint("https://hooks.slack.com/services/T0/B0/secret"),
            "https://hooks.slack.com");
  EXPECT_EQ(WebhookEndpoint("http://127.0.0.1:9000/x?token=1"), "http://127.0.0.1:9000");
  EXPECT_EQ(WebhookEndpoint("http://[::1]:9000/x"), "http://[::1]:9000");
}

TEST(WebhookSpecTest, SecretsEventsAndFormats) {
  TimePoint now = T("2026-12-07T00:00:00Z");
  std::string url = "https://example.com/hook", secret = "0123456789abcdef";
  auto ok = NewWebhookSpec(url, secret, {"check_failed", "stale", "check_failed"}, "slack", now);
  ASSERT_TRUE(ok.ok()) << ok.status().toString();
  EXPECT_EQ(ok->events, (std::vector<std::string>{"check_failed", "stale"}));
  EXPECT_EQ(ok->format, WebhookFormat::kSlack);
  auto all = NewWebhookSpec(url, secret, {"all"}, "", now);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->events.size(), std::size(kWebhookEventTypes));
  EXPECT_EQ(all->format, WebhookFormat::kJson);
  EXPECT_FALSE(NewWebhookSpec(url, "short", {"stale"}, "", now).ok());
  EXPECT_FALSE(NewWebhookSpec(url, "0123456789abcde\x01", {"stale"}, "", now).ok());
  EXPECT_FALSE(NewWebhookSpec(url, secret, {}, "", now).ok());
  EXPECT_FALSE(NewWebhookSpec(url, secret, {"verdict_changed"}, "", now).ok());
  EXPECT_FALSE(NewWebhookSpec(url, secret, {"stale"}, "xml", now).ok());
  EXPECT_FALSE(NewWebhookSpec("http://example.com/", secret, {"stale"}, "", now).ok());
  // The JSON shown never holds the URL or the secret.
  std::string shown = json::write(WebhookJson(*ok));
  EXPECT_EQ(shown.find(secret), std::string::npos);
  EXPECT_EQ(shown.find("/hook"), std::string::npos);
  // Every type has a distinct name and a title.
  std::set<std::string> names;
  for (const auto& t : kWebhookEventTypes) {
    EXPECT_TRUE(names.insert(t.name).second) << t.name;
    EXPECT_NE(std::string(t.title), "");
    EXPECT_EQ(FindWebhookEventType(t.name), &t);
  }
}

// Every type a webhook can subscribe to (exemption_expiring among them) is in the OpenAPI
// document's WebhookRequest, and nothing else but "all".
TEST(WebhookSpecTest, TheOpenApiDocumentListsEveryEventTypeAWebhookTakes) {
  auto doc =
      json::parse(testing::ReadFile(std::string(HEARTH_SOURCE_DIR) + "/server-api/openapi.json"),
                  {.max_depth = 64, .max_bytes = 4 << 20});
  ASSERT_TRUE(doc.ok()) << doc.status().toString();
  const json::Value* v = &*doc;
  for (const char* k :
       {"components", "schemas", "WebhookRequest", "properties", "events", "items", "enum"}) {
    v = v->find(k);
    ASSERT_NE(v, nullptr) << k;
  }
  std::set<std::string> documented, known{"all"};
  for (const auto& e : v->asArray()) documented.insert(e.asString());
  for (const auto& t : kWebhookEventTypes) known.insert(t.name);
  EXPECT_EQ(documented, known);
  EXPECT_NE(FindWebhookEventType("exemption_expiring"), nullptr);
}

}  // namespace
}  // namespace hearth::server
