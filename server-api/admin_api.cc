// IT's listener: routing, bearer-token authentication and scopes, and the device, feed, CSV
// and audit endpoints. Every change is recorded in the audit log with the token's name, in the
// same transaction as the change.
#include "admin_api.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <Poco/String.h>
#include <Poco/URI.h>

#include "console_http.h"
#include "device_render.h"
#include "exemption_api.h"
#include "hearth/protocol/wire.h"
#include "hearth/server/standing.h"
#include "hearth/text.h"
#include "http_error.h"
#include "http_io.h"
#include "overview_api.h"
#include "policy_api.h"
#include "report_api.h"
#include "route_handler.h"
#include "secret_api.h"
#include "webhook_api.h"

namespace hearth::server {

namespace {

using Poco::Net::HTTPServerRequest;
using Poco::Net::HTTPServerResponse;

// A change of a device's state by IT: the path after /api/v1/devices/ID, the audit action, the
// status answered and logged, and the store's method.
struct DeviceChange {
  const char* path;
  const char* action;
  const char* status;
  Status (Store::*apply)(const std::string& device_id, TimePoint at, const AuditEntry* audit);
};

constexpr DeviceChange kDeviceChanges[] = {
    {"/retire", "device.retire", "retired", &Store::retireDevice},
    {"/approve", "device.approve", "approved", &Store::approveDevice},
    {"/reject", "device.reject", "rejected", &Store::rejectDevice},
};

const DeviceChange* findChange(const std::string& path) {
  for (const auto& c : kDeviceChanges) {
    if (path == c.path) return &c;
  }
  return nullptr;
}

class AdminHandler final : public RouteHandler {
 public:
  AdminHandler(ServerContext& context, ConnectionWatchdog& watchdog)
      : RouteHandler(context, "admin", watchdog) {}

