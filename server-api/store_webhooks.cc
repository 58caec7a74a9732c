// The SQL store's webhooks: the webhooks and their event types, the outbox (written by the
// trigger of migration 8 with each feed event; on PostgreSQL at commit, migration 19) read as the
// first due delivery of each webhook and claimed, attempts recorded, the delivery log, and its
// retention.
#include <algorithm>
#include <limits>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "device_render.h"
#include "hearth/json.h"
#include "sql_store.h"
#include "sql_values.h"

namespace hearth::server::sql {

namespace {

using namespace Poco::Data::Keywords;  // NOLINT(google-build-using-namespace)

constexpr const char* kDeliveryColumns =
    "d.id, d.webhook_id, d.event, d.event_cursor, d.status, d.attempts, d.created_at, d.next_at, "
    "d.last_attempt_at, d.last_http_status, d.last_error, d.finished_at";

WebhookDelivery deliveryRow(RecordSet& rs) {
  WebhookDelivery d;
  d.id = integer(rs, "id");
  d.webhook_id = integer(rs, "webhook_id");
  d.event = str(rs, "event");
  d.event_cursor = optInt(rs, "event_cursor");
  d.status = str(rs, "status");
  d.attempts = integer(rs, "attempts");
  d.created_at = parseTime(str(rs, "created_at"));
  d.next_at = parseTime(str(rs, "next_at"));
  d.last_attempt_at = optTime(rs, "last_attempt_at");
  d.last_http_status = optInt(rs, "last_http_status");
  d.last_error = optString(rs, "last_error");
  d.finished_at = optTime(rs, "finished_at");
  return d;
}

WebhookRecord webhookRow(RecordSet& rs) {
  WebhookRecord w;
  w.id = integer(rs, "webhook_id");
  w.url = str(rs, "url");
  w.format = ParseWebhookFormat(str(rs, "format")).value_or(WebhookFormat::kJson);
  w.created_at = parseTime(str(rs, "webhook_created_at"));
  return w;
}

json::Value optionalJson(const std::optional<std::string>& s) {
  return s ? json::Value(*s) : json::Value();
}

// The test event: what a receiver gets from `webhook test`.
json::Value testEvent(int64_t webhook_id, TimePoint now) {
  json::Value e = json::Value::object();
  e.set("event", "test");
  e.set("at", formatRfc3339(now));
  e.set("webhook_id", webhook_id);
  return e;
}

// A claimed delivery's row: the delivery, its webhook (with the secret) and the event it sends
// (the feed event with hostname and owner; null when retention removed it meanwhile).
DueDelivery dueRow(RecordSet& rs) {
  DueDelivery due;
  due.delivery = deliveryRow(rs);
  due.webhook = webhookRow(rs);
  due.webhook.secret = str(rs, "secret");
  if (due.delivery.event == "test") {
    due.event = testEvent(due.webhook.id, due.delivery.created_at);
    return due;
  }
  if (!optInt(rs, "cursor")) return due;  // event pruned: json null
  json::Value o = json::Value::object();
  o.set("event", due.delivery.event);
  json::Value feed = FeedEventJson(feedEventRow(rs));
  for (const auto& [k, v] : feed.asObject()) o.set(k, v);
  o.set("hostname", optionalJson(optString(rs, "hostname")));
  o.set("owner", optionalJson(optString(rs, "owner")));
  due.event = std::move(o);
  return due;
}

constexpr const char* kDueQuery =
    "SELECT d.id, d.webhook_id, d.event, d.event_cursor, d.status, d.attempts, d.created_at, "
    "d.next_at, d.claimed_until, d.last_attempt_at, d.last_http_status, d.last_error, "
    "d.finished_at, w.url, "
    "w.secret, w.format, w.created_at AS webhook_created_at, e.cursor, e.at, e.device_id, "
    "e.type, e.check_id, e.from_verdict, e.to_verdict, e.detail, v.hostname, v.owner "
    "FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id "
    "LEFT JOIN events e ON e.cursor = d.event_cursor "
    "LEFT JOIN devices v ON v.device_id = e.device_id ";

}  // namespace

StatusOr<WebhookRecord> SqlStore::createWebhook(const WebhookRecord& spec,
                                                const AuditEntry* audit) {
  WebhookRecord r = spec;
  r.secret.clear();
  Status s = db_.transaction("create webhook", [&]() -> Status {
    std::string url = spec.url, secret = spec.secret, format = WebhookFormatName(spec.format),
                created = fmt(spec.created_at);
    Poco::Int64 id = db_.insertReturningId(
        "INSERT INTO webhooks(url, secret, format, created_at) VALUES (?, ?, ?, ?)",
        [&](Statement& st) { st, use(url), use(secret), use(format), use(created); });
    for (const auto& event : spec.events) {
      std::string e = event;
      db_.exec("INSERT INTO webhook_events(event, webhook_id) VALUES (?, ?)",
               [&](Statement& st) { st, use(e), use(id); });
    }
    r.id = id;
    insertAudit(audit, id);
    return OkStatus();
  });
  if (!s.ok()) return s;
  return r;
}

StatusOr<std::vector<WebhookRecord>> SqlStore::listWebhooks() {
  HEARTH_ASSIGN_OR_RETURN(
      std::vector<WebhookRecord> hooks,
      db_.readRows("list webhooks",
                   "SELECT id AS webhook_id, url, format, created_at AS webhook_created_at "
                   "FROM webhooks ORDER BY id",
                   webhookRow));
  HEARTH_ASSIGN_OR_RETURN(
      auto events,
      db_.readRows("list webhook events",
                   "SELECT webhook_id, event FROM webhook_events ORDER BY webhook_id, event",
                   [](RecordSet& rs) {
                     return std::make_pair(integer(rs, "webhook_id"), str(rs, "event"));
                   }));
  for (auto& w : hooks) {
    for (const auto& [id, event] : events) {
      if (id == w.id) w.events.push_back(event);
    }
  }
  return hooks;
}

Status SqlStore::deleteWebhook(int64_t id, const AuditEntry* audit) {
  return db_.transaction("delete webhook", [&]() -> Status {
    Poco::Int64 i = id;
    size_t n = db_.exec("DELETE FROM webhooks WHERE id = ?", [&](Statement& st) { st, use(i); });
    if (n == 0) return NotFoundError("no webhook with id " + std::to_string(id));
    db_.exec("DELETE FROM webhook_events WHERE webhook_id = ?", [&](Statement& st) { st, use(i); });
    db_.exec("DELETE FROM webhook_deliveries WHERE webhook_id = ?",
             [&](Statement& st) { st, use(i); });
    insertAudit(audit, 0);
    return OkStatus();
  });
}

StatusOr<DueDelivery> SqlStore::createTestDelivery(int64_t id, TimePoint now,
                                                   std::chrono::seconds claim_for,
                                                   const AuditEntry* audit) {
  std::vector<DueDelivery> made;
  Status s = db_.transaction("create test delivery", [&]() -> Status {
    Poco::Int64 hook = id;
    std::string at = fmt(now), until = fmt(now + claim_for), event = "test";
    Poco::Int64 found = 0;
    db_.exec("SELECT COUNT(*) FROM webhooks WHERE id = ?",
             [&](Statement& st) { st, use(hook), into(found); });
    if (found == 0) return NotFoundError("no webhook with id " + std::to_string(id));
    // Its own id, not MAX(id): a test of the same webhook from another server could be newer.
    Poco::Int64 delivery = db_.insertReturningId(
        "INSERT INTO webhook_deliveries(webhook_id, event, created_at, next_at, claimed_until) "
        "VALUES (?, ?, ?, ?, ?)",
        [&](Statement& st) { st, use(hook), use(event), use(at), use(at), use(until); });
    RecordSet rs = db_.query(std::string(kDueQuery) + "WHERE d.id = ?", delivery);
    for (bool more = rs.moveFirst(); more; more = rs.moveNext()) made.push_back(dueRow(rs));
    insertAudit(audit, 0);
    return made.empty() ? InternalError("the test delivery just made is not there") : OkStatus();
  });
  if (!s.ok()) return s;
  return std::move(made.front());
}

StatusOr<std::vector<DueDelivery>> SqlStore::claimDueDeliveries(TimePoint now,
                                                                std::chrono::seconds claim_for,
                                                                int limit) {
  return claimDeliveryRuns(now, claim_for, limit, 1);
}

StatusOr<std::vector<DueDelivery>> SqlStore::claimDeliveryRuns(TimePoint now,
                                                               std::chrono::seconds claim_for,
                                                               int limit, int per_webhook) {
  std::string at = fmt(now);
  Poco::Int64 lim = std::max(1, std::min(limit, 1000));
  Poco::Int64 run = std::max(1, std::min(per_webhook, 1000));
  // Read first (a reader session: nothing due, the usual case, takes no writer lock), then claim.
  HEARTH_ASSIGN_OR_RETURN(
      std::vector<DueDelivery> heads,
      db_.readRows("read due webhook deliveries",
                   std::string(kDueQuery) +
                       "WHERE d.status = 'pending' AND d.next_at <= ? AND "
                       "(d.claimed_until IS NULL OR d.claimed_until <= ?) AND d.id = (SELECT "
                       "MIN(p.id) FROM webhook_deliveries p WHERE p.webhook_id = d.webhook_id "
                       "AND p.status = 'pending') ORDER BY d.id LIMIT ?",
                   dueRow, at, at, lim));
  if (heads.empty()) return heads;
  // Each head's run: the pending deliveries from it on (the queue index), up to the first one
  // that is not due or is claimed (a test delivery under way).
  std::vector<DueDelivery> due;
  for (auto& head : heads) {
    if (run == 1) {
      due.push_back(std::move(head));
      continue;
    }
    Poco::Int64 hook = head.webhook.id, first = head.delivery.id;
    HEARTH_ASSIGN_OR_RETURN(
        auto rows,
        db_.readRows(
            "read due webhook deliveries",
            std::string(kDueQuery) +
                "WHERE d.webhook_id = ? AND d.status = 'pending' AND d.id >= ? ORDER BY d.id "
                "LIMIT ?",
            [&](RecordSet& rs) {
              auto until = optString(rs, "claimed_until");
              bool free = !until || *until <= at;
              return std::make_pair(dueRow(rs), free);
            },
            hook, first, run));
    for (auto& [d, free] : rows) {
      if (!free || d.delivery.next_at > now) break;
      due.push_back(std::move(d));
    }
  }
  std::vector<DueDelivery> claimed;
  Status s = db_.transaction("claim webhook deliveries", [&]() -> Status {
    std::string until = fmt(now + claim_for);
    if (db_.dialect() == Dialect::kPostgres) {
      claimed = claimAll(due, until, at);
      return OkStatus();
    }
    Poco::Int64 id = 0;
    auto claim = db_.prepare(
        "UPDATE webhook_deliveries SET claimed_until = ? WHERE id = ? AND status = 'pending' "
        "AND (claimed_until IS NULL OR claimed_until <= ?)");
    *claim, use(until), use(id), use(at);
    // A run ends at the first delivery another server claimed meanwhile: what follows it waits.
    int64_t cut_webhook = 0;
    for (auto& d : due) {
      if (d.webhook.id == cut_webhook) continue;
      id = d.delivery.id;
      if (claim->execute() == 1) {
        claimed.push_back(std::move(d));
      } else {
        cut_webhook = d.webhook.id;
      }
    }
    return OkStatus();
  });
  if (!s.ok()) return s;
  return claimed;
}

// PostgreSQL: the claim of the whole batch in one statement (the writer, shared with the ingest,
// is held for one round trip, not one per delivery), with the same outcome as one claim after
// another: a run ends at the first delivery another server claimed meanwhile, and what this
// claim took after it in that run is released again (the rare case: two servers' workers).
std::vector<DueDelivery> SqlStore::claimAll(std::vector<DueDelivery>& due, const std::string& until,
                                            const std::string& at) {
  json::Value ids = json::Value::array();
  for (const auto& d : due) ids.push(d.delivery.id);
  std::string id_list = json::write(ids), u = until, a = at;
  std::vector<Poco::Int64> got;
  db_.exec(
      "UPDATE webhook_deliveries SET claimed_until = ? WHERE id IN (SELECT id FROM "
      "webhook_deliveries WHERE id IN (SELECT value::bigint FROM "
      "json_array_elements_text(?::json)) "
      "ORDER BY id FOR UPDATE) AND status = 'pending' AND (claimed_until IS NULL OR "
      "claimed_until <= ?) RETURNING id",
      [&](Statement& st) { st, use(u), use(id_list), use(a), into(got); });
  // Rows are locked in id order (two servers claiming at once wait, never deadlock), then each
  // claim is decided on the row as the other server left it.
  std::set<int64_t> taken(got.begin(), got.end());
  std::set<int64_t> cut;
  json::Value release = json::Value::array();
  std::vector<DueDelivery> claimed;
  for (auto& d : due) {
    bool ours = taken.count(d.delivery.id) > 0;
    if (cut.count(d.webhook.id) > 0) {
      if (ours) release.push(d.delivery.id);
      continue;
    }
    if (ours) {
      claimed.push_back(std::move(d));
    } else {
      cut.insert(d.webhook.id);
    }
  }
  if (release.size() > 0) releaseAll(json::write(release));
  return claimed;
}

// PostgreSQL: frees the claims of the deliveries in `id_list` (a JSON array of ids) that are
// still pending, in one statement.
void SqlStore::releaseAll(const std::string& id_list) {
  std::string ids = id_list;
  db_.exec(
      "UPDATE webhook_deliveries SET claimed_until = NULL WHERE id IN (SELECT value::bigint "
      "FROM json_array_elements_text(?::json)) AND status = 'pending'",
      [&](Statement& st) { st, use(ids); });
}

Status SqlStore::recordDeliveryAttempt(int64_t delivery_id, const DeliveryAttempt& attempt) {
  return recordDeliveryAttempts({{delivery_id, attempt}}, {});
}

Status SqlStore::recordDeliveryAttempts(
    const std::vector<std::pair<int64_t, DeliveryAttempt>>& attempts,
    const std::vector<int64_t>& released) {
  if (attempts.empty() && released.empty()) return OkStatus();
  // PostgreSQL: every attempt in one statement (one round trip on the writer the ingest shares),
  // unless a delivery is named twice (each attempt then counts, one after the other).
  std::set<int64_t> named;
  bool once = true;
  for (const auto& a : attempts) once = once && named.insert(a.first).second;
  if (db_.dialect() == Dialect::kPostgres && once) {
    return db_.transaction("record webhook delivery", [&]() -> Status {
      recordAll(attempts);
      json::Value ids = json::Value::array();
      for (int64_t r : released) ids.push(r);
      if (!released.empty()) releaseAll(json::write(ids));
      return OkStatus();
    });
  }
  return db_.transaction("record webhook delivery", [&]() -> Status {
    Poco::Int64 id = 0;
    std::string status, next, at;
    Nullable<Poco::Int64> http;
    Nullable<std::string> error, finished;
    auto record = db_.prepare(
        "UPDATE webhook_deliveries SET status = ?, attempts = attempts + 1, next_at = ?, "
        "claimed_until = NULL, last_attempt_at = ?, last_http_status = ?, last_error = ?, "
        "finished_at = ? WHERE id = ?");
    *record, use(status), use(next), use(at), use(http), use(error), use(finished), use(id);
    for (const auto& [delivery_id, attempt] : attempts) {
      id = delivery_id;
      at = fmt(attempt.at);
      status = attempt.delivered ? "delivered" : (attempt.retry_at ? "pending" : "failed");
      next = fmt(attempt.retry_at.value_or(attempt.at));
      http = attempt.http_status
                 ? Nullable<Poco::Int64>(static_cast<Poco::Int64>(*attempt.http_status))
                 : Nullable<Poco::Int64>();
      error = nullable(attempt.error);
      finished = status != "pending" ? Nullable<std::string>(at) : Nullable<std::string>();
      record->execute();
    }
    for (int64_t r : released) {
      Poco::Int64 rid = r;
      db_.exec(
          "UPDATE webhook_deliveries SET claimed_until = NULL WHERE id = ? AND "
          "status = 'pending'",
          [&](Statement& st) { st, use(rid); });
    }
    return OkStatus();
  });
}

void SqlStore::recordAll(const std::vector<std::pair<int64_t, DeliveryAttempt>>& attempts) {
  if (attempts.empty()) return;
  json::Value rows = json::Value::array();
  for (const auto& [delivery_id, attempt] : attempts) {
    std::string at = fmt(attempt.at);
    std::string status =
        attempt.delivered ? "delivered" : (attempt.retry_at ? "pending" : "failed");
    json::Value row = json::Value::object();
    row.set("id", delivery_id);
    row.set("next_at", fmt(attempt.retry_at.value_or(attempt.at)));
    row.set("at", at);
    row.set("http", attempt.http_status ? json::Value(static_cast<int64_t>(*attempt.http_status))
                                        : json::Value());
    row.set("error", attempt.error ? json::Value(*attempt.error) : json::Value());
    row.set("finished", status != "pending" ? json::Value(at) : json::Value());
    row.set("status", status);
    rows.push(std::move(row));
  }
  std::string text = json::write(rows);
  db_.exec(
      "UPDATE webhook_deliveries AS d SET status = v.status, attempts = d.attempts + 1, "
      "next_at = v.next_at, claimed_until = NULL, last_attempt_at = v.at, last_http_status = "
      "v.http, last_error = v.error, finished_at = v.finished FROM json_to_recordset(?::json) AS "
      "v(id BIGINT, status TEXT, next_at TEXT, at TEXT, http BIGINT, error TEXT, finished TEXT) "
      "WHERE d.id = v.id",
      [&](Statement& st) { st, use(text); });
}

StatusOr<std::vector<WebhookDelivery>> SqlStore::listDeliveries(int64_t id, int64_t before,
                                                                int limit) {
  Poco::Int64 hook = id;
  Poco::Int64 below = before > 0 ? before : std::numeric_limits<int64_t>::max();
  Poco::Int64 lim = std::max(1, std::min(limit, 1000));
  HEARTH_ASSIGN_OR_RETURN(std::vector<int64_t> exists,
                          db_.readRows(
                              "find webhook", "SELECT id FROM webhooks WHERE id = ?",
                              [](RecordSet& rs) { return integer(rs, "id"); }, hook));
  if (exists.empty()) return NotFoundError("no webhook with id " + std::to_string(id));
  return db_.readRows("list webhook deliveries",
                      std::string("SELECT ") + kDeliveryColumns +
                          " FROM webhook_deliveries d WHERE d.webhook_id = ? AND d.id < ? "
                          "ORDER BY d.id DESC LIMIT ?",
                      deliveryRow, hook, below, lim);
}

StatusOr<int64_t> SqlStore::pruneDeliveries(TimePoint before) {
  int64_t n = 0;
  Status s = db_.transaction("prune webhook deliveries", [&]() -> Status {
    std::string cutoff = fmt(before);
    n = static_cast<int64_t>(
        db_.exec("DELETE FROM webhook_deliveries WHERE status <> 'pending' AND finished_at < ?",
                 [&](Statement& st) { st, use(cutoff); }));
    return OkStatus();
  });
  if (!s.ok()) return s;
  return n;
}

}  // namespace hearth::server::sql
