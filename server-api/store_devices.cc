// The SQL store's devices: enrolment with a secret, authentication, listing and counts,
// certificate renewal, retire, approve or reject, owner, and the feed events these append.
#include <algorithm>
#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "hearth/protocol/crypto.h"
#include "hearth/server/standing.h"
#include "sql_store.h"
#include "sql_values.h"

namespace hearth::server::sql {

namespace {

using namespace Poco::Data::Keywords;  // NOLINT(google-build-using-namespace)

// SELECT ... FROM devices: every column deviceRow reads, and duplicate_machine_id. Not the
// latest result: lists show the checks summary stored beside it (issue 12: a list parsed every
// device's whole result); getDevice adds it (kLatestColumns).
constexpr const char* kDeviceColumns =
    "SELECT device_id, hostname, owner, owner_source, level, cert_serial, enrolled_at, retired_at, "
    "last_seen, "
    "agent_version, machine_id, last_sequence, reports_dropped, status, checks_summary, pending, "
    "failing_since, deadline, "
    "(CASE WHEN devices.machine_id <> '' AND devices.retired_at IS NULL AND EXISTS (SELECT 1 "
    "FROM devices o WHERE o.machine_id = devices.machine_id AND o.device_id <> "
    "devices.device_id AND o.retired_at IS NULL) THEN 1 ELSE 0 END) AS duplicate_machine_id";
constexpr const char* kLatestColumns = ", latest_result, latest_sha256";

// The rows of kDeviceColumns (and kLatestColumns when `latest`), read with into() column by
// column: a RecordSet's values by name cost a name lookup, a dynamic_cast and a Dynamic::Var each
// (half of the time of a page of 100 devices).
struct DeviceRows {
  explicit DeviceRows(bool with_latest) : latest(with_latest) {}
  bool latest;
  std::vector<std::string> device_id, hostname, level, cert_serial, enrolled_at, agent_version,
      machine_id, status;
  std::vector<Nullable<std::string>> owner, owner_source, retired_at, last_seen, checks_summary,
      failing_since, deadline, latest_result, latest_sha256;
  std::vector<Poco::Int64> last_sequence, reports_dropped, pending, duplicate_machine_id;

  // The columns in their order in kDeviceColumns (and kLatestColumns).
  void into(Statement& st) {
    st, Poco::Data::Keywords::into(device_id), Poco::Data::Keywords::into(hostname),
        Poco::Data::Keywords::into(owner), Poco::Data::Keywords::into(owner_source),
        Poco::Data::Keywords::into(level), Poco::Data::Keywords::into(cert_serial),
        Poco::Data::Keywords::into(enrolled_at), Poco::Data::Keywords::into(retired_at),
        Poco::Data::Keywords::into(last_seen), Poco::Data::Keywords::into(agent_version),
        Poco::Data::Keywords::into(machine_id), Poco::Data::Keywords::into(last_sequence),
        Poco::Data::Keywords::into(reports_dropped), Poco::Data::Keywords::into(status),
        Poco::Data::Keywords::into(checks_summary), Poco::Data::Keywords::into(pending),
        Poco::Data::Keywords::into(failing_since), Poco::Data::Keywords::into(deadline),
        Poco::Data::Keywords::into(duplicate_machine_id);
    if (latest) {
      st, Poco::Data::Keywords::into(latest_result), Poco::Data::Keywords::into(latest_sha256);
    }
  }

  size_t size() const { return device_id.size(); }

