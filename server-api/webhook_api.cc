// The webhook endpoints of IT's listener.
#include "webhook_api.h"

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "hearth/text.h"
#include "http_error.h"
#include "http_io.h"
#include "webhook_worker.h"

namespace hearth::server {

namespace {

const std::string kPrefix = "/api/v1/webhooks";

AuditEntry auditEntry(const TokenRecord& token, const std::string& action,
                      const std::string& target, json::Value detail = json::Value::object()) {
  detail.set("token_id", token.id);
  return NewAuditEntry(token.name, action, target, detail);
}

std::string stringField(const json::Value& o, const char* name, bool required) {
  const json::Value* v = o.find(name);
  if (v == nullptr) {
    if (required) throw HttpError{400, std::string("field \"") + name + "\" is required"};
    return "";
  }
  if (!v->isString()) throw HttpError{400, std::string("field \"") + name + "\" must be a string"};
  return v->asString();
}

int create(ServerContext& context, const WebhookRequest& req, Poco::Net::HTTPServerResponse& resp) {
  auto v = json::parse(req.body(), {.max_depth = 4, .max_bytes = 16 << 10});
  if (!v.ok() || !v->isObject()) {
    throw HttpError{400, "expected a JSON object {\"url\",\"secret\",\"events\",\"format\"}"};
  }
  for (const auto& [k, unused] : v->asObject()) {
    if (k != "url" && k != "secret" && k != "events" && k != "format") {
      throw HttpError{
          400, "unknown field \"" + k.substr(0, 64) + "\" (expected url, secret, events, format)"};
    }
  }
  std::vector<std::string> events;
  const json::Value* e = v->find("events");
  if (e == nullptr || !e->isArray()) {
    throw HttpError{400, "field \"events\" must be an array of event types"};
  }
  for (const auto& item : e->asArray()) {
    if (!item.isString()) throw HttpError{400, "field \"events\" must hold strings"};
    events.push_back(item.asString());
  }
  auto spec = NewWebhookSpec(stringField(*v, "url", true), stringField(*v, "secret", true), events,
                             stringField(*v, "format", false), std::chrono::system_clock::now());
  if (!spec.ok()) throw HttpError{400, spec.status().message()};
  json::Value shown = WebhookJson(*spec), detail = json::Value::object();
  for (const char* k : {"endpoint", "events", "format"}) detail.set(k, *shown.find(k));
  AuditEntry entry = auditEntry(req.token, "webhook.create", "webhook:", detail);
  auto made = context.store->createWebhook(*spec, &entry);
  if (!made.ok()) throw StoreError(made.status());
  context.log->info("webhook " + std::to_string(made->id) + " to " + WebhookEndpoint(spec->url) +
                    " created by token \"" + json::escape(req.token.name) + "\"");
  json::Value out = WebhookJson(*made);
  SendJson(resp, 201, out);
  return 201;
}

WebhookRecord find(ServerContext& context, int64_t id) {
  auto list = context.store->listWebhooks();
  if (!list.ok()) throw HttpError{503, "database unavailable"};
  for (auto& w : *list) {
    if (w.id == id) return std::move(w);
  }
  throw HttpError{404, "no webhook with id " + std::to_string(id)};
}

int test(ServerContext& context, const WebhookRequest& req, int64_t id,
         Poco::Net::HTTPServerResponse& resp) {
  WebhookSenderOptions options = context.webhook_sender;
  // Answered within the request's deadline.
  options.timeout = std::min(options.timeout, std::chrono::seconds(5));
  AuditEntry entry = auditEntry(req.token, "webhook.test", "webhook:" + std::to_string(id));
  auto due = context.store->createTestDelivery(id, std::chrono::system_clock::now(),
                                               options.timeout + std::chrono::seconds(10), &entry);
  if (!due.ok()) throw StoreError(due.status());
  DeliveryAttempt attempt =
      DeliverOnce(*context.store, options, *due, /*retry=*/false, *context.log);
  json::Value out = json::Value::object();
  out.set("delivery_id", std::to_string(due->delivery.id));
  out.set("delivered", attempt.delivered);
  out.set("http_status", attempt.http_status ? json::Value(*attempt.http_status) : json::Value());
  out.set("error", attempt.error ? json::Value(*attempt.error) : json::Value());
  SendJson(resp, 200, out);
  return 200;
}

int deliveries(ServerContext& context, const WebhookRequest& req, int64_t id,
               Poco::Net::HTTPServerResponse& resp) {
  int64_t before = 0;
  if (auto it = req.query.find("before"); it != req.query.end()) {
    auto n = text::parseInt(it->second);
    if (!n || *n < 1) throw HttpError{400, "before must be a delivery id (a whole number)"};
    before = *n;
  }
  int limit = ParseLimit(req.query, 100);
  auto list = context.store->listDeliveries(id, before, limit);
  if (!list.ok()) throw StoreError(list.status());
  json::Value arr = json::Value::array();
  for (const auto& d : *list) arr.push(WebhookDeliveryJson(d));
  json::Value out = json::Value::object();
  out.set("deliveries", std::move(arr));
  out.set("next", static_cast<int>(list->size()) == limit && !list->empty()
                      ? json::Value(std::to_string(list->back().id))
                      : json::Value());
  SendJson(resp, 200, out);
  return 200;
}

}  // namespace

int RouteWebhooks(ServerContext& context, const WebhookRequest& req,
                  Poco::Net::HTTPServerResponse& resp) {
  if (req.path == kPrefix) {
    if (req.method == "POST") return create(context, req, resp);
    if (req.method == "GET") {
      auto list = context.store->listWebhooks();
      if (!list.ok()) throw HttpError{503, "database unavailable"};
      json::Value arr = json::Value::array();
      for (const auto& w : *list) arr.push(WebhookJson(w));
      json::Value out = json::Value::object();
      out.set("webhooks", std::move(arr));
      SendJson(resp, 200, out);
      return 200;
    }
    throw HttpError{405, "use GET or POST"};
  }
  std::string rest = req.path.substr(kPrefix.size());  // "/ID[/tail]"
  if (!rest.starts_with("/")) throw HttpError{404, "no such endpoint"};
  rest = rest.substr(1);
  std::string id_text = rest.substr(0, rest.find('/'));
  std::string tail = rest.substr(id_text.size());
  auto id = id_text.size() <= 18 ? text::parseInt(id_text) : std::nullopt;
  if (!id || *id < 1) throw HttpError{404, "no such webhook"};
  if (tail.empty()) {
    if (req.method == "GET") {
      SendJson(resp, 200, WebhookJson(find(context, *id)));
      return 200;
    }
    if (req.method == "DELETE") {
      AuditEntry entry = auditEntry(req.token, "webhook.delete", "webhook:" + id_text);
      if (Status s = context.store->deleteWebhook(*id, &entry); !s.ok()) throw StoreError(s);
      context.log->info("webhook " + id_text + " deleted by token \"" +
                        json::escape(req.token.name) + "\"");
      json::Value out = json::Value::object();
      out.set("webhook_id", *id);
      out.set("deleted", true);
      SendJson(resp, 200, out);
      return 200;
    }
    throw HttpError{405, "use GET or DELETE"};
  }
  if (tail == "/test") {
    if (req.method == "POST") return test(context, req, *id, resp);
    throw HttpError{405, "use POST"};
  }
  if (tail == "/deliveries") {
    if (req.method == "GET") return deliveries(context, req, *id, resp);
    throw HttpError{405, "use GET"};
  }
  throw HttpError{404, "no such endpoint"};
}

}  // namespace hearth::server
