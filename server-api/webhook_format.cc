// What a webhook delivery is made of: the event types, the formats and their bodies (person-given
// strings escaped for each), the URL and secret rules, the signature, the retry schedule, and a
// delivery as the API shows it.
#include <algorithm>
#include <cmath>
#include <string>
#include <sys/socket.h>

#include <Poco/Exception.h>
#include <Poco/URI.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "hearth/ip_address.h"
#include "hearth/server/webhooks.h"

namespace hearth::server {

namespace {

std::string stringField(const json::Value& event, const char* name) {
  const json::Value* v = event.isObject() ? event.find(name) : nullptr;
  return v != nullptr && v->isString() ? v->asString() : "";
}

// Slack's mrkdwn: &, < and > are its control characters ("<!channel>", "<url|text>"); escaped,
// a hostname or owner is shown as typed and cannot mention or link.
std::string slackEscape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '&') {
      out += "&amp;";
    } else if (c == '<') {
      out += "&lt;";
    } else if (c == '>') {
      out += "&gt;";
    } else {
      out += c;
    }
  }
  return out;
}

// An Adaptive Card TextBlock's Markdown: each character that could start emphasis, a link, a
// list or a heading is escaped with a backslash.
std::string teamsEscape(const std::string& s) {
  static constexpr std::string_view kSpecial = "\\`*_{}[]()#+-.!<>|~";
  std::string out;
  for (char c : s) {
    if (kSpecial.find(c) != std::string_view::npos) out += '\\';
    out += c;
  }
  return out;
}

// The message's words, each person-given or stored part passed through `esc`: "Check failed:
// HOST (OWNER), check vpn: pass -> fail".
template <typename Escape>
std::string summary(const json::Value& event, Escape esc) {
  std::string name = stringField(event, "event");
  const WebhookEventType* type = FindWebhookEventType(name);
  std::string text = type != nullptr ? type->title : (name == "test" ? "Test delivery" : name);
  if (name == "test") return text + " from hearth-server";
  std::string host = stringField(event, "hostname");
  text += ": " + esc(host.empty() ? stringField(event, "device_id") : host);
  if (std::string owner = stringField(event, "owner"); !owner.empty()) {
    text += " (" + esc(owner) + ")";
  }
  if (std::string check = stringField(event, "check"); !check.empty()) {
    text += ", check " + esc(check);
    std::string from = stringField(event, "from"), to = stringField(event, "to");
    if (!to.empty()) text += ": " + esc(from.empty() ? "none" : from) + " -> " + esc(to);
  }
  if (std::string until = stringField(event, "not_after"); !until.empty()) {
    text += ", expires " + esc(until.substr(0, 10)) + " (not renewed)";
  }
  return text;
}

bool isLoopbackHost(std::string host) {
  if (host == "localhost") return true;
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  auto ip = IpAddress::parse(host);
  if (!ip.ok()) return false;
  if (ip->family == AF_INET) return ip->bytes[0] == 127;
  IpAddress one = *IpAddress::parse("::1");
  return *ip == one;
}

}  // namespace

const WebhookEventType* FindWebhookEventType(std::string_view name) {
  for (const auto& t : kWebhookEventTypes) {
    if (name == t.name) return &t;
  }
  return nullptr;
}

std::optional<WebhookFormat> ParseWebhookFormat(std::string_view name) {
  if (name == "json") return WebhookFormat::kJson;
  if (name == "slack") return WebhookFormat::kSlack;
  if (name == "teams") return WebhookFormat::kTeams;
  return std::nullopt;
}

const char* WebhookFormatName(WebhookFormat f) {
  switch (f) {
    case WebhookFormat::kSlack:
      return "slack";
    case WebhookFormat::kTeams:
      return "teams";
    case WebhookFormat::kJson:
      break;
  }
  return "json";
}

std::string WebhookEndpoint(const std::string& url) {
  try {
    Poco::URI uri(url);
    std::string out = uri.getScheme() + "://" + uri.getHost();
    if (uri.getHost().find(':') != std::string::npos)
      out = uri.getScheme() + "://[" + uri.getHost() + "]";
    if (uri.getSpecifiedPort() != 0) out += ":" + std::to_string(uri.getSpecifiedPort());
    return out;
  } catch (const Poco::Exception&) {
    return "(unreadable URL)";
  }
}

Status ValidateWebhookUrl(const std::string& url) {
  if (url.size() > 2048) return InvalidArgumentError("the URL is longer than 2048 bytes");
  for (char c : url) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
      return InvalidArgumentError("the URL contains a space or a control character");
    }
  }
  try {
    Poco::URI uri(url);
    if (uri.getHost().empty()) return InvalidArgumentError("the URL has no host");
    if (!uri.getUserInfo().empty()) {
      return InvalidArgumentError("the URL must not carry a user name or password");
    }
    if (!uri.getFragment().empty()) return InvalidArgumentError("the URL must not have a fragment");
    if (uri.getScheme() == "https") return OkStatus();
    if (uri.getScheme() == "http") {
      // The host as written (Poco drops an IPv6 literal's brackets).
      if (isLoopbackHost(uri.getHost())) return OkStatus();
      return InvalidArgumentError(
          "an http:// URL is allowed only to a loopback address (127.0.0.1, [::1], localhost); "
          "use https://");
    }
    return InvalidArgumentError("the URL must start with https://");
  } catch (const Poco::Exception& e) {
    return InvalidArgumentError("the URL cannot be read: " + e.message());
  }
}

