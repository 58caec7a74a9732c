// The SQL store's compliance workflow outside ingest (issue 14): exemptions granted, listed,
// revoked and lapsing, deadlines passing without a report, and deciding a device's standing
// again when one of these changes it (with the device event it brings).
#include <algorithm>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "hearth/server/standing.h"
#include "hearth/time.h"
#include "sql_store.h"
#include "sql_values.h"

namespace hearth::server::sql {

namespace {

using namespace Poco::Data::Keywords;  // NOLINT(google-build-using-namespace)

constexpr const char* kExemptionColumns =
    "SELECT id, device_id, owner, check_id, until_at, reason, created_at, created_by, "
    "revoked_at, expired_at FROM exemptions";

ExemptionRecord exemptionRow(RecordSet& rs) {
  ExemptionRecord e;
  e.id = integer(rs, "id");
  e.device_id = optString(rs, "device_id");
  e.owner = optString(rs, "owner");
  e.check = str(rs, "check_id");
  e.until = parseTime(str(rs, "until_at"));
  e.reason = str(rs, "reason");
  e.created_at = parseTime(str(rs, "created_at"));
  e.created_by = str(rs, "created_by");
  e.revoked_at = optTime(rs, "revoked_at");
  e.expired_at = optTime(rs, "expired_at");
  return e;
}

// The active devices exemption `?` covers: its device, or the devices of its owner whose owner IT
// set (kItOwnerSources).
std::string coveredDevices() {
  return std::string(
             "SELECT v.device_id FROM exemptions e JOIN devices v ON v.device_id = e.device_id OR "
             "(v.owner = e.owner AND v.owner_source IN ") +
         kItOwnerSources + ") WHERE e.id = ? AND v.retired_at IS NULL";
}

// At most this many lapsed exemptions or passed deadlines per maintenance pass (the next pass
// takes the rest).
constexpr int kExpireBatch = 500;

}  // namespace

void SqlStore::redecideDevice(const std::string& device_id, TimePoint at) {
  std::string id = device_id, status, owner;
  Nullable<std::string> summary, failing, retired;
  Poco::Int64 alerted = 0, pending = 0;
  // Locked until commit on PostgreSQL: a second server deciding this device meanwhile waits and
  // reads `alerted` as this one leaves it (one device event, not one per server).
  size_t found = db_.exec(
      std::string("SELECT status, checks_summary, failing_since, alerted, CASE WHEN owner_source "
                  "IN ") +
          kItOwnerSources +
          " THEN COALESCE(owner, '') ELSE '' END, retired_at, pending "
          "FROM devices WHERE device_id = ?" +
          rowLock("devices"),
      [&](Statement& st) {
        st, use(id), into(status), into(summary), into(failing), into(alerted), into(owner),
            into(retired), into(pending);
      });
  // Nothing to decide for a device that is gone, retired or has not reported yet.
  if (found == 0 || !retired.isNull() || summary.isNull()) return;
  json::Value stored = ParseChecksSummary(summary.value());
  std::vector<CheckStanding> checks = StandingFromSummary(stored);
  if (checks.empty()) return;
  std::vector<std::string> exempt_ids, exempt_until;
  std::string when = fmt(at);
  db_.exec(
      "SELECT check_id, MAX(until_at) FROM exemptions WHERE revoked_at IS NULL AND expired_at "
      "IS NULL AND until_at > ? AND (device_id = ? OR (owner = ? AND owner <> '')) GROUP BY "
      "check_id",
      [&](Statement& st) {
        st, use(when), use(id), use(owner), into(exempt_ids), into(exempt_until);
      });
  bool agent_compliant = true;
  for (auto& c : checks) {
    c.exempt_until.reset();
    for (size_t i = 0; i < exempt_ids.size(); ++i) {
      if (exempt_ids[i] == c.id) c.exempt_until = parseTime(exempt_until[i]);
    }
    if (c.required && (c.verdict == "fail" || c.verdict == "unknown")) agent_compliant = false;
  }
  DeviceStanding decided = DecideStanding(checks, agent_compliant, at);
  std::optional<TimePoint> previous =
      failing.isNull() ? std::nullopt : std::optional<TimePoint>(parseTime(failing.value()));
  Nullable<std::string> failing_since = nullableTime(FailingSince(decided.status, previous, at));
  Nullable<std::string> deadline = nullableTime(decided.deadline);
  std::string text = json::write(SummaryWithStanding(stored, checks));
  // None for a device awaiting approval (its approval decides it again).
  const char* event = pending != 0 ? nullptr : DeviceEventFor(decided.status, alerted != 0);
  if (event != nullptr) {
    appendEvent(when, id, event, std::nullopt);
    alerted = std::string(event) == "device_noncompliant" ? 1 : 0;
  }
  db_.exec(
      "UPDATE devices SET status = ?, deadline = ?, failing_since = ?, alerted = ?, "
      "checks_summary = ? WHERE device_id = ?",
      [&](Statement& st) {
        st, use(decided.status), use(deadline), use(failing_since), use(alerted), use(text),
            use(id);
      });
}

StatusOr<ExemptionRecord> SqlStore::createExemption(const ExemptionRecord& spec,
                                                    const AuditEntry* audit) {
  ExemptionRecord made = spec;
  Status s = db_.transaction("grant an exemption", [&]() -> Status {
    std::vector<std::string> devices;
    if (spec.device_id) {
      std::string id = *spec.device_id;
      db_.exec("SELECT device_id FROM devices WHERE device_id = ? AND retired_at IS NULL",
               [&](Statement& st) { st, use(id), into(devices); });
      if (devices.empty()) return NotFoundError("no active device " + id);
    } else {
      std::string owner = spec.owner.value_or("");
      db_.exec(std::string("SELECT device_id FROM devices WHERE owner = ? AND retired_at IS NULL "
                           "AND owner_source IN ") +
                   kItOwnerSources,
               [&](Statement& st) { st, use(owner), into(devices); });
    }
    Nullable<std::string> device = nullable(spec.device_id), owner = nullable(spec.owner);
    std::string check = spec.check, until = fmt(spec.until), reason = spec.reason,
                created = fmt(spec.created_at), by = spec.created_by;
    Poco::Int64 id = db_.insertReturningId(
        "INSERT INTO exemptions(device_id, owner, check_id, until_at, reason, created_at, "
        "created_by) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [&](Statement& st) {
          st, use(device), use(owner), use(check), use(until), use(reason), use(created), use(by);
        });
    made.id = id;
    insertAudit(audit, id);
    for (const auto& d : devices) redecideDevice(d, spec.created_at);
    return OkStatus();
  });
  if (!s.ok()) return s;
  return made;
}