 private:
  int route(HTTPServerRequest& req, HTTPServerResponse& resp) override {
    Poco::URI uri(req.getURI());
    std::string path = uri.getPath();
    const std::string& method = req.getMethod();
    auto q = QueryParams(uri);
    if (path == "/healthz") return healthz(resp);
    // The IT console (console_http.h): its page, assets, sign-in and sign-out.
    if (IsConsolePath(path)) {
      return RouteConsole(context_, req, resp, [&] { return requestBody(req); });
    }
    if (path == "/api/v1/session") {
      if (method != "GET") throw HttpError{405, "use GET"};
      return SessionInfo(context_, req, resp);
    }
    if (path == "/metrics") {
      auto counts = context_.store->deviceCounts(std::chrono::system_clock::now(),
                                                 context_.options.stale_after);
      std::string text = context_.metrics.render(
          counts.ok() ? *counts : std::vector<std::pair<std::string, int64_t>>{});
      text += connectionGauges();
      SendText(resp, 200, "text/plain; version=0.0.4", text);
      return 200;
    }
    TokenRecord token = authenticate(req);
    // A read-only token reads the devices, their history, the feed and the CSV, nothing else.
    // Checked before routing, so every write path (POST, PUT, DELETE, ...), including ones added
    // later, is refused the same way.
    if (token.scope != "admin" && (method != "GET" || path == "/api/v1/audit")) {
      throw HttpError{403,
                      "this token may only read (devices, history, feed, CSV); this needs a token "
                      "with scope admin",
                      "read_only_token"};
    }
    const std::string prefix = "/api/v1/devices/";
    if (path == "/api/v1/devices" && method == "GET") return devices(q, resp);
    if (path == "/api/v1/devices.csv" && method == "GET") return csv(q, token, resp);
    if (path == "/api/v1/feed" && method == "GET") {
      return cursorPage(q, resp, "events", &Store::feed, &Store::feedNewest, &FeedEventJson,
                        &FeedEvent::cursor);
    }
    if (path == "/api/v1/audit" && method == "GET") {
      return cursorPage(q, resp, "entries", &Store::listAudit, &Store::auditNewest, &AuditEntryJson,
                        &AuditEntry::id);
    }
    if (path == "/api/v1/overview" && method == "GET") return RouteOverview(context_, q, resp);
    if (path == "/api/v1/policies" || path.starts_with("/api/v1/policies/")) {
      return RoutePolicies(context_, {method, path, q, [&] { return requestBody(req); }, token},
                           resp);
    }
    if (path == "/api/v1/compliance-report" && method == "GET") {
      return RouteComplianceReport(context_, q, token, req, resp, [&] { keepAlive(req); });
    }
    if (path == "/api/v1/webhooks" || path.starts_with("/api/v1/webhooks/")) {
      return RouteWebhooks(context_, {method, path, q, [&] { return requestBody(req); }, token},
                           resp);
    }
    if (path == "/api/v1/secrets" || path.starts_with("/api/v1/secrets/")) {
      return RouteSecrets(context_, {method, path, q, [&] { return requestBody(req); }, token},
                          resp);
    }
    if (path == "/api/v1/exemptions" || path.starts_with("/api/v1/exemptions/")) {
      return RouteExemptions(context_, {method, path, q, [&] { return requestBody(req); }, token},
                             resp);
    }
    if (path.starts_with(prefix)) {
      std::string rest = path.substr(prefix.size());
      std::string id = rest.substr(0, rest.find('/'));
      std::string tail = rest.size() > id.size() ? rest.substr(id.size()) : "";
      if (id.empty() || id.size() > 64) throw HttpError{404, "no such device"};
      if (tail.empty() && method == "GET") return device(id, resp);
      if (tail == "/history" && method == "GET") return history(id, q, resp);
      if (tail == "/events" && method == "GET") return deviceEvents(id, q, resp);
      if (tail == "/owner" && method == "POST") return owner(id, req, token, resp);
      if (tail == "/level" && method == "POST") return level(id, req, token, resp);
      const DeviceChange* change = findChange(tail);
      if (change != nullptr && method == "POST") return changeDevice(id, *change, token, resp);
      bool known = tail.empty() || tail == "/history" || tail == "/events" || tail == "/owner" ||
                   tail == "/level" || change != nullptr;
      throw HttpError{known ? 405 : 404, "no such endpoint"};
    }
    if (path == "/api/v1/devices" || path == "/api/v1/devices.csv" || path == "/api/v1/feed" ||
        path == "/api/v1/audit" || path == "/api/v1/compliance-report" ||
        path == "/api/v1/overview") {
      throw HttpError{405, "use GET"};
    }
    throw HttpError{404, "no such endpoint"};
  }

  // The audit entry of an action by this token (the store records it with the action, in one
  // transaction).
  static AuditEntry auditEntry(const TokenRecord& token, const std::string& action,
                               const std::string& target,
                               json::Value detail = json::Value::object()) {
    detail.set("token_id", token.id);
    return NewAuditEntry(token.name, action, target, detail);
  }

  // GET /api/v1/feed and /api/v1/audit: the entries after the cursor `after` (at most `limit`,
  // 500 by default) as {"next": CURSOR, `key`: [...]}. `next` is where to continue; the same
  // cursor again when there is nothing new yet. `newest=N` instead: the newest N entries (1 to
  // 1000), oldest first, and `next` after the newest (where a page that shows the latest entries
  // follows on from).
  template <typename Entry>
  int cursorPage(const std::map<std::string, std::string>& q, HTTPServerResponse& resp,
                 const char* key,
                 StatusOr<std::vector<Entry>> (Store::*list)(int64_t after, int limit),
                 StatusOr<std::vector<Entry>> (Store::*newest)(int limit),
                 json::Value (*render)(const Entry&), int64_t Entry::*cursor) {
    int64_t after = 0;
    StatusOr<std::vector<Entry>> entries = std::vector<Entry>{};
    if (auto it = q.find("newest"); it != q.end()) {
      if (q.count("after") != 0 || q.count("limit") != 0) {
        throw HttpError{400, "newest is used alone (without after and limit)"};
      }
      auto n = text::parseInt(it->second);
      if (!n || *n < 1 || *n > 1000) throw HttpError{400, "newest must be a number from 1 to 1000"};
      entries = (context_.store.get()->*newest)(static_cast<int>(*n));
    } else {
      after = ParseCursor(q);
      entries = (context_.store.get()->*list)(after, ParseLimit(q, 500));
    }
    if (!entries.ok()) throw HttpError{503, "database unavailable"};
    json::Value arr = json::Value::array();
    for (const auto& e : *entries) arr.push(render(e));
    json::Value o = json::Value::object();
    o.set("next", std::to_string(entries->empty() ? after : entries->back().*cursor));
    o.set(key, std::move(arr));
    SendJson(resp, 200, o);
    return 200;
  }