  // Row `i`; with the latest result (verified against its SHA-256) when `latest`.
  DeviceRecord at(size_t i) const {
    auto opt = [](const Nullable<std::string>& v) -> std::optional<std::string> {
      if (v.isNull()) return std::nullopt;
      return v.value();
    };
    auto time = [](const Nullable<std::string>& v) -> std::optional<TimePoint> {
      if (v.isNull()) return std::nullopt;
      return parseTime(v.value());
    };
    DeviceRecord d;
    d.device_id = device_id[i];
    d.hostname = hostname[i];
    d.owner = opt(owner[i]);
    if (d.owner) d.owner_source = opt(owner_source[i]);
    d.level = level[i];
    d.cert_serial = cert_serial[i];
    d.enrolled_at = parseTime(enrolled_at[i]);
    d.retired_at = time(retired_at[i]);
    d.last_seen = time(last_seen[i]);
    d.agent_version = agent_version[i];
    d.machine_id = machine_id[i];
    d.last_sequence = last_sequence[i];
    d.reports_dropped = reports_dropped[i];
    d.status = status[i];
    d.pending_approval = pending[i] != 0;
    d.duplicate_machine_id = duplicate_machine_id[i] != 0;
    d.checks_summary = ParseChecksSummary(opt(checks_summary[i]));
    d.failing_since = time(failing_since[i]);
    d.deadline = time(deadline[i]);
    if (!latest || latest_result[i].isNull()) return d;
    const std::string& text = latest_result[i].value();
    auto v = json::parse(text, {.max_depth = 64, .max_bytes = 4 << 20});
    if ((!latest_sha256[i].isNull() && protocol::Sha256Hex(text) != latest_sha256[i].value()) ||
        !v.ok()) {
      d.latest_result_damaged = true;
      return d;
    }
    d.latest_result = std::move(v).value();
    return d;
  }
};

// deviceForAuth's read, on every request of a device: prepared once per reader session (made
// afresh, it cost PostgreSQL a parse and a plan per request, more than any statement of the
// report's ingest).
struct AuthRead final : ReaderStatements {
  explicit AuthRead(const Prepare& prepare)
      : select(
            prepare("SELECT level, cert_serial, cert_key_sha256, retired_at, pending_cert_serial, "
                    "pending_cert_key_sha256 FROM devices WHERE device_id = ?")) {
    select->use(id).into(level).into(serial).into(key).into(retired).into(pending).into(
        pending_key);
  }
  std::string id, level, serial;
  Nullable<std::string> key, retired, pending, pending_key;
  std::unique_ptr<HotStatement> select;
};

}  // namespace

StatusOr<DeviceRecord> SqlStore::enrollDevice(const std::string& secret_hash,
                                              const DeviceRecord& device, TimePoint now_time,
                                              const SpikeRule& spike) {
  DeviceRecord d = device;
  Status s = db_.transaction("enrol device", [&]() -> Status {
    std::string hash = secret_hash;
    RecordSet rs = db_.query(
        "SELECT id, level, owner, uses_left, uses, expires_at, created_at, "
        "revoked_at, approval FROM enroll_secrets WHERE secret_hash = ?",
        hash);
    constexpr const char* kAskIt = "; ask IT for a new enrolment secret";
    if (!rs.moveFirst()) {
      return NotFoundError(
          "unknown enrolment secret: check that it was copied whole (it starts with hes_)" +
          std::string(kAskIt));
    }
    Poco::Int64 id = integer(rs, "id");
    auto revoked = optTime(rs, "revoked_at");
    auto expires = optTime(rs, "expires_at");
    auto uses_left = optInt(rs, "uses_left");
    int64_t uses = integer(rs, "uses");
    bool approval = integer(rs, "approval") != 0;
    if (revoked) {
      return FailedPreconditionError("this enrolment secret was revoked on " + fmt(*revoked) +
                                     kAskIt);
    }
    if (expires && *expires <= now_time) {
      return DeadlineExceededError("this enrolment secret expired on " + fmt(*expires) + kAskIt);
    }
    auto usedUp = [&] {
      return ResourceExhaustedError(
          uses == 1
              ? "this enrolment secret was for one PC only and is used up" + std::string(kAskIt)
              : "this enrolment secret has been used up (" + std::to_string(uses) + " enrolments)" +
                    kAskIt);
    };
    if (uses_left && *uses_left <= 0) return usedUp();
    if (d.level.empty()) d.level = str(rs, "level");
    // A per-person secret binds the device to its owner, whatever the request says: IT set that
    // owner. One the request declares is the PC's word only (owner_source, migration 13).
    Nullable<std::string> owner_source;
    if (auto bound = optString(rs, "owner")) {
      d.owner = bound;
      owner_source = std::string("secret");
    } else if (d.owner) {
      owner_source = std::string("device");
    }
    d.owner_source = d.owner ? std::optional<std::string>(owner_source.value()) : std::nullopt;
    size_t n = db_.exec(
        "UPDATE enroll_secrets SET uses = uses + 1, "
        "uses_left = CASE WHEN uses_left IS NULL THEN NULL ELSE uses_left - 1 END "
        "WHERE id = ? AND (uses_left IS NULL OR uses_left > 0)",
        [&](Statement& u) { u, use(id); });
    if (n != 1) return usedUp();
    std::string dev = d.device_id, host = d.hostname, level = d.level, serial = d.cert_serial;
    std::string enrolled = fmt(d.enrolled_at);
    Nullable<std::string> owner = nullable(d.owner);
    Nullable<std::string> key = d.cert_key_sha256.empty()
                                    ? Nullable<std::string>()
                                    : Nullable<std::string>(d.cert_key_sha256);
    int pending = approval ? 1 : 0;
    // The certificate's expiry with the device, in the enrolment's transaction.
    Nullable<std::string> not_after = nullableTime(d.cert_not_after);
    db_.exec(
        "INSERT INTO devices(device_id, hostname, owner, owner_source, level, cert_serial, "
        "cert_key_sha256, enrolled_at, secret_id, pending, cert_not_after) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [&](Statement& i) {
          i, use(dev), use(host), use(owner), use(owner_source), use(level), use(serial), use(key),
              use(enrolled), use(id), use(pending), use(not_after);
        });
    d.pending_approval = approval;
    appendEvent(enrolled, dev, "enrolled", std::nullopt);
    if (approval) appendEvent(enrolled, dev, "pending", std::nullopt);
    // A spike: more enrolments with this secret within the window than the threshold, and no
    // spike event for it within the window yet (one per window, not one per enrolment).
    std::string since = fmt(now_time - spike.window);
    Poco::Int64 recent = 0;
    db_.exec("SELECT COUNT(*) FROM devices WHERE secret_id = ? AND enrolled_at >= ?",
             [&](Statement& c) { c, use(id), use(since), into(recent); });
    if (recent > spike.threshold) {
      // The secret remembers its last spike: one row update decides, across processes too.
      size_t marked = db_.exec(
          "UPDATE enroll_secrets SET spike_at = ? WHERE id = ? AND "
          "(spike_at IS NULL OR spike_at < ?)",
          [&](Statement& u) { u, use(enrolled), use(id), use(since); });
      if (marked == 1) {
        appendEvent(enrolled, dev, "enrolment_spike",
                    "{\"secret_id\":" + std::to_string(id) +
                        ",\"count\":" + std::to_string(recent) +
                        ",\"window_seconds\":" + std::to_string(spike.window.count()) + "}");
      }
    }
    return OkStatus();
  });
  if (!s.ok()) return s;
  d.status = "unknown";
  return d;
}