StatusOr<std::vector<ExemptionRecord>> SqlStore::listExemptions(bool active_only,
                                                                TimePoint now_time, int64_t before,
                                                                int limit) {
  std::string now_text = fmt(now_time);
  Poco::Int64 below = before > 0 ? before : std::numeric_limits<Poco::Int64>::max();
  Poco::Int64 page = std::clamp(limit, 1, kMaxExemptionPage);
  std::string q = std::string(kExemptionColumns) + " WHERE id < ?";
  if (active_only) q += " AND revoked_at IS NULL AND expired_at IS NULL AND until_at > ?";
  q += " ORDER BY id DESC LIMIT ?";
  return db_.readRowsBound(
      "list exemptions", q,
      [&](Statement& st) {
        st, use(below);
        if (active_only) st, use(now_text);
        st, use(page);
      },
      exemptionRow);
}

Status SqlStore::revokeExemption(int64_t id, TimePoint at, const AuditEntry* audit) {
  return db_.transaction("revoke an exemption", [&]() -> Status {
    Poco::Int64 i = id;
    std::string when = fmt(at);
    size_t n = db_.exec(
        "UPDATE exemptions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL AND "
        "expired_at IS NULL",
        [&](Statement& st) { st, use(when), use(i); });
    if (n == 0) return NotFoundError("no live exemption with id " + std::to_string(id));
    std::vector<std::string> devices;
    db_.exec(coveredDevices(), [&](Statement& st) { st, use(i), into(devices); });
    insertAudit(audit, 0);
    for (const auto& d : devices) redecideDevice(d, at);
    return OkStatus();
  });
}