  // GET /api/v1/devices/ID/events: the device's feed events, newest first ({"events", "next"}:
  // `limit`, 100 by default; `before` a cursor from `next` for older ones; next null at the end).
  int deviceEvents(const std::string& id, const std::map<std::string, std::string>& q,
                   HTTPServerResponse& resp) {
    if (auto d = context_.store->deviceForAuth(id); !d.ok()) throw StoreError(d.status());
    int64_t before = 0;
    if (auto it = q.find("before"); it != q.end()) {
      auto v = text::parseInt(it->second);
      if (!v || *v < 1) throw HttpError{400, "before must be a cursor from a previous page"};
      before = *v;
    }
    int limit = ParseLimit(q, 100);
    auto events = context_.store->deviceEvents(id, before, limit);
    if (!events.ok()) throw HttpError{503, "database unavailable"};
    json::Value arr = json::Value::array();
    for (const auto& e : *events) arr.push(FeedEventJson(e));
    json::Value o = json::Value::object();
    o.set("events", std::move(arr));
    o.set("next", static_cast<int>(events->size()) == limit && !events->empty()
                      ? json::Value(std::to_string(events->back().cursor))
                      : json::Value());
    SendJson(resp, 200, o);
    return 200;
  }

  // POST /api/v1/devices/ID/retire, approve, reject: the change, audited with it in one
  // transaction, logged, and answered {"device_id", "status"}.
  int changeDevice(const std::string& id, const DeviceChange& change, const TokenRecord& token,
                   HTTPServerResponse& resp) {
    AuditEntry entry = auditEntry(token, change.action, "device:" + id);
    Status s = (context_.store.get()->*change.apply)(id, entry.at, &entry);  // one moment
    if (!s.ok()) throw StoreError(s);
    context_.log->info("device " + id + " " + change.status + " by token \"" +
                       json::escape(token.name) + "\"");
    json::Value o = json::Value::object();
    o.set("device_id", id);
    o.set("status", change.status);
    SendJson(resp, 200, o);
    return 200;
  }

  int owner(const std::string& id, HTTPServerRequest& req, const TokenRecord& token,
            HTTPServerResponse& resp) {
    auto v = json::parse(requestBody(req));
    if (!v.ok() || !v->isObject()) throw HttpError{400, "expected a JSON object {\"owner\": ...}"};
    for (const auto& [k, unused] : v->asObject()) {
      if (k != "owner") throw HttpError{400, "unknown field \"" + k + "\" (expected owner)"};
    }
    const json::Value* o = v->find("owner");
    if (o == nullptr || !(o->isNull() || o->isString())) {
      throw HttpError{400, "field \"owner\" must be a string (or null to clear it)"};
    }
    std::optional<std::string> value;
    if (o->isString()) {
      const std::string& text = o->asString();
      if (text.empty()) throw HttpError{400, "field \"owner\" must not be empty (null clears it)"};
      if (Status valid = text::validatePersonText(text, protocol::kMaxOwnerChars); !valid.ok()) {
        throw HttpError{400, "field \"owner\" " + valid.message()};
      }
      value = text;
    }
    json::Value detail = json::Value::object();
    detail.set("owner", value ? json::Value(*value) : json::Value());
    AuditEntry entry = auditEntry(token, "device.owner", "device:" + id, detail);
    Status s = context_.store->setDeviceOwner(id, value, &entry);
    if (!s.ok()) throw StoreError(s);
    json::Value out = json::Value::object();
    out.set("device_id", id);
    out.set("owner", value ? json::Value(*value) : json::Value());
    SendJson(resp, 200, out);
    return 200;
  }