StatusOr<DeviceRecord> SqlStore::getDevice(const std::string& device_id) {
  std::string id = device_id;
  DeviceRows rows(true);
  Status s = db_.read("read device", [&](Session& db) -> Status {
    db_.execOn(db,
               std::string(kDeviceColumns) + kLatestColumns + " FROM devices WHERE device_id = ?",
               [&](Statement& st) {
                 st, use(id);
                 rows.into(st);
               });
    return OkStatus();
  });
  if (!s.ok()) return s;
  if (rows.size() == 0) return NotFoundError("no device " + device_id);
  return rows.at(0);
}

StatusOr<DeviceRecord> SqlStore::deviceForAuth(const std::string& device_id) {
  std::optional<DeviceRecord> found;
  Status s = db_.readHot<AuthRead>("read device", [&](AuthRead& a) -> Status {
    a.id = device_id;
    a.level.clear();
    a.serial.clear();
    a.key = a.retired = a.pending = a.pending_key = Nullable<std::string>();
    HEARTH_ASSIGN_OR_RETURN(size_t n, a.select->execute());
    if (n == 0) return OkStatus();
    DeviceRecord d;
    d.device_id = device_id;
    d.level = a.level;
    d.cert_serial = a.serial;
    if (!a.key.isNull()) d.cert_key_sha256 = a.key.value();
    if (!a.retired.isNull()) d.retired_at = parseTime(a.retired.value());
    if (!a.pending.isNull()) d.pending_cert_serial = a.pending.value();
    if (!a.pending_key.isNull()) d.pending_cert_key_sha256 = a.pending_key.value();
    found = std::move(d);
    return OkStatus();
  });
  if (!s.ok()) return s;
  if (!found) return NotFoundError("no device " + device_id);
  return *found;
}