StatusOr<int> SqlStore::expireDeadlines(TimePoint now_time) {
  int added = 0;
  Status s = db_.transaction("pass deadlines and lapsed exemptions", [&]() -> Status {
    std::string now_text = fmt(now_time);
    Poco::Int64 batch = kExpireBatch;
    // Lapsed exemptions: each marked once, an exemption_expired per device it covered (at the
    // moment it lapsed), and those devices decided again now.
    std::vector<Poco::Int64> ids;
    std::vector<std::string> checks, untils;
    db_.exec(
        "SELECT id, check_id, until_at FROM exemptions WHERE revoked_at IS NULL AND expired_at "
        "IS NULL AND until_at <= ? ORDER BY until_at, id LIMIT ?",
        [&](Statement& st) {
          st, use(now_text), use(batch), into(ids), into(checks), into(untils);
        });
    for (size_t i = 0; i < ids.size(); ++i) {
      Poco::Int64 id = ids[i];
      // One row update decides: another server that marked it first (committed, or holding the
      // row until it commits) leaves none here, and this one raises nothing for it.
      size_t marked = db_.exec(
          "UPDATE exemptions SET expired_at = ? WHERE id = ? AND expired_at IS NULL AND "
          "revoked_at IS NULL",
          [&](Statement& st) { st, use(now_text), use(id); });
      if (marked != 1) continue;
      std::vector<std::string> devices;
      db_.exec(coveredDevices(), [&](Statement& st) { st, use(id), into(devices); });
      std::string type = "exemption_expired", detail = "{\"exemption_id\":" + std::to_string(id) +
                                                       ",\"until\":\"" + untils[i] + "\"}";
      for (auto& d : devices) {
        db_.exec("INSERT INTO events(at, device_id, type, check_id, detail) VALUES (?, ?, ?, ?, ?)",
                 [&](Statement& st) {
                   st, use(untils[i]), use(d), use(type), use(checks[i]), use(detail);
                 });
        ++added;
        redecideDevice(d, now_time);
      }
    }
    // Deadlines passed without a report: device_noncompliant at the deadline, once (not for a
    // device awaiting approval). The row update decides, as above: across servers too.
    std::vector<std::string> devices, deadlines;
    db_.exec(
        "SELECT device_id, deadline FROM devices WHERE alerted = 0 AND deadline <= ? AND "
        "status <> 'compliant' AND retired_at IS NULL AND pending = 0 ORDER BY deadline LIMIT ?",
        [&](Statement& st) { st, use(now_text), use(batch), into(devices), into(deadlines); });
    for (size_t i = 0; i < devices.size(); ++i) {
      std::string d = devices[i], deadline = deadlines[i];
      size_t marked = db_.exec(
          "UPDATE devices SET alerted = 1 WHERE device_id = ? AND alerted = 0 AND deadline = ? "
          "AND status <> 'compliant' AND retired_at IS NULL AND pending = 0",
          [&](Statement& st) { st, use(d), use(deadline); });
      if (marked != 1) continue;
      appendEvent(deadlines[i], devices[i], "device_noncompliant", std::nullopt);
      ++added;
    }
    return OkStatus();
  });
  if (!s.ok()) return s;
  return added;
}

StatusOr<int> SqlStore::markExpiringExemptions(TimePoint now_time, std::chrono::seconds within) {
  int added = 0;
  Status s = db_.transaction("raise exemption_expiring events", [&]() -> Status {
    std::string now_text = fmt(now_time), horizon = fmt(now_time + within);
    Poco::Int64 batch = kExpireBatch;
    std::vector<Poco::Int64> ids;
    std::vector<std::string> checks, untils;
    db_.exec(
        "SELECT id, check_id, until_at FROM exemptions WHERE expiring_alerted = 0 AND "
        "revoked_at IS NULL AND expired_at IS NULL AND until_at > ? AND until_at <= ? "
        "ORDER BY until_at, id LIMIT ?",
        [&](Statement& st) {
          st, use(now_text), use(horizon), use(batch), into(ids), into(checks), into(untils);
        });
    for (size_t i = 0; i < ids.size(); ++i) {
      Poco::Int64 id = ids[i];
      // One row update decides: another server that raised it first wins, this one adds nothing.
      size_t n = db_.exec(
          "UPDATE exemptions SET expiring_alerted = 1 WHERE id = ? AND expiring_alerted = 0",
          [&](Statement& st) { st, use(id); });
      if (n != 1) continue;
      TimePoint until = parseTime(untils[i]);
      json::Value detail = json::Value::object();
      detail.set("exemption_id", static_cast<int64_t>(id));
      detail.set("until", formatRfc3339(until));
      detail.set(
          "days_left",
          static_cast<int64_t>(
              std::chrono::duration_cast<std::chrono::hours>(until - now_time).count() / 24));
      std::string type = "exemption_expiring", text = json::write(detail);
      std::vector<std::string> devices;
      db_.exec(coveredDevices(), [&](Statement& st) { st, use(id), into(devices); });
      for (auto& d : devices) {
        db_.exec("INSERT INTO events(at, device_id, type, check_id, detail) VALUES (?, ?, ?, ?, ?)",
                 [&](Statement& st) {
                   st, use(now_text), use(d), use(type), use(checks[i]), use(text);
                 });
        ++added;
      }
    }
    return OkStatus();
  });
  if (!s.ok()) return s;
  return added;
}

}  // namespace hearth::server::sql