  // POST /api/v1/devices/ID/level {"level": L}: the device is held to level L's policy from its
  // next request on (no new enrolment). Audited with the previous level.
  int level(const std::string& id, HTTPServerRequest& req, const TokenRecord& token,
            HTTPServerResponse& resp) {
    auto v = json::parse(requestBody(req));
    if (!v.ok() || !v->isObject()) throw HttpError{400, "expected a JSON object {\"level\": ...}"};
    for (const auto& [k, unused] : v->asObject()) {
      if (k != "level")
        throw HttpError{400, "unknown field \"" + k.substr(0, 64) + "\" (expected level)"};
    }
    const json::Value* l = v->find("level");
    if (l == nullptr || !l->isString() || l->asString().empty() || l->asString().size() > 64) {
      throw HttpError{400, "field \"level\" must be a level name"};
    }
    auto before = context_.store->deviceForAuth(id);
    if (!before.ok()) throw StoreError(before.status());
    json::Value detail = json::Value::object();
    detail.set("from", before->level);
    detail.set("to", l->asString());
    AuditEntry entry = auditEntry(token, "device.level", "device:" + id, detail);
    // The move happens at the audit entry's moment: one time for both.
    Status s = context_.store->setDeviceLevel(id, l->asString(), entry.at, &entry);
    if (s.code() == StatusCode::kFailedPrecondition) throw HttpError{409, s.message(), "no_policy"};
    if (!s.ok()) throw StoreError(s);
    context_.log->info("device " + id + " moved to level " + l->asString() + " by token \"" +
                       json::escape(token.name) + "\"");
    json::Value out = json::Value::object();
    out.set("device_id", id);
    out.set("level", l->asString());
    SendJson(resp, 200, out);
    return 200;
  }

  // GET /healthz: 200 {"status": "ok"} while the store's latest reads and writes worked (the
  // maintenance thread probes an idle store, see MaintenanceThreads); else 503 with what failed.
  // Never touches the database itself.
  int healthz(HTTPServerResponse& resp) {
    Status store = context_.store->health();
    if (store.ok()) {
      json::Value o = json::Value::object();
      o.set("status", "ok");
      SendJson(resp, 200, o);
      return 200;
    }
    json::Value o = json::Value::object();
    o.set("status", store.code() == StatusCode::kDataLoss ? "damaged" : "unavailable");
    o.set("error", store.message());
    o.set("code", "unavailable");
    resp.set("Retry-After", "10");
    SendJson(resp, 503, o);
    return 503;
  }

  // Worker threads in use and connections waiting for one, per listener.
  std::string connectionGauges() const {
    std::ostringstream o;
    std::pair<const char*, const Listener*> servers[] = {{"devices", context_.device_server},
                                                         {"admin", context_.admin_server}};
    struct Gauge {
      const char* name;
      const char* help;
      int (Listener::*value)() const;
    };
    const Gauge gauges[] = {
        {"hearth_connections_active", "Connections being served by a worker thread.",
         &Listener::currentConnections},
        {"hearth_connections_queued", "Accepted connections waiting for a worker thread.",
         &Listener::queuedConnections},
        {"hearth_connections_pending",
         "Accepted connections whose client has not sent its TLS ClientHello yet.",
         &Listener::pendingConnections}};
    for (const auto& gauge : gauges) {
      o << "# HELP " << gauge.name << " " << gauge.help << "\n# TYPE " << gauge.name << " gauge\n";
      for (const auto& [name, server] : servers) {
        if (server != nullptr) {
          o << gauge.name << "{listener=\"" << name << "\"} " << (server->*gauge.value)() << "\n";
        }
      }
    }
    return o.str();
  }