StatusOr<std::vector<DeviceRecord>> SqlStore::listDevices(const DeviceFilter& f) {
  std::string status = f.status.value_or("");
  bool retired = status == "retired";
  // The page's device ids first (an index may answer the filter and the order without reading
  // the rows: `--failing-for` at 100,000 devices), then their rows.
  std::string q = std::string("SELECT device_id FROM devices WHERE retired_at IS ") +
                  (retired ? "NOT NULL" : "NULL");
  std::string stale_cutoff = fmt(f.now - f.stale_after), now_text = fmt(f.now);
  std::string level = f.level.value_or(""), owner = f.owner.value_or(""),
              check = f.check.value_or("");
  // The search as a LIKE pattern: the text lower-cased (ASCII), its own % _ and \ escaped.
  std::string search;
  if (f.search) {
    search = "%";
    for (char c : *f.search) {
      if (c == '%' || c == '_' || c == '\\') search += '\\';
      search += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    }
    search += "%";
  }
  std::string failing_cutoff = f.failing_for ? fmt(f.now - *f.failing_for) : "";
  Poco::Int64 limit = std::max(1, std::min(f.limit, 1000));
  // The cursor: a device_id, or "failing_since|device_id" (failing_since empty: none) sorted
  // by failing_since, devices without one after those with one.
  std::string after = f.after, after_since;
  if (f.sort_failing_since && !f.after.empty()) {
    size_t bar = f.after.find('|');
    after_since = bar == std::string::npos ? "" : f.after.substr(0, bar);
    after = bar == std::string::npos ? f.after : f.after.substr(bar + 1);
  }
  // "~" sorts after every RFC 3339 time byte by byte: devices without failing_since come last.
  // PostgreSQL compares text by the database's collation, where punctuation may sort first
  // (en_US, ICU): there the key is compared in "C" (migration 15 indexes it so).
  const char* since_key = db_.dialect() == Dialect::kPostgres
                              ? "(COALESCE(failing_since, '~') COLLATE \"C\")"
                              : "COALESCE(failing_since, '~')";
  bool sorted_after = f.sort_failing_since && !f.after.empty();
  if (sorted_after) {
    if (after_since.empty()) after_since = "~";
    q += std::string(" AND (") + since_key + " > ? OR (" + since_key + " = ? AND device_id > ?))";
  } else if (!f.sort_failing_since) {
    q += " AND device_id > ?";
  }
  // Stale devices are listed as stale, not under their last status.
  const char* fresh = " AND COALESCE(last_seen, enrolled_at) >= ?";
  // Devices awaiting approval are listed as pending, under no compliance status. A device's
  // deadline is compared with `now`: an at_risk (or unknown) device past it is noncompliant.
  bool binds_now = false;
  if (f.status && !retired) {
    if (status == "pending") {
      q += " AND pending = 1";
    } else if (status == "stale") {
      q += " AND pending = 0 AND COALESCE(last_seen, enrolled_at) < ?";
    } else {
      q += fresh;
      q += " AND pending = 0";
      if (status == "noncompliant") {
        q += " AND (status = 'noncompliant' OR (status <> 'compliant' AND deadline <= ?))";
        binds_now = true;
      } else if (status == "at_risk" || status == "unknown") {
        q += " AND status = ? AND (deadline IS NULL OR deadline > ?)";
        binds_now = true;
      } else {
        q += " AND status = ?";
      }
    }
  }
  if (f.level) q += " AND level = ?";
  if (f.owner) q += " AND owner = ?";
  if (f.check) {
    q += " AND EXISTS (SELECT 1 FROM check_state c WHERE c.device_id = devices.device_id AND "
         "c.check_id = ? AND c.verdict = 'fail')";
  }
  if (f.failing_for) q += " AND failing_since <= ?";
  if (f.search) {
    q += " AND (LOWER(hostname) LIKE ? ESCAPE '\\' OR LOWER(COALESCE(owner, '')) LIKE ? ESCAPE "
         "'\\')";
  }
  std::string order = f.sort_failing_since ? std::string(" ORDER BY ") + since_key + ", device_id"
                                           : " ORDER BY device_id";
  q = std::string(kDeviceColumns) + " FROM devices WHERE device_id IN (" + q + order + " LIMIT ?)" +
      order;
  auto bind = [&](Statement& st) {
    if (sorted_after) st, use(after_since), use(after_since);
    if (sorted_after || !f.sort_failing_since) st, use(after);
    if (f.status && !retired && status != "pending") {
      st, use(stale_cutoff);
      if (status == "noncompliant") {
        st, use(now_text);
      } else if (status != "stale") {
        st, use(status);
        if (binds_now) st, use(now_text);
      }
    }
    if (f.level) st, use(level);
    if (f.owner) st, use(owner);
    if (f.check) st, use(check);
    if (f.failing_for) st, use(failing_cutoff);
    if (f.search) st, use(search), use(search);
    st, use(limit);
  };
  DeviceRows rows(false);
  Status s = db_.read("list devices", [&](Session& db) -> Status {
    db_.execOn(db, q, [&](Statement& st) {
      bind(st);
      rows.into(st);
    });
    return OkStatus();
  });
  if (!s.ok()) return s;
  std::vector<DeviceRecord> out;
  out.reserve(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    DeviceRecord d = rows.at(i);
    d.status = StatusAt(d.status, d.deadline, f.now);
    TimePoint seen = d.last_seen.value_or(d.enrolled_at);
    if (seen < f.now - f.stale_after) d.status = "stale";
    if (d.pending_approval) d.status = "pending";
    out.push_back(std::move(d));
  }
  return out;
}