Status ValidateWebhookSecret(const std::string& secret) {
  if (secret.size() < 16 || secret.size() > 256) {
    return InvalidArgumentError("the secret must have 16 to 256 characters");
  }
  for (char c : secret) {
    if (c < 0x21 || c > 0x7e) {
      return InvalidArgumentError("the secret must be printable ASCII without spaces");
    }
  }
  return OkStatus();
}

StatusOr<WebhookRecord> NewWebhookSpec(const std::string& url, const std::string& secret,
                                       const std::vector<std::string>& events,
                                       const std::string& format, TimePoint now) {
  WebhookRecord w;
  if (Status s = ValidateWebhookUrl(url); !s.ok()) return s.withContext("url");
  if (Status s = ValidateWebhookSecret(secret); !s.ok()) return s.withContext("secret");
  auto f = ParseWebhookFormat(format.empty() ? "json" : format);
  if (!f) return InvalidArgumentError("format: expected json, slack or teams");
  if (events.empty()) return InvalidArgumentError("events: name at least one event type (or all)");
  for (const auto& e : events) {
    if (e == "all") {
      for (const auto& t : kWebhookEventTypes) {
        if (std::find(w.events.begin(), w.events.end(), t.name) == w.events.end()) {
          w.events.emplace_back(t.name);
        }
      }
      continue;
    }
    if (FindWebhookEventType(e) == nullptr) {
      std::string known;
      for (const auto& t : kWebhookEventTypes)
        known += std::string(known.empty() ? "" : ", ") + t.name;
      return InvalidArgumentError("events: unknown event type \"" + e.substr(0, 64) +
                                  "\" (known: " + known + ", or all)");
    }
    if (std::find(w.events.begin(), w.events.end(), e) == w.events.end()) w.events.push_back(e);
  }
  w.url = url;
  w.secret = secret;
  w.format = *f;
  w.created_at = now;
  return w;
}

json::Value WebhookJson(const WebhookRecord& w) {
  json::Value events = json::Value::array();
  for (const auto& e : w.events) events.push(e);
  json::Value o = json::Value::object();
  o.set("webhook_id", w.id);
  o.set("endpoint", WebhookEndpoint(w.url));
  o.set("events", std::move(events));
  o.set("format", WebhookFormatName(w.format));
  o.set("created_at", formatRfc3339(w.created_at));
  return o;
}

std::string WebhookSignature(const std::string& secret, int64_t timestamp, std::string_view body) {
  std::string message = std::to_string(timestamp) + "." + std::string(body);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac, &len);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < len; ++i) {
    hex += kHex[mac[i] >> 4];
    hex += kHex[mac[i] & 0xf];
  }
  return hex;
}

std::string WebhookBody(WebhookFormat format, const json::Value& event) {
  switch (format) {
    case WebhookFormat::kSlack: {
      json::Value o = json::Value::object();
      o.set("text", summary(event, slackEscape));
      return json::write(o);
    }
    case WebhookFormat::kTeams: {
      // An Adaptive Card in the message shape Teams' incoming webhooks (and Workflows) take.
      json::Value block = json::Value::object();
      block.set("type", "TextBlock");
      block.set("text", summary(event, teamsEscape));
      block.set("wrap", true);
      json::Value body = json::Value::array();
      body.push(std::move(block));
      json::Value card = json::Value::object();
      card.set("$schema", "http://adaptivecards.io/schemas/adaptive-card.json");
      card.set("type", "AdaptiveCard");
      card.set("version", "1.4");
      card.set("body", std::move(body));
      json::Value attachment = json::Value::object();
      attachment.set("contentType", "application/vnd.microsoft.card.adaptive");
      attachment.set("content", std::move(card));
      json::Value attachments = json::Value::array();
      attachments.push(std::move(attachment));
      json::Value o = json::Value::object();
      o.set("type", "message");
      o.set("attachments", std::move(attachments));
      return json::write(o);
    }
    case WebhookFormat::kJson:
      break;
  }
  return json::write(event);
}

std::optional<TimePoint> RetrySchedule::next(int64_t attempts, TimePoint created_at, TimePoint now,
                                             double jitter) {
  if (attempts >= kMaxAttempts || now - created_at >= kMaxAge) return std::nullopt;
  double base = static_cast<double>(kRetryBase.count());
  double cap = static_cast<double>(std::chrono::milliseconds(kRetryCap).count());
  double delay =
      std::min(cap, base * std::pow(2.0, static_cast<double>(std::max<int64_t>(0, attempts - 1))));
  delay *= std::clamp(jitter, 0.5, 1.0);
  return now + std::chrono::duration_cast<TimePoint::duration>(
                   std::chrono::milliseconds(static_cast<int64_t>(delay)));
}

json::Value WebhookDeliveryJson(const WebhookDelivery& d) {
  auto time = [](const std::optional<TimePoint>& t) {
    return t ? json::Value(formatRfc3339(*t)) : json::Value();
  };
  json::Value o = json::Value::object();
  o.set("delivery_id", std::to_string(d.id));
  o.set("webhook_id", d.webhook_id);
  o.set("event", d.event);
  o.set("cursor", d.event_cursor ? json::Value(std::to_string(*d.event_cursor)) : json::Value());
  o.set("status", d.status);
  o.set("attempts", d.attempts);
  o.set("created_at", formatRfc3339(d.created_at));
  o.set("next_at", d.status == "pending" ? json::Value(formatRfc3339(d.next_at)) : json::Value());
  o.set("last_attempt_at", time(d.last_attempt_at));
  o.set("last_http_status", d.last_http_status ? json::Value(*d.last_http_status) : json::Value());
  o.set("last_error", d.last_error ? json::Value(*d.last_error) : json::Value());
  o.set("finished_at", time(d.finished_at));
  return o;
}

}  // namespace hearth::server
