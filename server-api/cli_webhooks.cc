// `hearth-server webhook add|list|test|remove|deliveries`: the API's webhooks from the command
// line, on the store directly (add, test and remove audited as cli:<unix user>). A secret is read
// from a file or standard input (--secret-file), never from the command line; without one, a new
// secret is made and printed once.
#include <chrono>
#include <optional>
#include <string>
#include <unistd.h>
#include <vector>

#include <curl/curl.h>

#include "cli_commands.h"
#include "hearth/files.h"
#include "hearth/log.h"
#include "hearth/server/state.h"
#include "hearth/text.h"
#include "hearth/time.h"
#include "webhook_worker.h"

namespace hearth::server::cli {

namespace {

StatusOr<std::string> readSecret(const std::string& path) {
  StatusOr<std::string> text =
      path == "-" ? ReadFdBounded(STDIN_FILENO, 4096, "the secret from standard input",
                                  {.truncate = true, .regular_only = false})
                  : ReadFileBounded(path, 4096);
  if (!text.ok()) return text.status().withContext("--secret-file");
  std::string s = std::move(text).value();
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

// The webhook ID, the third word ("webhook test 3"); nullopt after saying what is missing.
std::optional<int64_t> webhookId(const ParsedFlags& a, const ServerCliEnvironment& env,
                                 const std::string& sub) {
  auto id = a.positional().size() > 2 ? text::parseInt(a.positional()[2]) : std::nullopt;
  if (!id || *id < 1) {
    env.err << "hearth-server: webhook " << sub << " needs the webhook's ID (see webhook list)\n";
    return std::nullopt;
  }
  return id;
}

// --json: {KEY: [render(item)...]} on one line.
template <typename Item>
int printJson(const ServerCliEnvironment& env, const char* key, const std::vector<Item>& items,
              json::Value (*render)(const Item&)) {
  json::Value arr = json::Value::array();
  for (const auto& item : items) arr.push(render(item));
  json::Value o = json::Value::object();
  o.set(key, std::move(arr));
  env.out << json::write(o) << "\n";
  return kExitOk;
}

int add(const ParsedFlags& a, const ServerCliEnvironment& env, Store& store) {
  if (!a.has("--url") || !a.has("--events")) {
    env.err << "hearth-server: webhook add needs --url URL and --events TYPE,... (or all)\n";
    return kExitUsage;
  }
  std::string secret;
  bool made = false;
  if (a.has("--secret-file")) {
    auto read = readSecret(a.get("--secret-file"));
    if (!read.ok()) return Fail(env.err, read.status());
    secret = std::move(read).value();
  } else {
    auto fresh = NewSecret("whsec_");
    if (!fresh.ok()) return Fail(env.err, fresh.status());
    secret = std::move(fresh).value();
    made = true;
  }
  auto spec = NewWebhookSpec(a.get("--url"), secret, text::split(a.get("--events"), ','),
                             a.get("--format"), std::chrono::system_clock::now());
  if (!spec.ok()) return Fail(env.err, spec.status());
  json::Value shown = WebhookJson(*spec), detail = json::Value::object();
  for (const char* k : {"endpoint", "events", "format"}) detail.set(k, *shown.find(k));
  AuditEntry entry = CliEntry("webhook.create", "webhook:", detail);
  auto rec = store.createWebhook(*spec, &entry);
  if (!rec.ok()) return Fail(env.err, rec.status());
  if (made) env.out << secret << "\n";
  env.err << "webhook " << rec->id << " to " << WebhookEndpoint(spec->url) << " created"
          << (made ? " (its signing secret is printed above, once)" : "") << "\n";
  return kExitOk;
}

int list(const ParsedFlags& a, const ServerCliEnvironment& env, Store& store) {
  auto hooks = store.listWebhooks();
  if (!hooks.ok()) return Fail(env.err, hooks.status());
  if (a.has("--json")) {
    return printJson(env, "webhooks", *hooks, WebhookJson);
  }
  Table table(env.out, {"ID", "ENDPOINT", "FORMAT", "EVENTS", "CREATED"});
  for (const auto& w : *hooks) {
    table.row({std::to_string(w.id), WebhookEndpoint(w.url), WebhookFormatName(w.format),
               text::join(w.events, ","), formatRfc3339(w.created_at)});
  }
  return kExitOk;
}

int test(const ParsedFlags& a, const ServerCliEnvironment& env, Store& store, int64_t id) {
  WebhookSenderOptions options;
  options.extra_ca_file = a.get("--webhook-ca-file");
  bool bad = false;
  if (auto secs = WholeNumber(a, "--webhook-timeout", 1, 60, "expected seconds from 1 to 60",
                              env.err, bad)) {
    options.timeout = std::chrono::seconds(*secs);
  }
  if (bad) return kExitUsage;
  AuditEntry entry = CliEntry("webhook.test", "webhook:" + std::to_string(id));
  auto due = store.createTestDelivery(id, std::chrono::system_clock::now(),
                                      options.timeout + std::chrono::seconds(10), &entry);
  if (!due.ok()) return Fail(env.err, due.status());
  curl_global_init(CURL_GLOBAL_DEFAULT);
  Logger log(env.err, LogLevel::kWarning, LogFormat::Terminal("hearth-server"));
  DeliveryAttempt attempt = DeliverOnce(store, options, *due, /*retry=*/false, log);
  if (attempt.delivered) {
    env.out << "delivered (HTTP " << attempt.http_status.value_or(0) << "), delivery "
            << due->delivery.id << "\n";
    return kExitOk;
  }
  env.out << "not delivered: " << attempt.error.value_or("?") << ", delivery " << due->delivery.id
          << "\n";
  return kExitFailure;
}

int deliveries(const ParsedFlags& a, const ServerCliEnvironment& env, Store& store, int64_t id) {
  bool bad = false;
  auto before = WholeNumber(a, "--before", 1, INT64_MAX, "expected a delivery id", env.err, bad);
  auto limit = PositiveInt(a, "--limit", env.err, bad);
  if (bad) return kExitUsage;
  auto list = store.listDeliveries(id, before.value_or(0),
                                   static_cast<int>(std::min<int64_t>(limit.value_or(100), 1000)));
  if (!list.ok()) return Fail(env.err, list.status());
  if (a.has("--json")) {
    return printJson(env, "deliveries", *list, WebhookDeliveryJson);
  }
  Table table(env.out, {"DELIVERY", "EVENT", "CURSOR", "STATUS", "ATTEMPTS", "CREATED",
                        "LAST_ATTEMPT", "LAST_ERROR"});
  for (const auto& d : *list) {
    table.row({std::to_string(d.id), d.event,
               d.event_cursor ? std::to_string(*d.event_cursor) : "-", d.status,
               std::to_string(d.attempts), formatRfc3339(d.created_at),
               TimeOrDash(d.last_attempt_at), OrDash(d.last_error)});
  }
  return kExitOk;
}

}  // namespace

int CmdWebhook(const ParsedFlags& a, const ServerCliEnvironment& env, Store& store) {
  std::string sub = a.positional().size() > 1 ? a.positional()[1] : "";
  if (sub == "add") return add(a, env, store);
  if (sub == "list") return list(a, env, store);
  if (sub != "test" && sub != "remove" && sub != "deliveries") {
    env.err << "hearth-server: webhook needs add, list, test, remove or deliveries\n";
    return kExitUsage;
  }
  auto id = webhookId(a, env, sub);
  if (!id) return kExitUsage;
  if (sub == "test") return test(a, env, store, *id);
  if (sub == "deliveries") return deliveries(a, env, store, *id);
  AuditEntry entry = CliEntry("webhook.delete", "webhook:" + std::to_string(*id));
  if (Status s = store.deleteWebhook(*id, &entry); !s.ok()) return Fail(env.err, s);
  env.err << "webhook " << *id << " removed\n";
  return kExitOk;
}

}  // namespace hearth::server::cli