Status SqlStore::setDeviceLevel(const std::string& device_id, const std::string& level,
                                TimePoint at, const AuditEntry* audit) {
  return db_.transaction("set device level", [&]() -> Status {
    std::string id = device_id, l = level;
    Poco::Int64 policies = 0;
    db_.exec("SELECT COUNT(*) FROM policies WHERE level = ?",
             [&](Statement& st) { st, use(l), into(policies); });
    if (policies == 0) {
      return FailedPreconditionError("level \"" + level +
                                     "\" has no policy; set one first (hearth-server policy set)");
    }
    std::vector<std::string> was;
    db_.exec("SELECT level FROM devices WHERE device_id = ? AND retired_at IS NULL",
             [&](Statement& st) { st, use(id), into(was); });
    size_t n = db_.exec("UPDATE devices SET level = ? WHERE device_id = ? AND retired_at IS NULL",
                        [&](Statement& st) { st, use(l), use(id); });
    if (n == 0) return NotFoundError("no active device " + device_id);
    // What held when, for the period report.
    if (!was.empty() && was.front() != level) {
      noteHistoryChange(device_id, fmt(at), "level", "", was.front(), level);
    }
    restandForLevel(device_id, level, at);
    insertAudit(audit, 0);
    return OkStatus();
  });
}

Status SqlStore::setPendingCertificate(const std::string& device_id,
                                       const std::string& current_serial,
                                       const std::string& new_serial,
                                       const std::string& new_key_sha256, TimePoint,
                                       const std::optional<TimePoint>& new_not_after) {
  return db_.write("record a renewed certificate", [&]() -> Status {
    std::string id = device_id, current = current_serial, next = new_serial,
                next_key = new_key_sha256;
    // Its expiry with it, in one statement: nothing can lose it between the two.
    Nullable<std::string> not_after = nullableTime(new_not_after);
    size_t n = db_.exec(
        "UPDATE devices SET pending_cert_serial = ?, pending_cert_key_sha256 = ?, "
        "pending_cert_not_after = ? WHERE device_id = ? AND cert_serial = ? AND "
        "retired_at IS NULL",
        [&](Statement& st) {
          st, use(next), use(next_key), use(not_after), use(id), use(current);
        });
    if (n == 0) {
      return FailedPreconditionError("device " + device_id +
                                     " is retired or its current certificate is another");
    }
    return OkStatus();
  });
}

Status SqlStore::bindCertificateKey(const std::string& device_id, const std::string& serial,
                                    const std::string& key_sha256) {
  return db_.write("bind a device's key", [&]() -> Status {
    std::string id = device_id, current = serial, key = key_sha256;
    size_t n = db_.exec(
        "UPDATE devices SET cert_key_sha256 = ? WHERE device_id = ? AND cert_serial = ? "
        "AND cert_key_sha256 IS NULL AND retired_at IS NULL",
        [&](Statement& st) { st, use(key), use(id), use(current); });
    if (n == 0) {
      return FailedPreconditionError("device " + device_id +
                                     " has a bound key, another certificate or is retired");
    }
    return OkStatus();
  });
}

