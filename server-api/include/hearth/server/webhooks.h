// Webhooks: IT's alerts pushed to where it works (issue 14, item 4). A webhook is a URL, a
// secret that signs every delivery, the event types it wants and a body format (generic JSON,
// Slack, Microsoft Teams). The store writes a delivery (the outbox row) in the same transaction
// as the feed event that causes it; `serve` delivers them (webhook_worker.h), retried with
// exponential backoff and jitter, in order per webhook, at least once, each with its id in
// X-Hearth-Delivery (the same on a repeat). See docs/server.md, "Webhooks".
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hearth/json.h"
#include "hearth/status.h"
#include "hearth/time.h"

namespace hearth::server {

using TimePoint = std::chrono::system_clock::time_point;  // as store.h

// An event type a webhook can subscribe to. A feed event of type T is delivered as T, except
// `verdict_changed`, delivered as `check_failed` (to fail) or `check_fixed` (fail to pass) and
// otherwise not at all (the outbox trigger of migration 8 maps it). A feed type added later is
// one line in kWebhookEventTypes, nothing else.
struct WebhookEventType {
  const char* name;
  const char* title;  // for people: the Slack and Teams messages' first words
};
inline constexpr WebhookEventType kWebhookEventTypes[] = {
    {"check_failed", "Check failed"},
    {"check_fixed", "Check fixed"},
    {"stale", "Device stale"},
    {"enrolled", "Device enrolled"},
    {"pending", "Device awaits approval"},
    {"approved", "Device approved"},
    {"rejected", "Device rejected"},
    {"retired", "Device retired"},
    {"renewed", "Device certificate renewed"},
    {"enrolment_spike", "Enrolment spike"},
    {"duplicate_machine_id", "Duplicate machine id"},
    {"certificate_expiring", "Device certificate expiring"},
    {"device_noncompliant", "Device non-compliant"},
    {"device_compliant", "Device compliant again"},
    {"exemption_expiring", "Exemption expiring"},
    {"exemption_expired", "Exemption expired"},
};
// The type, or nullptr when no webhook can subscribe to `name`.
const WebhookEventType* FindWebhookEventType(std::string_view name);

enum class WebhookFormat { kJson, kSlack, kTeams };
std::optional<WebhookFormat> ParseWebhookFormat(std::string_view name);
const char* WebhookFormatName(WebhookFormat f);

struct WebhookRecord {
  int64_t id = 0;
  std::string url;     // never shown: it may carry a credential (Slack, Teams); see endpoint
  std::string secret;  // signs deliveries; never shown, never logged, never returned
  WebhookFormat format = WebhookFormat::kJson;
  std::vector<std::string> events;
  TimePoint created_at;
};

// What a webhook shows of its URL: scheme://host[:port] (its path and query may be a credential).
std::string WebhookEndpoint(const std::string& url);

// A URL a webhook may use: https://, or http:// to a loopback address (127.0.0.0/8, [::1],
// localhost); at most 2048 bytes, no user information, no fragment. InvalidArgument says why.
Status ValidateWebhookUrl(const std::string& url);
// A webhook secret: 16 to 256 printable ASCII characters. InvalidArgument says why.
Status ValidateWebhookSecret(const std::string& secret);

// A new webhook from what IT gave: the URL (ValidateWebhookUrl), the secret
// (ValidateWebhookSecret), the event types (known ones, at least one, no repeats; "all" is every
// type known now) and the format name ("" = json). InvalidArgument says which field is wrong.
StatusOr<WebhookRecord> NewWebhookSpec(const std::string& url, const std::string& secret,
                                       const std::vector<std::string>& events,
                                       const std::string& format, TimePoint now);

// {"webhook_id","endpoint","events","format","created_at"}: never the URL, never the secret.
json::Value WebhookJson(const WebhookRecord& w);

// A delivery (an outbox row; the rows are the delivery log).
struct WebhookDelivery {
  int64_t id = 0;  // X-Hearth-Delivery
  int64_t webhook_id = 0;
  std::string event;                    // the webhook event type, or "test"
  std::optional<int64_t> event_cursor;  // the feed event's cursor (none for a test)
  std::string status;                   // pending | delivered | failed
  int64_t attempts = 0;
  TimePoint created_at;
  TimePoint next_at;
  std::optional<TimePoint> last_attempt_at;
  std::optional<int64_t> last_http_status;
  std::optional<std::string> last_error;
  std::optional<TimePoint> finished_at;
};

// {"delivery_id","webhook_id","event","cursor","status","attempts","created_at","next_at",
// "last_attempt_at","last_http_status","last_error","finished_at"}.
json::Value WebhookDeliveryJson(const WebhookDelivery& d);

// A delivery claimed for sending: the row, its webhook and the event to send (the feed event as
// FeedEventJson with "event", "hostname" and "owner"; for a test: {"event":"test",...}).
struct DueDelivery {
  WebhookDelivery delivery;
  WebhookRecord webhook;
  json::Value event;
};

// The outcome of one attempt, recorded on the delivery.
struct DeliveryAttempt {
  TimePoint at;
  bool delivered = false;
  std::optional<int64_t> http_status;
  std::optional<std::string> error;  // for the log: curl's words or "HTTP 500", no secrets
  // When not delivered: when to try again, or nullopt to give up (status failed).
  std::optional<TimePoint> retry_at;
};

// HMAC-SHA256(secret, TIMESTAMP + "." + BODY) as lower-case hex (X-Hearth-Signature: sha256=HEX).
std::string WebhookSignature(const std::string& secret, int64_t timestamp, std::string_view body);

// The request body of `event` in `format`: the event itself (kJson); {"text": ...} with the
// person-given strings escaped for Slack's mrkdwn (kSlack); an Adaptive Card message with them
// escaped for its Markdown (kTeams).
std::string WebhookBody(WebhookFormat format, const json::Value& event);

// The retry schedule: after the `attempts`-th failed attempt (1, 2, ...) of a delivery created
// at `created_at`, the next try is kRetryBase * 2^(attempts-1) (at most kRetryCap) from `now`,
// scaled by `jitter` (from [0.5, 1.0], a random draw); nullopt (give up: failed) once
// kMaxAttempts attempts were made or the delivery is older than kMaxAge.
struct RetrySchedule {
  static constexpr std::chrono::milliseconds kRetryBase{1000};
  static constexpr std::chrono::seconds kRetryCap{3600};
  static constexpr int64_t kMaxAttempts = 20;
  static constexpr std::chrono::hours kMaxAge{24};
  static std::optional<TimePoint> next(int64_t attempts, TimePoint created_at, TimePoint now,
                                       double jitter);
};

// How deliveries are sent.
struct WebhookSenderOptions {
  std::chrono::seconds timeout{10};  // the whole request; connecting: at most 5 s of it
  std::string extra_ca_file;         // a CA bundle trusted beside the system's (an internal CA)
  static constexpr size_t kMaxResponseBytes = 64 * 1024;  // the rest of an answer is not read
};

// Sends deliveries to receivers over connections it keeps open between them (HTTP keep-alive,
// TLS session reuse: one receiver's run of deliveries costs one handshake). One delivery at a
// time: not for concurrent use; a different object per thread.
class WebhookClient {
 public:
  explicit WebhookClient(WebhookSenderOptions options);
  ~WebhookClient();
  WebhookClient(const WebhookClient&) = delete;
  WebhookClient& operator=(const WebhookClient&) = delete;

  // One POST of `body` to `url` with the three X-Hearth headers (TLS 1.2 or later, the peer and
  // its name verified, no redirects followed). The outcome without retry_at.
  DeliveryAttempt send(const std::string& url, const std::string& secret, int64_t delivery_id,
                       const std::string& body);

 private:
  WebhookSenderOptions options_;
  void* curl_ = nullptr;  // CURL*, made at the first send
};

}  // namespace hearth::server