  // The bearer token, or without an Authorization header the console's session cookie
  // (SessionPrincipal: its writes need the session's CSRF token).
  TokenRecord authenticate(HTTPServerRequest& req) {
    std::string auth = req.get("Authorization", "");
    if (auth.empty()) {
      if (auto session = SessionPrincipal(context_, req)) return std::move(*session);
    }
    // The scheme is case-insensitive (RFC 9110 §11.1): "Bearer", "bearer", "BEARER".
    constexpr std::string_view kBearer = "bearer ";
    if (auth.size() <= kBearer.size() || auth.size() > 512 ||
        Poco::icompare(auth.substr(0, kBearer.size()), std::string(kBearer)) != 0) {
      throw HttpError{401, "missing or malformed bearer token"};
    }
    auto token = context_.store->findToken(HashSecret(auth.substr(kBearer.size())),
                                           std::chrono::system_clock::now());
    if (!token.ok()) {
      if (token.status().code() == StatusCode::kNotFound) {
        throw HttpError{401, "invalid, expired or revoked token"};
      }
      throw HttpError{503, "database unavailable"};
    }
    return std::move(token).value();
  }

  DeviceFilter filterFrom(const std::map<std::string, std::string>& q, int default_limit) {
    DeviceFilter f;
    f.now = std::chrono::system_clock::now();
    f.stale_after = context_.options.stale_after;
    f.limit = ParseLimit(q, default_limit);
    if (auto it = q.find("status"); it != q.end()) {
      const std::string& s = it->second;
      if (s != "compliant" && s != "at_risk" && s != "noncompliant" && s != "unknown" &&
          s != "stale" && s != "pending" && s != "retired") {
        throw HttpError{400,
                        "status must be compliant, at_risk, noncompliant, unknown, stale, "
                        "pending or retired"};
      }
      f.status = s;
    }
    if (auto it = q.find("level"); it != q.end()) f.level = it->second;
    if (auto it = q.find("owner"); it != q.end()) f.owner = it->second;
    if (auto it = q.find("check"); it != q.end()) f.check = it->second;
    if (auto it = q.find("q"); it != q.end() && !it->second.empty()) {
      if (it->second.size() > 200) throw HttpError{400, "q must be at most 200 bytes"};
      f.search = it->second;
    }
    if (auto it = q.find("failing_for"); it != q.end()) {
      auto days = text::parseInt(it->second);
      if (!days || *days < 0 || *days > 36500) {
        throw HttpError{400, "failing_for must be a number of days (0 or more)"};
      }
      f.failing_for = std::chrono::hours(24 * *days);
    }
    if (auto it = q.find("sort"); it != q.end()) {
      if (it->second != "device_id" && it->second != "failing_since") {
        throw HttpError{400, "sort must be device_id or failing_since"};
      }
      f.sort_failing_since = it->second == "failing_since";
    }
    if (auto it = q.find("after"); it != q.end()) f.after = it->second;
    return f;
  }

  int devices(const std::map<std::string, std::string>& q, HTTPServerResponse& resp) {
    DeviceFilter f = filterFrom(q, 100);
    auto list = context_.store->listDevices(f);
    if (!list.ok()) throw HttpError{503, "database unavailable"};
    json::Value arr = json::Value::array();
    for (const auto& d : *list) arr.push(DeviceJson(d, false));
    json::Value o = json::Value::object();
    o.set("devices", std::move(arr));
    o.set("next", static_cast<int>(list->size()) == f.limit && !list->empty()
                      ? json::Value(DeviceCursor(list->back(), f))
                      : json::Value());
    SendJson(resp, 200, o);
    return 200;
  }