Status SqlStore::promotePendingCertificate(const std::string& device_id, const std::string& serial,
                                           TimePoint at) {
  return db_.transaction("promote a renewed certificate", [&]() -> Status {
    std::string id = device_id, next = serial, when = fmt(at);
    size_t n = db_.exec(
        "UPDATE devices SET cert_serial = pending_cert_serial, pending_cert_serial = NULL, "
        "cert_key_sha256 = pending_cert_key_sha256, pending_cert_key_sha256 = NULL, "
        "cert_not_after = pending_cert_not_after, pending_cert_not_after = NULL "
        "WHERE device_id = ? AND pending_cert_serial = ? AND retired_at IS NULL",
        [&](Statement& st) { st, use(id), use(next); });
    if (n == 0) {
      return FailedPreconditionError("certificate " + serial + " is not device " + device_id +
                                     "'s pending certificate");
    }
    appendEvent(when, id, "renewed", std::nullopt);
    return OkStatus();
  });
}

Status SqlStore::retireDevice(const std::string& device_id, TimePoint at, const AuditEntry* audit) {
  return db_.transaction("retire device", [&]() -> Status {
    std::string id = device_id, when = fmt(at);
    size_t n = db_.exec(
        "UPDATE devices SET retired_at = ?, pending = 0 WHERE device_id = ? AND retired_at "
        "IS NULL",
        [&](Statement& st) { st, use(when), use(id); });
    if (n == 0) return NotFoundError("no active device " + device_id);
    appendEvent(when, id, "retired", std::nullopt);
    insertAudit(audit, 0);
    return OkStatus();
  });
}

Status SqlStore::approveDevice(const std::string& device_id, TimePoint at,
                               const AuditEntry* audit) {
  return decidePending(device_id, at, true, audit);
}

Status SqlStore::rejectDevice(const std::string& device_id, TimePoint at, const AuditEntry* audit) {
  return decidePending(device_id, at, false, audit);
}

Status SqlStore::decidePending(const std::string& device_id, TimePoint at, bool approve,
                               const AuditEntry* audit) {
  return db_.transaction(approve ? "approve device" : "reject device", [&]() -> Status {
    std::string id = device_id, when = fmt(at);
    size_t n = approve
                   ? db_.exec(
                         "UPDATE devices SET pending = 0 WHERE device_id = ? AND pending = 1 AND "
                         "retired_at IS NULL",
                         [&](Statement& st) { st, use(id); })
                   : db_.exec(
                         "UPDATE devices SET pending = 0, retired_at = ? WHERE device_id = ? AND "
                         "pending = 1 AND retired_at IS NULL",
                         [&](Statement& st) { st, use(when), use(id); });
    if (n == 0) return NotFoundError("no device " + device_id + " waiting for approval");
    appendEvent(when, id, approve ? "approved" : "rejected", std::nullopt);
    // It raised no device event while it waited: an approved device that is noncompliant
    // raises it now (a rejected one is retired: nothing to decide).
    if (approve) redecideDevice(device_id, at);
    insertAudit(audit, 0);
    return OkStatus();
  });
}

Status SqlStore::setDeviceOwner(const std::string& device_id,
                                const std::optional<std::string>& owner, const AuditEntry* audit) {
  // Without an audit entry (tests, tools), the device is decided again now.
  AuditEntry entry = audit != nullptr ? *audit : NewAuditEntry("", "device.owner", "");
  return setDeviceOwners({{device_id, owner, std::move(entry)}}, audit != nullptr);
}

StatusOr<std::vector<std::pair<std::string, int64_t>>> SqlStore::deviceCounts(
    TimePoint now_time, std::chrono::seconds stale_after) {
  std::string cutoff = fmt(now_time - stale_after), now_text = fmt(now_time);
  return db_.readRows(
      "count devices",
      "SELECT CASE WHEN pending = 1 THEN 'pending' "
      "WHEN COALESCE(last_seen, enrolled_at) < ? THEN 'stale' "
      "WHEN status <> 'compliant' AND deadline <= ? THEN 'noncompliant' ELSE status END "
      "AS s, COUNT(*) AS n FROM devices WHERE retired_at IS NULL "
      "GROUP BY 1 ORDER BY 1",
      [](RecordSet& rs) { return std::make_pair(str(rs, "s"), integer(rs, "n")); }, cutoff,
      now_text);
}

void SqlStore::appendEvent(const std::string& at, const std::string& device_id,
                           const std::string& type, const std::optional<std::string>& detail) {
  std::string a = at, dev = device_id, t = type;
  Nullable<std::string> det = nullable(detail);
  db_.exec("INSERT INTO events(at, device_id, type, detail) VALUES (?, ?, ?, ?)",
           [&](Statement& e) { e, use(a), use(dev), use(t), use(det); });
}

}  // namespace hearth::server::sql