  int csv(const std::map<std::string, std::string>& q, const TokenRecord& token,
          HTTPServerResponse& resp) {
    DeviceFilter f = filterFrom(q, 1000);
    std::string out = kDeviceCsvHeader;
    while (true) {
      auto list = context_.store->listDevices(f);
      if (!list.ok()) throw HttpError{503, "database unavailable"};
      for (const auto& d : *list) out += DeviceCsvLine(d);
      if (static_cast<int>(list->size()) < f.limit || list->empty()) break;
      f.after = DeviceCursor(list->back(), f);
      if (out.size() > (256u << 20)) throw HttpError{413, "export too large; filter it"};
    }
    // Recorded before a byte is sent: an export that cannot be recorded does not happen.
    json::Value detail = json::Value::object();
    for (const char* name : kExportParameters) {
      if (auto it = q.find(name); it != q.end()) detail.set(name, auditedValue(it->second));
    }
    if (Status s = context_.store->appendAudit(auditEntry(token, "export.csv", "devices", detail));
        !s.ok()) {
      context_.log->error("audit log: " + s.message());
      throw HttpError{503, "the export cannot be recorded in the audit log now; retry later"};
    }
    resp.set("Content-Disposition", "attachment; filename=\"hearth-devices.csv\"");
    SendText(resp, 200, "text/csv; charset=utf-8", out);
    return 200;
  }

  // The query parameters an export records in the audit log: those it reads, nothing else (a
  // read token must not write what it likes into the permanent log).
  static constexpr const char* kExportParameters[] = {
      "q", "status", "level", "owner", "check", "failing_for", "sort", "after", "limit"};
  // Each recorded value is cut to this many bytes (at a character boundary), "..." appended.
  static constexpr size_t kMaxAuditedValueBytes = 64;

  static std::string auditedValue(const std::string& v) {
    if (v.size() <= kMaxAuditedValueBytes) return v;
    size_t cut = kMaxAuditedValueBytes;
    while (cut > 0 && (static_cast<unsigned char>(v[cut]) & 0xC0) == 0x80) --cut;
    return v.substr(0, cut) + "...";
  }

  int device(const std::string& id, HTTPServerResponse& resp) {
    auto d = context_.store->getDevice(id);
    if (!d.ok()) throw StoreError(d.status());
    TimePoint now = std::chrono::system_clock::now();
    d->status = StatusAt(d->status, d->deadline, now);
    TimePoint seen = d->last_seen.value_or(d->enrolled_at);
    if (!d->retired_at && seen < now - context_.options.stale_after) {
      d->status = "stale";
    }
    if (d->pending_approval) d->status = "pending";
    if (d->latest_result_damaged) {
      context_.log->error("device " + id +
                          ": its latest result does not match its SHA-256 (changed after it was "
                          "stored); served without it. Run hearth-server check-db");
    }
    json::Value out = DeviceJson(*d, true);
    auto missing = context_.store->missingReports(id);
    out.set("reports_missing", missing.ok() ? json::Value(*missing) : json::Value());
    SendJson(resp, 200, out);
    return 200;
  }

  // GET /api/v1/devices/ID/history: newest first, `limit` reports (100 by default) below the
  // sequence `before`, at most kHistoryPageBytes of results; `next` continues.
  int history(const std::string& id, const std::map<std::string, std::string>& q,
              HTTPServerResponse& resp) {
    // 404 only for a device that is not there; a store that cannot tell answers 503.
    if (auto d = context_.store->deviceForAuth(id); !d.ok()) throw StoreError(d.status());
    int64_t before = 0;
    if (auto it = q.find("before"); it != q.end()) {
      auto v = text::parseInt(it->second);
      if (!v || *v < 1) throw HttpError{400, "before must be a sequence from a previous page"};
      before = *v;
    }
    bool more = false;
    auto reports = context_.store->deviceHistory(id, ParseLimit(q, 100), before, &more);
    if (!reports.ok()) throw HttpError{503, "database unavailable"};
    for (const auto& r : *reports) {
      if (r.damaged) {
        context_.log->error("device " + id + " report " + r.report_id +
                            ": the stored result does not match its SHA-256 (changed after it "
                            "was stored); served without it. Run hearth-server check-db");
      }
    }
    std::optional<int64_t> next;
    if (more && !reports->empty()) next = reports->back().sequence;
    SendJsonText(resp, 200, HistoryPageText(*reports, next));
    return 200;
  }
};

}  // namespace

Poco::Net::HTTPRequestHandlerFactory* NewAdminHandlerFactory(ServerContext& context,
                                                             ConnectionWatchdog& watchdog) {
  return new HandlerFactory<AdminHandler>(context, watchdog);
}

}  // namespace hearth::server
