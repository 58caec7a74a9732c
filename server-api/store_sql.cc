// Store on Poco::Data: SQLite (default) and PostgreSQL. SQL is written once with `?`
// placeholders and rewritten to `$1..$n` for PostgreSQL; the few dialect differences (types,
// auto-increment, pragmas) are in the migration tables below.
#include <atomic>
#include <map>
#include <mutex>
#include <set>

#include <Poco/Data/PostgreSQL/Connector.h>
#include <Poco/Data/RecordSet.h>
#include <Poco/Data/SQLite/Connector.h>
#include <Poco/Data/Session.h>
#include <Poco/Data/Statement.h>
#include <Poco/Exception.h>
#include <Poco/Nullable.h>

#include "hearth/result.h"
#include "hearth/server/store.h"

namespace hearth::server {

namespace {

using Poco::Nullable;
using Poco::Data::RecordSet;
using Poco::Data::Session;
using Poco::Data::Statement;
using namespace Poco::Data::Keywords;  // NOLINT(google-build-using-namespace)

enum class Dialect { kSqlite, kPostgres };

struct Migration {
  int version;
  const char* sqlite;
  const char* postgres;
};

// Append only: a released migration is never edited.
const Migration kMigrations[] = {
    {1,
     R"sql(
CREATE TABLE enroll_secrets (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  secret_hash TEXT NOT NULL UNIQUE,
  level TEXT NOT NULL,
  owner TEXT,
  uses_left INTEGER,
  uses INTEGER NOT NULL DEFAULT 0,
  expires_at TEXT,
  created_at TEXT NOT NULL,
  revoked_at TEXT);
CREATE TABLE admin_tokens (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL,
  token_hash TEXT NOT NULL UNIQUE,
  scope TEXT NOT NULL,
  created_at TEXT NOT NULL,
  expires_at TEXT,
  revoked_at TEXT);
CREATE TABLE policies (
  level TEXT NOT NULL,
  version INTEGER NOT NULL,
  body TEXT NOT NULL,
  signature TEXT NOT NULL,
  created_at TEXT NOT NULL,
  PRIMARY KEY (level, version));
CREATE TABLE devices (
  device_id TEXT PRIMARY KEY,
  hostname TEXT NOT NULL,
  owner TEXT,
  level TEXT NOT NULL,
  cert_serial TEXT NOT NULL,
  enrolled_at TEXT NOT NULL,
  retired_at TEXT,
  last_seen TEXT,
  agent_version TEXT NOT NULL DEFAULT '',
  machine_id TEXT NOT NULL DEFAULT '',
  last_sequence INTEGER NOT NULL DEFAULT 0,
  status TEXT NOT NULL DEFAULT 'unknown',
  latest_result TEXT,
  secret_id INTEGER);
CREATE INDEX devices_status ON devices(status, device_id);
CREATE TABLE reports (
  report_id TEXT PRIMARY KEY,
  device_id TEXT NOT NULL,
  sequence INTEGER NOT NULL,
  sent_at TEXT NOT NULL,
  received_at TEXT NOT NULL,
  compliant INTEGER NOT NULL,
  body TEXT NOT NULL);
CREATE INDEX reports_device ON reports(device_id, received_at);
CREATE TABLE check_state (
  device_id TEXT NOT NULL,
  check_id TEXT NOT NULL,
  verdict TEXT NOT NULL,
  PRIMARY KEY (device_id, check_id));
CREATE TABLE events (
  cursor INTEGER PRIMARY KEY AUTOINCREMENT,
  at TEXT NOT NULL,
  device_id TEXT NOT NULL,
  type TEXT NOT NULL,
  check_id TEXT,
  from_verdict TEXT,
  to_verdict TEXT);
CREATE INDEX events_device ON events(device_id, type);
)sql",
     R"sql(
CREATE TABLE enroll_secrets (
  id BIGSERIAL PRIMARY KEY,
  secret_hash TEXT NOT NULL UNIQUE,
  level TEXT NOT NULL,
  owner TEXT,
  uses_left BIGINT,
  uses BIGINT NOT NULL DEFAULT 0,
  expires_at TEXT,
  created_at TEXT NOT NULL,
  revoked_at TEXT);
CREATE TABLE admin_tokens (
  id BIGSERIAL PRIMARY KEY,
  name TEXT NOT NULL,
  token_hash TEXT NOT NULL UNIQUE,
  scope TEXT NOT NULL,
  created_at TEXT NOT NULL,
  expires_at TEXT,
  revoked_at TEXT);
CREATE TABLE policies (
  level TEXT NOT NULL,
  version BIGINT NOT NULL,
  body TEXT NOT NULL,
  signature TEXT NOT NULL,
  created_at TEXT NOT NULL,
  PRIMARY KEY (level, version));
CREATE TABLE devices (
  device_id TEXT PRIMARY KEY,
  hostname TEXT NOT NULL,
  owner TEXT,
  level TEXT NOT NULL,
  cert_serial TEXT NOT NULL,
  enrolled_at TEXT NOT NULL,
  retired_at TEXT,
  last_seen TEXT,
  agent_version TEXT NOT NULL DEFAULT '',
  machine_id TEXT NOT NULL DEFAULT '',
  last_sequence BIGINT NOT NULL DEFAULT 0,
  status TEXT NOT NULL DEFAULT 'unknown',
  latest_result TEXT,
  secret_id BIGINT);
CREATE INDEX devices_status ON devices(status, device_id);
CREATE TABLE reports (
  report_id TEXT PRIMARY KEY,
  device_id TEXT NOT NULL,
  sequence BIGINT NOT NULL,
  sent_at TEXT NOT NULL,
  received_at TEXT NOT NULL,
  compliant INTEGER NOT NULL,
  body TEXT NOT NULL);
CREATE INDEX reports_device ON reports(device_id, received_at);
CREATE TABLE check_state (
  device_id TEXT NOT NULL,
  check_id TEXT NOT NULL,
  verdict TEXT NOT NULL,
  PRIMARY KEY (device_id, check_id));
CREATE TABLE events (
  cursor BIGSERIAL PRIMARY KEY,
  at TEXT NOT NULL,
  device_id TEXT NOT NULL,
  type TEXT NOT NULL,
  check_id TEXT,
  from_verdict TEXT,
  to_verdict TEXT);
CREATE INDEX events_device ON events(device_id, type);
)sql"},
    // v2: how many reports each device's spool dropped (the envelope's "dropped", summed).
    {2, "ALTER TABLE devices ADD COLUMN reports_dropped INTEGER NOT NULL DEFAULT 0",
     "ALTER TABLE devices ADD COLUMN reports_dropped BIGINT NOT NULL DEFAULT 0"},
    // v3: enrolment control and IT accounts: secrets that need approval, devices waiting for it,
    // the machine_id index for cloned-disk detection, the enrolment-spike count, event details,
    // and the append-only audit log (a trigger refuses UPDATE and DELETE; `$$` quotes a body).
    {3,
     R"sql(
ALTER TABLE enroll_secrets ADD COLUMN approval INTEGER NOT NULL DEFAULT 0;
ALTER TABLE enroll_secrets ADD COLUMN spike_at TEXT;
ALTER TABLE devices ADD COLUMN pending INTEGER NOT NULL DEFAULT 0;
ALTER TABLE events ADD COLUMN detail TEXT;
CREATE INDEX devices_machine ON devices(machine_id);
CREATE INDEX devices_secret ON devices(secret_id, enrolled_at);
CREATE TABLE audit_log (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at TEXT NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  target TEXT NOT NULL,
  detail TEXT);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
  BEGIN $$SELECT RAISE(ABORT, 'audit_log is append-only');$$ END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
  BEGIN $$SELECT RAISE(ABORT, 'audit_log is append-only');$$ END;
)sql",
     R"sql(
ALTER TABLE enroll_secrets ADD COLUMN approval INTEGER NOT NULL DEFAULT 0;
ALTER TABLE enroll_secrets ADD COLUMN spike_at TEXT;
ALTER TABLE devices ADD COLUMN pending INTEGER NOT NULL DEFAULT 0;
ALTER TABLE events ADD COLUMN detail TEXT;
CREATE INDEX devices_machine ON devices(machine_id);
CREATE INDEX devices_secret ON devices(secret_id, enrolled_at);
CREATE TABLE audit_log (
  id BIGSERIAL PRIMARY KEY,
  at TEXT NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  target TEXT NOT NULL,
  detail TEXT);
CREATE FUNCTION hearth_audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS
  $$BEGIN RAISE EXCEPTION 'audit_log is append-only'; END$$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION hearth_audit_log_append_only();
)sql"},
    // v4: retention finds old reports, old events and long-retired devices by time.
    {4,
     "CREATE INDEX reports_received ON reports(received_at);"
     "CREATE INDEX events_at ON events(at);"
     "CREATE INDEX devices_retired ON devices(retired_at)",
     "CREATE INDEX reports_received ON reports(received_at);"
     "CREATE INDEX events_at ON events(at);"
     "CREATE INDEX devices_retired ON devices(retired_at)"},
    // v5: certificate renewal. The serial of a certificate issued by POST /api/v1/renew that the
    // device has not used yet; the current one (cert_serial) stays valid until it does.
    {5, "ALTER TABLE devices ADD COLUMN pending_cert_serial TEXT",
     "ALTER TABLE devices ADD COLUMN pending_cert_serial TEXT"},
};

std::string fmt(TimePoint t) { return formatRfc3339(t); }

TimePoint parseTime(const std::string& s) {
  auto t = parseRfc3339(s);
  return t.ok() ? *t : TimePoint{};
}

Nullable<std::string> nullableTime(const std::optional<TimePoint>& t) {
  if (!t) return Nullable<std::string>();
  return Nullable<std::string>(fmt(*t));
}

template <typename T>
Nullable<T> nullable(const std::optional<T>& v) {
  if (!v) return Nullable<T>();
  return Nullable<T>(*v);
}

// RecordSet helpers: NULL-aware column reads.
std::optional<std::string> optString(RecordSet& rs, const std::string& col) {
  const Poco::Dynamic::Var& v = rs[col];
  if (v.isEmpty()) return std::nullopt;
  return v.convert<std::string>();
}
std::string str(RecordSet& rs, const std::string& col) { return optString(rs, col).value_or(""); }
std::optional<int64_t> optInt(RecordSet& rs, const std::string& col) {
  const Poco::Dynamic::Var& v = rs[col];
  if (v.isEmpty()) return std::nullopt;
  return v.convert<Poco::Int64>();
}
int64_t integer(RecordSet& rs, const std::string& col) { return optInt(rs, col).value_or(0); }
std::optional<TimePoint> optTime(RecordSet& rs, const std::string& col) {
  auto s = optString(rs, col);
  if (!s) return std::nullopt;
  return parseTime(*s);
}

// Splits a migration script into statements at semicolons, except inside `$$ ... $$` (a
// PostgreSQL function body, or a SQLite trigger body). SQLite has no dollar quoting: there the
// `$$` marks are removed. No semicolons inside our string literals.
std::vector<std::string> statements(const std::string& script, Dialect dialect) {
  std::vector<std::string> out;
  std::string current;
  bool quoted = false;
  auto flush = [&] {
    if (current.find_first_not_of(" \t\r\n") != std::string::npos) out.push_back(current);
    current.clear();
  };
  for (size_t i = 0; i < script.size(); ++i) {
    if (script.compare(i, 2, "$$") == 0) {
      quoted = !quoted;
      if (dialect == Dialect::kPostgres) current += "$$";
      ++i;
      continue;
    }
    if (script[i] == ';' && !quoted) {
      flush();
      continue;
    }
    current += script[i];
  }
  flush();
  return out;
}

std::string deviceStatusFromResult(const json::Value& result) {
  const json::Value* c = result.find("compliant");
  if (c != nullptr && c->isBool() && c->asBool()) return "compliant";
  const json::Value* checks = result.find("checks");
  if (checks != nullptr && checks->isArray()) {
    for (const auto& ch : checks->asArray()) {
      const json::Value* req = ch.find("required");
      const json::Value* v = ch.find("verdict");
      if (req != nullptr && req->isBool() && req->asBool() && v != nullptr && v->isString() &&
          v->asString() == "fail") {
        return "noncompliant";
      }
    }
  }
  return "unknown";
}

class SqlStore final : public Store {
 public:
  SqlStore(Dialect dialect, std::string connector, std::string connection)
      : dialect_(dialect), connector_(std::move(connector)), connection_(std::move(connection)) {}

  Status open() {
    return guard("open database", [&]() -> Status {
      session_ = std::make_unique<Session>(connector_, connection_);
      if (dialect_ == Dialect::kSqlite) {
        // Durable acknowledgements: WAL with a full fsync at every commit.
        *session_ << "PRAGMA journal_mode=WAL", now;
        *session_ << "PRAGMA synchronous=FULL", now;
        *session_ << "PRAGMA foreign_keys=ON", now;
        *session_ << "PRAGMA busy_timeout=10000", now;
      }
      HEARTH_RETURN_IF_ERROR(migrate());
      // Reads (device authentication on every request, the feed) use their own connections, so
      // they never wait behind the writer's commit (WAL readers do not block the writer).
      for (int i = 0; i < kReaders; ++i) {
        auto r = std::make_unique<Reader>();
        r->session = std::make_unique<Session>(connector_, connection_);
        if (dialect_ == Dialect::kSqlite) *r->session << "PRAGMA busy_timeout=10000", now;
        readers_.push_back(std::move(r));
      }
      return OkStatus();
    });
  }

  StatusOr<int> schemaVersion() override {
    std::lock_guard<std::mutex> lock(mu_);
    int version = 0;
    Status s = guard("schema version", [&]() -> Status {
      Poco::Int64 v = 0;
      *session_ << "SELECT COALESCE(MAX(version), 0) FROM schema_migrations", into(v), now;
      version = static_cast<int>(v);
      return OkStatus();
    });
    if (!s.ok()) return s;
    return version;
  }

  StatusOr<SecretRecord> createSecret(const std::string& secret_hash, const SecretRecord& spec,
                                      const AuditEntry* audit) override {
    std::lock_guard<std::mutex> lock(mu_);
    SecretRecord r = spec;
    Status s = transaction("create enrolment secret", [&]() -> Status {
      std::string level = spec.level;
      Nullable<std::string> owner = nullable(spec.owner);
      Nullable<Poco::Int64> uses_left;
      if (spec.uses_left) uses_left = static_cast<Poco::Int64>(*spec.uses_left);
      Nullable<std::string> expires = nullableTime(spec.expires_at);
      std::string created = fmt(spec.created_at);
      std::string hash = secret_hash;
      int approval = spec.approval ? 1 : 0;
      sql("INSERT INTO enroll_secrets(secret_hash, level, owner, uses_left, expires_at, "
          "created_at, approval) VALUES (?, ?, ?, ?, ?, ?, ?)",
          [&](Statement& st) {
            st, use(hash), use(level), use(owner), use(uses_left), use(expires), use(created),
                use(approval);
          });
      Poco::Int64 id = 0;
      std::string q = "SELECT id FROM enroll_secrets WHERE secret_hash = ?";
      sql(q, [&](Statement& st) { st, use(hash), into(id); });
      r.id = id;
      insertAudit(audit, id);
      return OkStatus();
    });
    if (!s.ok()) return s;
    return r;
  }

  StatusOr<std::vector<SecretRecord>> listSecrets() override {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<SecretRecord> out;
    Status s = guard("list enrolment secrets", [&]() -> Status {
      RecordSet rs =
          query(*session_,
                "SELECT id, level, owner, uses_left, uses, expires_at, created_at, revoked_at, "
                "approval FROM enroll_secrets ORDER BY id");
      for (bool more = rs.moveFirst(); more; more = rs.moveNext()) {
        SecretRecord r;
        r.id = integer(rs, "id");
        r.level = str(rs, "level");
        r.owner = optString(rs, "owner");
        r.uses_left = optInt(rs, "uses_left");
        r.uses = integer(rs, "uses");
        r.expires_at = optTime(rs, "expires_at");
        r.created_at = parseTime(str(rs, "created_at"));
        r.revoked_at = optTime(rs, "revoked_at");
        r.approval = integer(rs, "approval") != 0;
        out.push_back(std::move(r));
      }
      return OkStatus();
    });
    if (!s.ok()) return s;
    return out;
  }

  Status revokeSecret(int64_t id, TimePoint at, const AuditEntry* audit) override {
    std::lock_guard<std::mutex> lock(mu_);
    return transaction("revoke enrolment secret", [&]() -> Status {
      Poco::Int64 pid = id;
      std::string when = fmt(at);
      size_t n = sql("UPDATE enroll_secrets SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                     [&](Statement& st) { st, use(when), use(pid); });
      if (n == 0) return NotFoundError("no live enrolment secret with id " + std::to_string(id));
      insertAudit(audit, id);
      return OkStatus();
    });
  }

  StatusOr<TokenRecord> createToken(const std::string& token_hash, const TokenRecord& spec,
                                    const AuditEntry* audit) override {
    std::lock_guard<std::mutex> lock(mu_);
    TokenRecord r = spec;
    Status s = transaction("create admin token", [&]() -> Status {
      std::string name = spec.name, scope = spec.scope, hash = token_hash;
      std::string created = fmt(spec.created_at);
      Nullable<std::string> expires = nullableTime(spec.expires_at);
      sql("INSERT INTO admin_tokens(name, token_hash, scope, created_at, expires_at) "
          "VALUES (?, ?, ?, ?, ?)",
          [&](Statement& st) { st, use(name), use(hash), use(scope), use(created), use(expires); });
      Poco::Int64 id = 0;
      sql("SELECT id FROM admin_tokens WHERE token_hash = ?",
          [&](Statement& st) { st, use(hash), into(id); });
      r.id = id;
      insertAudit(audit, id);
      return OkStatus();
    });
    if (!s.ok()) return s;
    return r;
  }

  StatusOr<std::vector<TokenRecord>> listTokens() override {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<TokenRecord> out;
    Status s = guard("list admin tokens", [&]() -> Status {
      RecordSet rs =
          query(*session_,
                "SELECT id, name, scope, created_at, expires_at, revoked_at FROM admin_tokens "
                "ORDER BY id");
      for (bool more = rs.moveFirst(); more; more = rs.moveNext()) out.push_back(tokenRow(rs));
      return OkStatus();
    });
    if (!s.ok()) return s;
    return out;
  }

  Status revokeToken(int64_t id, TimePoint at, const AuditEntry* audit) override {
    std::lock_guard<std::mutex> lock(mu_);
    return transaction("revoke admin token", [&]() -> Status {
      Poco::Int64 pid = id;
      std::string when = fmt(at);
      size_t n = sql("UPDATE admin_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                     [&](Statement& st) { st, use(when), use(pid); });
      if (n == 0) return NotFoundError("no live admin token with id " + std::to_string(id));
      insertAudit(audit, id);
      return OkStatus();
    });
  }

  StatusOr<TokenRecord> findToken(const std::string& token_hash, TimePoint now_time) override {
    ReaderLease lease = reader();
    Session& db = lease.session();
    std::optional<TokenRecord> found;
    Status s = guard("find admin token", [&]() -> Status {
      std::string hash = token_hash;
      RecordSet rs =
          query(db,
                "SELECT id, name, scope, created_at, expires_at, revoked_at FROM admin_tokens "
                "WHERE token_hash = ?",
                hash);
      if (rs.moveFirst()) found = tokenRow(rs);
      return OkStatus();
    });
    if (!s.ok()) return s;
    if (!found || found->revoked_at || (found->expires_at && *found->expires_at <= now_time)) {
      return NotFoundError("no such live token");
    }
    return *found;
  }

  Status putPolicy(const PolicyRecord& p, const AuditEntry* audit) override {
    std::lock_guard<std::mutex> lock(mu_);
    return transaction("store policy", [&]() -> Status {
      std::string level = p.level, body = p.body, sig = p.signature, created = fmt(p.created_at);
      Poco::Int64 version = p.version;
      Poco::Int64 current = 0;
      sql("SELECT COALESCE(MAX(version), 0) FROM policies WHERE level = ?",
          [&](Statement& st) { st, use(level), into(current); });
      if (version <= current) {
        return FailedPreconditionError("level \"" + level + "\" already has version " +
                                       std::to_string(current) +
                                       "; a new policy needs a higher \"version\"");
      }
      sql("INSERT INTO policies(level, version, body, signature, created_at) VALUES (?, ?, ?, ?, "
          "?)",
          [&](Statement& st) { st, use(level), use(version), use(body), use(sig), use(created); });
      insertAudit(audit, 0);
      return OkStatus();
    });
  }

  StatusOr<PolicyRecord> latestPolicy(const std::string& level) override {
    ReaderLease lease = reader();
    Session& db = lease.session();
    std::optional<PolicyRecord> found;
    Status s = guard("read policy", [&]() -> Status {
      std::string l = level;
      RecordSet rs = query(db,
                           "SELECT level, version, body, signature, created_at FROM policies "
                           "WHERE level = ? ORDER BY version DESC LIMIT 1",
                           l);
      if (rs.moveFirst()) found = policyRow(rs);
      return OkStatus();
    });
    if (!s.ok()) return s;
    if (!found) return NotFoundError("no policy for level \"" + level + "\"");
    return *found;
  }

  StatusOr<std::vector<PolicyRecord>> listLatestPolicies() override {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<PolicyRecord> out;
    Status s = guard("list policies", [&]() -> Status {
      RecordSet rs =
          query(*session_,
                "SELECT p.level, p.version, p.body, p.signature, p.created_at FROM policies p "
                "WHERE p.version = (SELECT MAX(version) FROM policies q WHERE q.level = p.level) "
                "ORDER BY p.level");
      for (bool more = rs.moveFirst(); more; more = rs.moveNext()) out.push_back(policyRow(rs));
      return OkStatus();
    });
    if (!s.ok()) return s;
    return out;
  }

  StatusOr<DeviceRecord> enrollDevice(const std::string& secret_hash, const DeviceRecord& device,
                                      TimePoint now_time, const SpikeRule& spike) override {
    std::lock_guard<std::mutex> lock(mu_);
    DeviceRecord d = device;
    Status s = guard("enrol device", [&]() -> Status {
      session_->begin();
      Status inner = [&]() -> Status {
        std::string hash = secret_hash;
        RecordSet rs = query(*session_,
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
          return DeadlineExceededError("this enrolment secret expired on " + fmt(*expires) +
                                       kAskIt);
        }
        auto usedUp = [&] {
          return ResourceExhaustedError(
              uses == 1
                  ? "this enrolment secret was for one PC only and is used up" + std::string(kAskIt)
                  : "this enrolment secret has been used up (" + std::to_string(uses) +
                        " enrolments)" + kAskIt);
        };
        if (uses_left && *uses_left <= 0) return usedUp();
        if (d.level.empty()) d.level = str(rs, "level");
        // A per-person secret binds the device to its owner, whatever the request says.
        if (auto bound = optString(rs, "owner")) d.owner = bound;
        size_t n =
            sql("UPDATE enroll_secrets SET uses = uses + 1, "
                "uses_left = CASE WHEN uses_left IS NULL THEN NULL ELSE uses_left - 1 END "
                "WHERE id = ? AND (uses_left IS NULL OR uses_left > 0)",
                [&](Statement& u) { u, use(id); });
        if (n != 1) return usedUp();
        std::string dev = d.device_id, host = d.hostname, level = d.level, serial = d.cert_serial;
        std::string enrolled = fmt(d.enrolled_at);
        Nullable<std::string> owner = nullable(d.owner);
        int pending = approval ? 1 : 0;
        sql("INSERT INTO devices(device_id, hostname, owner, level, cert_serial, enrolled_at, "
            "secret_id, pending) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [&](Statement& i) {
              i, use(dev), use(host), use(owner), use(level), use(serial), use(enrolled), use(id),
                  use(pending);
            });
        d.pending_approval = approval;
        appendEvent(enrolled, dev, "enrolled", std::nullopt);
        if (approval) appendEvent(enrolled, dev, "pending", std::nullopt);
        // A spike: more enrolments with this secret within the window than the threshold, and no
        // spike event for it within the window yet (one per window, not one per enrolment).
        std::string since = fmt(now_time - spike.window);
        Poco::Int64 recent = 0;
        sql("SELECT COUNT(*) FROM devices WHERE secret_id = ? AND enrolled_at >= ?",
            [&](Statement& c) { c, use(id), use(since), into(recent); });
        if (recent > spike.threshold) {
          // The secret remembers its last spike: one row update decides, across processes too.
          size_t marked =
              sql("UPDATE enroll_secrets SET spike_at = ? WHERE id = ? AND "
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
      }();
      if (inner.ok()) {
        session_->commit();
      } else {
        session_->rollback();
      }
      return inner;
    });
    if (!s.ok()) return s;
    d.status = "unknown";
    return d;
  }

  StatusOr<DeviceRecord> getDevice(const std::string& device_id) override {
    ReaderLease lease = reader();
    Session& db = lease.session();
    std::optional<DeviceRecord> found;
    Status s = guard("read device", [&]() -> Status {
      std::string id = device_id;
      RecordSet rs =
          query(db, std::string(kDeviceColumns) + " FROM devices WHERE device_id = ?", id);
      if (rs.moveFirst()) found = deviceRow(rs);
      return OkStatus();
    });
    if (!s.ok()) return s;
    if (!found) return NotFoundError("no device " + device_id);
    return *found;
  }

  StatusOr<DeviceRecord> deviceForAuth(const std::string& device_id) override {
    ReaderLease lease = reader();
    Session& db = lease.session();
    std::optional<DeviceRecord> found;
    Status s = guard("read device", [&]() -> Status {
      std::string id = device_id, level, serial;
      Nullable<std::string> retired, pending;
      size_t n = sqlOn(db,
                       "SELECT level, cert_serial, retired_at, pending_cert_serial FROM devices "
                       "WHERE device_id = ?",
                       [&](Statement& st) {
                         st, use(id), into(level), into(serial), into(retired), into(pending);
                       });
      if (n == 0) return OkStatus();
      DeviceRecord d;
      d.device_id = device_id;
      d.level = level;
      d.cert_serial = serial;
      if (!retired.isNull()) d.retired_at = parseTime(retired.value());
      if (!pending.isNull()) d.pending_cert_serial = pending.value();
      found = std::move(d);
      return OkStatus();
    });
    if (!s.ok()) return s;
    if (!found) return NotFoundError("no device " + device_id);
    return *found;
  }

  StatusOr<std::vector<DeviceRecord>> listDevices(const DeviceFilter& f) override {
    ReaderLease lease = reader();
    Session& db = lease.session();
    std::vector<DeviceRecord> out;
    Status s = guard("list devices", [&]() -> Status {
      std::string q = std::string(kDeviceColumns) + " FROM devices WHERE retired_at IS NULL";
      std::string after = f.after;
      std::string stale_cutoff = fmt(f.now - f.stale_after);
      std::string status = f.status.value_or("");
      std::string level = f.level.value_or("");
      Poco::Int64 limit = std::max(1, std::min(f.limit, 1000));
      q += " AND device_id > ?";
      // Stale devices are listed as stale, not under their last status.
      const char* fresh = " AND COALESCE(last_seen, enrolled_at) >= ?";
      // Devices awaiting approval are listed as pending, under no compliance status.
      if (f.status) {
        if (status == "pending") {
          q += " AND pending = 1";
        } else if (status == "stale") {
          q += " AND pending = 0 AND COALESCE(last_seen, enrolled_at) < ?";
        } else {
          q += fresh;
          q += " AND pending = 0 AND status = ?";
        }
      }
      if (f.level) q += " AND level = ?";
      q += " ORDER BY device_id LIMIT ?";
      Statement st(db);
      st << rewrite(q), use(after);
      if (f.status && status != "pending") {
        st, use(stale_cutoff);
        if (status != "stale") st, use(status);
      }
      if (f.level) st, use(level);
      st, use(limit);
      st.execute();
      RecordSet rs(st);
      for (bool more = rs.moveFirst(); more; more = rs.moveNext()) {
        DeviceRecord d = deviceRow(rs);
        TimePoint seen = d.last_seen.value_or(d.enrolled_at);
        if (seen < f.now - f.stale_after) d.status = "stale";
        if (d.pending_approval) d.status = "pending";
        out.push_back(std::move(d));
      }
      return OkStatus();
    });
    if (!s.ok()) return s;
    return out;
  }

  Status setPendingCertificate(const std::string& device_id, const std::string& current_serial,
                               const std::string& new_serial, TimePoint) override {
    std::lock_guard<std::mutex> lock(mu_);
    return guard("record a renewed certificate", [&]() -> Status {
      std::string id = device_id, current = current_serial, next = new_serial;
      size_t n =
          sql("UPDATE devices SET pending_cert_serial = ? WHERE device_id = ? AND cert_serial = ? "
              "AND retired_at IS NULL",
              [&](Statement& st) { st, use(next), use(id), use(current); });
      if (n == 0) {
        return FailedPreconditionError("device " + device_id +
                                       " is retired or its current certificate is another");
      }
      return OkStatus();
    });
  }

  Status promotePendingCertificate(const std::string& device_id, const std::string& serial,
                                   TimePoint at) override {
    std::lock_guard<std::mutex> lock(mu_);
    return guard("promote a renewed certificate", [&]() -> Status {
      session_->begin();
      std::string id = device_id, next = serial, when = fmt(at), type = "renewed";
      size_t n =
          sql("UPDATE devices SET cert_serial = pending_cert_serial, pending_cert_serial = NULL "
              "WHERE device_id = ? AND pending_cert_serial = ? AND retired_at IS NULL",
              [&](Statement& st) { st, use(id), use(next); });
      if (n == 0) {
        session_->rollback();
        return FailedPreconditionError("certificate " + serial + " is not device " + device_id +
                                       "'s pending certificate");
      }
      sql("INSERT INTO events(at, device_id, type) VALUES (?, ?, ?)",
          [&](Statement& st) { st, use(when), use(id), use(type); });
      session_->commit();
      return OkStatus();
    });
  }

  Status retireDevice(const std::string& device_id, TimePoint at,
                      const AuditEntry* audit) override {
    std::lock_guard<std::mutex> lock(mu_);
    return transaction("retire device", [&]() -> Status {
      std::string id = device_id, when = fmt(at), type = "retired";
      size_t n =
          sql("UPDATE devices SET retired_at = ?, pending = 0 WHERE device_id = ? AND retired_at "
              "IS NULL",
              [&](Statement& st) { st, use(when), use(id); });
      if (n == 0) return NotFoundError("no active device " + device_id);
      sql("INSERT INTO events(at, device_id, type) VALUES (?, ?, ?)",
          [&](Statement& st) { st, use(when), use(id), use(type); });
      insertAudit(audit, 0);
      return OkStatus();
    });
  }

  Status approveDevice(const std::string& device_id, TimePoint at,
                       const AuditEntry* audit) override {
    return decidePending(device_id, at, true, audit);
  }
  Status rejectDevice(const std::string& device_id, TimePoint at,
                      const AuditEntry* audit) override {
    return decidePending(device_id, at, false, audit);
  }

  Status setDeviceOwner(const std::string& device_id, const std::optional<std::string>& owner,
                        const AuditEntry* audit) override {
    std::lock_guard<std::mutex> lock(mu_);
    return transaction("set device owner", [&]() -> Status {
      std::string id = device_id;
      Nullable<std::string> o = nullable(owner);
      size_t n = sql("UPDATE devices SET owner = ? WHERE device_id = ? AND retired_at IS NULL",
                     [&](Statement& st) { st, use(o), use(id); });
      if (n == 0) return NotFoundError("no active device " + device_id);
      insertAudit(audit, 0);
      return OkStatus();
    });
  }

  Status appendAudit(const AuditEntry& e) override {
    std::lock_guard<std::mutex> lock(mu_);
    return guard("append to the audit log", [&]() -> Status {
      insertAudit(&e, 0);
      return OkStatus();
    });
  }

  StatusOr<std::vector<AuditEntry>> listAudit(int64_t after, int limit) override {
    ReaderLease lease = reader();
    Session& db = lease.session();
    std::vector<AuditEntry> out;
    Status s = guard("read the audit log", [&]() -> Status {
      Poco::Int64 a = after;
      Poco::Int64 lim = std::max(1, std::min(limit, 1000));
      RecordSet rs = query(db,
                           "SELECT id, at, actor, action, target, detail FROM audit_log "
                           "WHERE id > ? ORDER BY id LIMIT ?",
                           a, lim);
      for (bool more = rs.moveFirst(); more; more = rs.moveNext()) {
        AuditEntry e;
        e.id = integer(rs, "id");
        e.at = parseTime(str(rs, "at"));
        e.actor = str(rs, "actor");
        e.action = str(rs, "action");
        e.target = str(rs, "target");
        e.detail = optString(rs, "detail");
        out.push_back(std::move(e));
      }
      return OkStatus();
    });
    if (!s.ok()) return s;
    return out;
  }

  StatusOr<std::vector<IngestResult>> ingestReports(
      const std::vector<NewReport>& reports) override {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<IngestResult> outcomes;
    Status s = guard("store reports", [&]() -> Status {
      session_->begin();
      try {
        for (const auto& r : reports) outcomes.push_back(ingestOne(r));
        session_->commit();
      } catch (...) {
        outcomes.clear();
        try {
          session_->rollback();
        } catch (...) {
        }
        throw;
      }
      return OkStatus();
    });
    if (!s.ok()) return s;
    return outcomes;
  }

  StatusOr<int64_t> missingReports(const std::string& device_id) override {
    ReaderLease lease = reader();
    Session& db = lease.session();
    int64_t missing = 0;
    Status s = guard("count missing reports", [&]() -> Status {
      std::string id = device_id;
      Poco::Int64 last = 0, have = 0;
      sqlOn(db, "SELECT last_sequence FROM devices WHERE device_id = ?",
            [&](Statement& st) { st, use(id), into(last); });
      sqlOn(db,
            "SELECT COUNT(DISTINCT sequence) FROM reports WHERE device_id = ? AND sequence <= ?",
            [&](Statement& st) { st, use(id), use(last), into(have); });
      missing = last - have;
      return OkStatus();
    });
    if (!s.ok()) return s;
    return missing;
  }

  StatusOr<std::vector<StoredReport>> deviceHistory(const std::string& device_id,
                                                    int limit) override {
    ReaderLease lease = reader();
    Session& db = lease.session();
    std::vector<StoredReport> out;
    Status s = guard("read history", [&]() -> Status {
      std::string id = device_id;
      Poco::Int64 lim = std::max(1, std::min(limit, 1000));
      RecordSet rs =
          query(db,
                "SELECT report_id, sequence, sent_at, received_at, compliant, body FROM reports "
                "WHERE device_id = ? ORDER BY sequence DESC, received_at DESC LIMIT ?",
                id, lim);
      for (bool more = rs.moveFirst(); more; more = rs.moveNext()) {
        StoredReport r;
        r.report_id = str(rs, "report_id");
        r.sequence = integer(rs, "sequence");
        r.sent_at = str(rs, "sent_at");
        r.received_at = parseTime(str(rs, "received_at"));
        r.compliant = integer(rs, "compliant") != 0;
        auto body = json::parse(str(rs, "body"), {.max_depth = 64, .max_bytes = 4 << 20});
        if (body.ok()) r.result = std::move(body).value();
        out.push_back(std::move(r));
      }
      return OkStatus();
    });
    if (!s.ok()) return s;
    return out;
  }

  StatusOr<std::vector<FeedEvent>> feed(int64_t after, int limit) override {
    ReaderLease lease = reader();
    Session& db = lease.session();
    std::vector<FeedEvent> out;
    Status s = guard("read feed", [&]() -> Status {
      Poco::Int64 a = after;
      Poco::Int64 lim = std::max(1, std::min(limit, 1000));
      RecordSet rs =
          query(db,
                "SELECT cursor, at, device_id, type, check_id, from_verdict, to_verdict, "
                "detail FROM events WHERE cursor > ? ORDER BY cursor LIMIT ?",
                a, lim);
      for (bool more = rs.moveFirst(); more; more = rs.moveNext()) {
        FeedEvent e;
        e.cursor = integer(rs, "cursor");
        e.at = parseTime(str(rs, "at"));
        e.device_id = str(rs, "device_id");
        e.type = str(rs, "type");
        e.check = optString(rs, "check_id");
        e.from = optString(rs, "from_verdict");
        e.to = optString(rs, "to_verdict");
        e.detail = optString(rs, "detail");
        out.push_back(std::move(e));
      }
      return OkStatus();
    });
    if (!s.ok()) return s;
    return out;
  }

  StatusOr<int> markStale(TimePoint now_time, std::chrono::seconds window) override {
    std::lock_guard<std::mutex> lock(mu_);
    int added = 0;
    Status s = guard("mark stale devices", [&]() -> Status {
      std::string cutoff = fmt(now_time - window), at = fmt(now_time), type = "stale";
      session_->begin();
      // A device goes stale once per silence: no stale event since its last report.
      size_t n =
          sql("INSERT INTO events(at, device_id, type) SELECT ?, d.device_id, ? FROM devices d "
              "WHERE d.retired_at IS NULL AND COALESCE(d.last_seen, d.enrolled_at) < ? "
              "AND NOT EXISTS (SELECT 1 FROM events e WHERE e.device_id = d.device_id "
              "AND e.type = 'stale' AND e.at >= COALESCE(d.last_seen, d.enrolled_at))",
              [&](Statement& st) { st, use(at), use(type), use(cutoff); });
      session_->commit();
      added = static_cast<int>(n);
      return OkStatus();
    });
    if (!s.ok()) return s;
    return added;
  }

  StatusOr<PruneResult> prune(const PruneOptions& o) override {
    PruneResult result;
    std::string history_cutoff = fmt(o.now - o.history_window);
    std::string retired_cutoff = fmt(o.now - o.retired_window);
    Poco::Int64 batch = std::max(1, o.batch);
    // Old reports of devices that are kept; never a device's latest (highest sequence) report.
    const std::string old_reports =
        "FROM reports WHERE received_at < ? AND sequence < (SELECT d.last_sequence FROM devices d "
        "WHERE d.device_id = reports.device_id AND d.retired_at IS NULL)";
    const std::string old_events =
        "FROM events WHERE at < ? AND device_id NOT IN (SELECT device_id FROM devices WHERE "
        "retired_at IS NOT NULL)";
    // Retired devices whose window has passed.
    std::vector<std::string> gone;
    Status s = guard("find retired devices", [&]() -> Status {
      std::lock_guard<std::mutex> lock(mu_);
      std::string cutoff = retired_cutoff;
      sql("SELECT device_id FROM devices WHERE retired_at IS NOT NULL AND retired_at < ? "
          "ORDER BY device_id",
          [&](Statement& st) { st, use(cutoff), into(gone); });
      return OkStatus();
    });
    if (!s.ok()) return s;
    result.retired_devices = gone;
    if (o.dry_run) {
      s = guard("count what retention removes", [&]() -> Status {
        std::lock_guard<std::mutex> lock(mu_);
        Poco::Int64 n = 0;
        std::string cutoff = history_cutoff;
        sql("SELECT COUNT(*) " + old_reports, [&](Statement& st) { st, use(cutoff), into(n); });
        result.reports = n;
        sql("SELECT COUNT(*) " + old_events, [&](Statement& st) { st, use(cutoff), into(n); });
        result.events = n;
        for (const auto& id : gone) {
          std::string dev = id;
          sql("SELECT COUNT(*) FROM reports WHERE device_id = ?",
              [&](Statement& st) { st, use(dev), into(n); });
          result.retired_reports += n;
          sql("SELECT COUNT(*) FROM events WHERE device_id = ?",
              [&](Statement& st) { st, use(dev), into(n); });
          result.retired_events += n;
        }
        return OkStatus();
      });
      if (!s.ok()) return s;
      return result;
    }
    // One batch per transaction, the writer lock taken per batch.
    auto inBatches = [&](const std::string& del, const std::string& param, int64_t& count,
                         const char* what) -> Status {
      while (true) {
        size_t n = 0;
        Status bs = guard(what, [&]() -> Status {
          std::lock_guard<std::mutex> lock(mu_);
          std::string p = param;
          Poco::Int64 lim = batch;
          session_->begin();
          try {
            n = sql(del, [&](Statement& st) { st, use(p), use(lim); });
            session_->commit();
          } catch (...) {
            session_->rollback();
            throw;
          }
          return OkStatus();
        });
        if (!bs.ok()) return bs;
        count += static_cast<int64_t>(n);
        if (n < static_cast<size_t>(batch)) return OkStatus();
      }
    };
    s = inBatches(
        "DELETE FROM reports WHERE report_id IN (SELECT report_id " + old_reports + " LIMIT ?)",
        history_cutoff, result.reports, "delete old reports");
    if (!s.ok()) return s;
    s = inBatches("DELETE FROM events WHERE cursor IN (SELECT cursor " + old_events + " LIMIT ?)",
                  history_cutoff, result.events, "delete old feed events");
    if (!s.ok()) return s;
    for (const auto& id : gone) {
      s = inBatches(
          "DELETE FROM reports WHERE report_id IN (SELECT report_id FROM reports "
          "WHERE device_id = ? LIMIT ?)",
          id, result.retired_reports, "delete a retired device's reports");
      if (!s.ok()) return s;
      s = inBatches(
          "DELETE FROM events WHERE cursor IN (SELECT cursor FROM events "
          "WHERE device_id = ? LIMIT ?)",
          id, result.retired_events, "delete a retired device's events");
      if (!s.ok()) return s;
      s = guard("delete a retired device", [&]() -> Status {
        std::lock_guard<std::mutex> lock(mu_);
        std::string dev = id;
        session_->begin();
        try {
          sql("DELETE FROM check_state WHERE device_id = ?", [&](Statement& st) { st, use(dev); });
          // Once more, in the same transaction as the device row: nothing of it is left behind.
          sql("DELETE FROM reports WHERE device_id = ?", [&](Statement& st) { st, use(dev); });
          sql("DELETE FROM events WHERE device_id = ?", [&](Statement& st) { st, use(dev); });
          sql("DELETE FROM devices WHERE device_id = ? AND retired_at IS NOT NULL",
              [&](Statement& st) { st, use(dev); });
          session_->commit();
        } catch (...) {
          session_->rollback();
          throw;
        }
        return OkStatus();
      });
      if (!s.ok()) return s;
    }
    return result;
  }

  StatusOr<std::string> checkIntegrity() override {
    std::lock_guard<std::mutex> lock(mu_);
    std::string out;
    Status s = guard("check the database", [&]() -> Status {
      if (dialect_ == Dialect::kSqlite) {
        std::vector<std::string> rows;
        *session_ << "PRAGMA integrity_check", into(rows), now;
        for (const auto& r : rows) out += (out.empty() ? "" : "\n") + r;
        return OkStatus();
      }
      // PostgreSQL checks its own pages (checksums, WAL); here: every table is readable.
      for (const char* table : {"schema_migrations", "enroll_secrets", "admin_tokens", "policies",
                                "devices", "reports", "check_state", "events", "audit_log"}) {
        Poco::Int64 n = 0;
        *session_ << std::string("SELECT COUNT(*) FROM ") + table, into(n), now;
      }
      out = "ok";
      return OkStatus();
    });
    if (!s.ok()) return s;
    return out;
  }

  StatusOr<std::vector<std::pair<std::string, int64_t>>> deviceCounts(
      TimePoint now_time, std::chrono::seconds stale_after) override {
    ReaderLease lease = reader();
    Session& db = lease.session();
    std::vector<std::pair<std::string, int64_t>> out;
    Status s = guard("count devices", [&]() -> Status {
      std::string cutoff = fmt(now_time - stale_after);
      RecordSet rs = query(db,
                           "SELECT CASE WHEN pending = 1 THEN 'pending' "
                           "WHEN COALESCE(last_seen, enrolled_at) < ? THEN 'stale' ELSE status END "
                           "AS s, COUNT(*) AS n FROM devices WHERE retired_at IS NULL "
                           "GROUP BY 1 ORDER BY 1",
                           cutoff);
      for (bool more = rs.moveFirst(); more; more = rs.moveNext()) {
        out.emplace_back(str(rs, "s"), integer(rs, "n"));
      }
      return OkStatus();
    });
    if (!s.ok()) return s;
    return out;
  }

 private:
  static constexpr const char* kDeviceColumns =
      "SELECT device_id, hostname, owner, level, cert_serial, enrolled_at, retired_at, last_seen, "
      "agent_version, machine_id, last_sequence, reports_dropped, status, latest_result, pending, "
      "(CASE WHEN devices.machine_id <> '' AND devices.retired_at IS NULL AND EXISTS (SELECT 1 "
      "FROM devices o WHERE o.machine_id = devices.machine_id AND o.device_id <> "
      "devices.device_id AND o.retired_at IS NULL) THEN 1 ELSE 0 END) AS duplicate_machine_id";

  static constexpr int kReaders = 4;
  struct Reader {
    std::mutex mu;
    std::unique_ptr<Session> session;
  };
  // A reader connection held for one read method.
  class ReaderLease {
   public:
    explicit ReaderLease(Reader& r) : lock_(r.mu), session_(*r.session) {}
    Session& session() { return session_; }

   private:
    std::unique_lock<std::mutex> lock_;
    Session& session_;
  };
  ReaderLease reader() {
    size_t start = next_reader_.fetch_add(1) % readers_.size();
    for (size_t i = 0; i < readers_.size(); ++i) {
      Reader& r = *readers_[(start + i) % readers_.size()];
      if (r.mu.try_lock()) {
        r.mu.unlock();  // ReaderLease takes it (a race only means waiting on a busy one)
        return ReaderLease(r);
      }
    }
    return ReaderLease(*readers_[start]);
  }

  template <typename Bind>
  size_t sqlOn(Session& db, const std::string& q, Bind&& bind) {
    Statement st(db);
    st << rewrite(q);
    bind(st);
    return st.execute();
  }

  // Runs `fn`, turning Poco exceptions into a Status.
  template <typename Fn>
  Status guard(const char* what, Fn&& fn) {
    try {
      return fn();
    } catch (const Poco::Exception& e) {
      return UnavailableError(std::string(what) + ": " + e.displayText());
    } catch (const std::exception& e) {
      return InternalError(std::string(what) + ": " + e.what());
    }
  }

  // `?` → `$n` for PostgreSQL.
  std::string rewrite(const std::string& q) const {
    if (dialect_ != Dialect::kPostgres) return q;
    std::string out;
    int n = 0;
    for (char c : q) {
      if (c == '?') {
        out += "$" + std::to_string(++n);
      } else {
        out += c;
      }
    }
    return out;
  }

  // Runs the query `q` with `params` bound in order (by reference: they must be lvalues) and
  // returns its rows.
  template <typename... Params>
  RecordSet query(Session& db, const std::string& q, Params&... params) {
    Statement st(db);
    st << rewrite(q);
    (void)(st, ..., use(params));
    st.execute();
    return RecordSet(st);
  }

  // Prepares `q`, lets `bind` add use()/into(), executes; returns affected/extracted rows.
  template <typename Bind>
  size_t sql(const std::string& q, Bind&& bind) {
    Statement st(*session_);
    st << rewrite(q);
    bind(st);
    return st.execute();
  }

  Status migrate() {
    *session_ << "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
                 "applied_at TEXT NOT NULL)",
        now;
    Poco::Int64 current = 0;
    *session_ << "SELECT COALESCE(MAX(version), 0) FROM schema_migrations", into(current), now;
    std::vector<Poco::Int64> applied_list;
    *session_ << "SELECT version FROM schema_migrations", into(applied_list), now;
    std::set<Poco::Int64> applied(applied_list.begin(), applied_list.end());
    int latest = kMigrations[std::size(kMigrations) - 1].version;
    if (current > latest) {
      return FailedPreconditionError("the database schema is version " + std::to_string(current) +
                                     ", newer than this hearth-server knows (" +
                                     std::to_string(latest) + "); upgrade hearth-server");
    }
    // Every migration not applied yet, in order: by set, not by "above the highest applied", so
    // that one added below a version an older build already applied still runs.
    for (const auto& m : kMigrations) {
      if (applied.count(m.version) != 0) continue;
      session_->begin();
      try {
        for (const auto& stmt :
             statements(dialect_ == Dialect::kSqlite ? m.sqlite : m.postgres, dialect_)) {
          *session_ << stmt, now;
        }
        Poco::Int64 v = m.version;
        std::string at = fmt(std::chrono::system_clock::now());
        sql("INSERT INTO schema_migrations(version, applied_at) VALUES (?, ?)",
            [&](Statement& st) { st, use(v), use(at); });
        session_->commit();
      } catch (...) {
        session_->rollback();
        throw;
      }
    }
    return OkStatus();
  }

  // The ingest hot path: statements prepared once per session and re-executed with their bound
  // variables (Poco binds by reference), instead of being parsed again for every report.
  struct IngestStatements {
    std::string report_id, device, sent, received, body, agent, machine, status, check_id, verdict,
        prev_machine, event_type = "verdict_changed";
    Nullable<std::string> old_verdict;
    Poco::Int64 seq = 0, last_seq = 0, dropped = 0;
    int compliant = 0;
    std::vector<std::string> state_ids, state_verdicts;
    std::unique_ptr<Statement> insert_report, select_last_seq, select_below, update_seen,
        update_device, select_states, insert_state, update_state, insert_event;
  };

  std::unique_ptr<Statement> prepare(const std::string& q) {
    auto st = std::make_unique<Statement>(*session_);
    *st << rewrite(q);
    return st;
  }

  IngestStatements& ingestStatements() {
    if (ingest_) return *ingest_;
    auto s = std::make_unique<IngestStatements>();
    s->insert_report = prepare(
        "INSERT INTO reports(report_id, device_id, sequence, sent_at, received_at, compliant, "
        "body) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (report_id) DO NOTHING");
    *s->insert_report, use(s->report_id), use(s->device), use(s->seq), use(s->sent),
        use(s->received), use(s->compliant), use(s->body);
    s->select_last_seq =
        prepare("SELECT last_sequence, machine_id FROM devices WHERE device_id = ?");
    *s->select_last_seq, use(s->device), into(s->last_seq), into(s->prev_machine);
    // Duplicates only (a report sent again): what the server holds right below it.
    s->select_below = prepare(
        "SELECT COALESCE(MAX(sequence), 0) FROM reports WHERE device_id = ? AND sequence < ?");
    *s->select_below, use(s->device), use(s->seq), into(s->last_seq);
    s->update_seen = prepare(
        "UPDATE devices SET last_seen = ?, reports_dropped = reports_dropped + ? "
        "WHERE device_id = ?");
    *s->update_seen, use(s->received), use(s->dropped), use(s->device);
    s->update_device = prepare(
        "UPDATE devices SET last_seen = ?, agent_version = ?, machine_id = ?, last_sequence = ?, "
        "status = ?, latest_result = ?, reports_dropped = reports_dropped + ? "
        "WHERE device_id = ?");
    *s->update_device, use(s->received), use(s->agent), use(s->machine), use(s->seq),
        use(s->status), use(s->body), use(s->dropped), use(s->device);
    s->select_states = prepare("SELECT check_id, verdict FROM check_state WHERE device_id = ?");
    *s->select_states, use(s->device), into(s->state_ids), into(s->state_verdicts);
    s->insert_state =
        prepare("INSERT INTO check_state(device_id, check_id, verdict) VALUES (?, ?, ?)");
    *s->insert_state, use(s->device), use(s->check_id), use(s->verdict);
    s->update_state =
        prepare("UPDATE check_state SET verdict = ? WHERE device_id = ? AND check_id = ?");
    *s->update_state, use(s->verdict), use(s->device), use(s->check_id);
    s->insert_event = prepare(
        "INSERT INTO events(at, device_id, type, check_id, from_verdict, to_verdict) "
        "VALUES (?, ?, ?, ?, ?, ?)");
    *s->insert_event, use(s->received), use(s->device), use(s->event_type), use(s->check_id),
        use(s->old_verdict), use(s->verdict);
    ingest_ = std::move(s);
    return *ingest_;
  }

  IngestResult ingestOne(const NewReport& r) {
    IngestStatements& s = ingestStatements();
    s.report_id = r.report_id;
    s.device = r.device_id;
    s.sent = r.sent_at;
    s.received = fmt(r.received_at);
    s.body = json::write(r.result);
    const json::Value* c = r.result.find("compliant");
    s.compliant = (c != nullptr && c->isBool() && c->asBool()) ? 1 : 0;
    s.seq = r.sequence;
    s.dropped = r.dropped;
    // A repeated report_id changes nothing, so its "dropped" is not counted twice.
    if (s.insert_report->execute() == 0) {
      // Sent again, e.g. after an agent crashed before it saw the acknowledgement: answer with
      // the highest sequence held below it, so that a loss this report revealed the first time
      // (a restore) is revealed again.
      s.last_seq = 0;
      s.select_below->execute();
      return {IngestOutcome::kDuplicate, s.last_seq};
    }
    s.last_seq = 0;
    s.prev_machine.clear();
    s.select_last_seq->execute();
    IngestResult stored{IngestOutcome::kStored, s.last_seq};

    // The device's latest state follows the highest sequence, not arrival order: a report sent
    // again after a restore (older than the device's latest) is kept as history only.
    if (s.seq < s.last_seq) {
      s.update_seen->execute();
      return stored;
    }
    s.agent = r.agent_version;
    s.machine = r.machine_id;
    s.status = deviceStatusFromResult(r.result);
    s.update_device->execute();
    // Rare: only when the device's machine_id changes (its first report, usually).
    if (!s.machine.empty() && s.machine != s.prev_machine)
      noteMachineId(s.device, s.machine, s.received);
    const json::Value* checks = r.result.find("checks");
    if (checks == nullptr || !checks->isArray()) return stored;
    s.state_ids.clear();
    s.state_verdicts.clear();
    s.select_states->execute();
    std::map<std::string, std::string> previous;
    for (size_t i = 0; i < s.state_ids.size() && i < s.state_verdicts.size(); ++i) {
      previous[s.state_ids[i]] = s.state_verdicts[i];
    }
    for (const auto& ch : checks->asArray()) {
      s.check_id = ch.find("id")->asString();
      s.verdict = ch.find("verdict")->asString();
      auto it = previous.find(s.check_id);
      if (it != previous.end() && it->second == s.verdict) continue;
      if (it == previous.end()) {
        s.old_verdict = Nullable<std::string>();
        s.insert_state->execute();
      } else {
        s.old_verdict = Nullable<std::string>(it->second);
        s.update_state->execute();
      }
      previous[s.check_id] = s.verdict;
      s.insert_event->execute();
    }
    return stored;
  }

  // Appends one feed event on the writer session (inside the caller's transaction).
  void appendEvent(const std::string& at, const std::string& device_id, const std::string& type,
                   const std::optional<std::string>& detail) {
    std::string a = at, dev = device_id, t = type;
    Nullable<std::string> det = nullable(detail);
    sql("INSERT INTO events(at, device_id, type, detail) VALUES (?, ?, ?, ?)",
        [&](Statement& e) { e, use(a), use(dev), use(t), use(det); });
  }

  // Runs `fn` in one transaction on the writer session: committed when it returns OK, rolled
  // back when it returns an error or throws (then the exception becomes a Status, as in guard).
  template <typename Fn>
  Status transaction(const char* what, Fn&& fn) {
    return guard(what, [&]() -> Status {
      session_->begin();
      try {
        Status inner = fn();
        if (inner.ok()) {
          session_->commit();
        } else {
          session_->rollback();
        }
        return inner;
      } catch (...) {
        try {
          session_->rollback();
        } catch (...) {
        }
        throw;
      }
    });
  }

  // Appends `audit` (if any) on the writer session, inside the caller's transaction: the action
  // and its entry are committed together or not at all. A target ending in ':' ("secret:") gets
  // `id` (the record just made) appended.
  void insertAudit(const AuditEntry* audit, int64_t id) {
    if (audit == nullptr) return;
    std::string at = fmt(audit->at), actor = audit->actor, action = audit->action,
                target = audit->target;
    if (!target.empty() && target.back() == ':') target += std::to_string(id);
    Nullable<std::string> detail = nullable(audit->detail);
    sql("INSERT INTO audit_log(at, actor, action, target, detail) VALUES (?, ?, ?, ?, ?)",
        [&](Statement& st) { st, use(at), use(actor), use(action), use(target), use(detail); });
  }

  // Approves (pending = 0) or rejects (retired) a device that waits for approval.
  Status decidePending(const std::string& device_id, TimePoint at, bool approve,
                       const AuditEntry* audit) {
    std::lock_guard<std::mutex> lock(mu_);
    return transaction(approve ? "approve device" : "reject device", [&]() -> Status {
      std::string id = device_id, when = fmt(at);
      size_t n = approve
                     ? sql("UPDATE devices SET pending = 0 WHERE device_id = ? AND pending = 1 AND "
                           "retired_at IS NULL",
                           [&](Statement& st) { st, use(id); })
                     : sql("UPDATE devices SET pending = 0, retired_at = ? WHERE device_id = ? AND "
                           "pending = 1 AND retired_at IS NULL",
                           [&](Statement& st) { st, use(when), use(id); });
      if (n == 0) return NotFoundError("no device " + device_id + " waiting for approval");
      appendEvent(when, id, approve ? "approved" : "rejected", std::nullopt);
      insertAudit(audit, 0);
      return OkStatus();
    });
  }

  // A device's machine_id changed (its first report, or a new disk): every other non-retired
  // device with the same machine_id is a clone of it. One `duplicate_machine_id` event per pair,
  // ever (the flag itself is computed when devices are read).
  void noteMachineId(const std::string& device_id, const std::string& machine_id,
                     const std::string& at) {
    std::string m = machine_id, dev = device_id;
    std::vector<std::string> others;
    sql("SELECT device_id FROM devices WHERE machine_id = ? AND device_id <> ? AND retired_at IS "
        "NULL",
        [&](Statement& st) { st, use(m), use(dev), into(others); });
    for (const auto& other : others) {
      std::string mine = "{\"other_device_id\":\"" + other + "\"}";
      std::string theirs = "{\"other_device_id\":\"" + dev + "\"}";
      std::string o = other;
      Poco::Int64 seen = 0;
      sql("SELECT COUNT(*) FROM events WHERE type = 'duplicate_machine_id' AND "
          "((device_id = ? AND detail = ?) OR (device_id = ? AND detail = ?))",
          [&](Statement& st) { st, use(dev), use(mine), use(o), use(theirs), into(seen); });
      if (seen == 0) appendEvent(at, dev, "duplicate_machine_id", mine);
    }
  }

  static TokenRecord tokenRow(RecordSet& rs) {
    TokenRecord t;
    t.id = integer(rs, "id");
    t.name = str(rs, "name");
    t.scope = str(rs, "scope");
    t.created_at = parseTime(str(rs, "created_at"));
    t.expires_at = optTime(rs, "expires_at");
    t.revoked_at = optTime(rs, "revoked_at");
    return t;
  }

  static PolicyRecord policyRow(RecordSet& rs) {
    PolicyRecord p;
    p.level = str(rs, "level");
    p.version = integer(rs, "version");
    p.body = str(rs, "body");
    p.signature = str(rs, "signature");
    p.created_at = parseTime(str(rs, "created_at"));
    return p;
  }

  static DeviceRecord deviceRow(RecordSet& rs) {
    DeviceRecord d;
    d.device_id = str(rs, "device_id");
    d.hostname = str(rs, "hostname");
    d.owner = optString(rs, "owner");
    d.level = str(rs, "level");
    d.cert_serial = str(rs, "cert_serial");
    d.enrolled_at = parseTime(str(rs, "enrolled_at"));
    d.retired_at = optTime(rs, "retired_at");
    d.last_seen = optTime(rs, "last_seen");
    d.agent_version = str(rs, "agent_version");
    d.machine_id = str(rs, "machine_id");
    d.last_sequence = integer(rs, "last_sequence");
    d.reports_dropped = integer(rs, "reports_dropped");
    d.status = str(rs, "status");
    d.pending_approval = integer(rs, "pending") != 0;
    d.duplicate_machine_id = integer(rs, "duplicate_machine_id") != 0;
    if (auto latest = optString(rs, "latest_result")) {
      auto v = json::parse(*latest, {.max_depth = 64, .max_bytes = 4 << 20});
      if (v.ok()) d.latest_result = std::move(v).value();
    }
    return d;
  }

  Dialect dialect_;
  std::string connector_;
  std::string connection_;
  std::mutex mu_;  // one session; the server batches writes (group commit) above this
  std::unique_ptr<Session> session_;
  std::unique_ptr<IngestStatements> ingest_;  // after session_: destroyed first
  std::vector<std::unique_ptr<Reader>> readers_;
  std::atomic<size_t> next_reader_{0};
};

std::once_flag g_register;

StatusOr<std::string> percentDecode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    auto hex = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      return -1;
    };
    if (i + 2 >= s.size() || hex(s[i + 1]) < 0 || hex(s[i + 2]) < 0) {
      return InvalidArgumentError("bad percent-encoding in database URI");
    }
    out += static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2]));
    i += 2;
  }
  return out;
}

void addKeyword(std::string& out, const std::string& key, const std::string& value) {
  if (!out.empty()) out += ' ';
  out += key + "='";
  for (char c : value) {
    if (c == '\\' || c == '\'') out += '\\';
    out += c;
  }
  out += '\'';
}

}  // namespace

json::Value AuditEntryJson(const AuditEntry& e) {
  json::Value o = json::Value::object();
  o.set("cursor", std::to_string(e.id));
  o.set("at", formatRfc3339(e.at));
  o.set("actor", e.actor);
  o.set("action", e.action);
  o.set("target", e.target);
  if (e.detail) {
    auto detail = json::parse(*e.detail);
    o.set("detail", detail.ok() ? std::move(detail).value() : json::Value(*e.detail));
  }
  return o;
}

std::string SecretKind(const SecretRecord& secret) {
  std::string kind;
  if (secret.uses_left && secret.uses + *secret.uses_left == 1) {
    kind = "single-use";
  } else if (secret.owner) {
    kind = "per-person";
  } else if (secret.uses_left) {
    kind = "limited";
  } else {
    kind = "rollout";
  }
  return secret.approval ? kind + "+approval" : kind;
}

StatusOr<std::string> PostgresUriToConninfo(const std::string& uri) {
  size_t scheme = uri.find("://");
  if (scheme == std::string::npos) {
    size_t colon = uri.find(':');
    return colon == std::string::npos ? uri : uri.substr(colon + 1);
  }
  std::string_view rest(uri);
  rest.remove_prefix(scheme + 3);
  std::string out;
  std::string_view query;
  if (size_t q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  std::string_view dbname;
  if (size_t slash = rest.find('/'); slash != std::string_view::npos) {
    dbname = rest.substr(slash + 1);
    rest = rest.substr(0, slash);
  }
  if (size_t at = rest.rfind('@'); at != std::string_view::npos) {
    std::string_view userinfo = rest.substr(0, at);
    rest = rest.substr(at + 1);
    std::string_view password;
    if (size_t c = userinfo.find(':'); c != std::string_view::npos) {
      password = userinfo.substr(c + 1);
      userinfo = userinfo.substr(0, c);
    }
    HEARTH_ASSIGN_OR_RETURN(std::string user, percentDecode(userinfo));
    if (!user.empty()) addKeyword(out, "user", user);
    if (!password.empty()) {
      HEARTH_ASSIGN_OR_RETURN(std::string pw, percentDecode(password));
      addKeyword(out, "password", pw);
    }
  }
  std::string_view host = rest, port;
  if (!host.empty() && host.front() == '[') {  // [::1]:5432
    size_t close = host.find(']');
    if (close == std::string_view::npos) return InvalidArgumentError("bad IPv6 host in URI");
    port = close + 1 < host.size() && host[close + 1] == ':' ? host.substr(close + 2) : "";
    host = host.substr(1, close - 1);
  } else if (size_t c = host.rfind(':'); c != std::string_view::npos) {
    port = host.substr(c + 1);
    host = host.substr(0, c);
  }
  if (!host.empty()) {
    HEARTH_ASSIGN_OR_RETURN(std::string h, percentDecode(host));
    addKeyword(out, "host", h);
  }
  if (!port.empty()) {
    for (char ch : port) {
      if (ch < '0' || ch > '9') return InvalidArgumentError("bad port in database URI");
    }
    addKeyword(out, "port", std::string(port));
  }
  if (!dbname.empty()) {
    HEARTH_ASSIGN_OR_RETURN(std::string db, percentDecode(dbname));
    addKeyword(out, "dbname", db);
  }
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view kv = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    size_t eq = kv.find('=');
    if (eq == std::string_view::npos) return InvalidArgumentError("bad query parameter in URI");
    HEARTH_ASSIGN_OR_RETURN(std::string k, percentDecode(kv.substr(0, eq)));
    HEARTH_ASSIGN_OR_RETURN(std::string v, percentDecode(kv.substr(eq + 1)));
    addKeyword(out, k, v);
  }
  if (out.find("connect_timeout=") == std::string::npos) addKeyword(out, "connect_timeout", "10");
  return out;
}

StatusOr<std::unique_ptr<Store>> OpenStore(const std::string& uri) {
  std::call_once(g_register, [] {
    Poco::Data::SQLite::Connector::registerConnector();
    Poco::Data::PostgreSQL::Connector::registerConnector();
  });
  std::unique_ptr<SqlStore> store;
  if (uri.rfind("postgresql:", 0) == 0 || uri.rfind("postgres:", 0) == 0) {
    HEARTH_ASSIGN_OR_RETURN(std::string conninfo, PostgresUriToConninfo(uri));
    store = std::make_unique<SqlStore>(Dialect::kPostgres, "PostgreSQL", conninfo);
  } else {
    if (uri.empty()) return InvalidArgumentError("empty database path");
    store = std::make_unique<SqlStore>(Dialect::kSqlite, "SQLite", uri);
  }
  HEARTH_RETURN_IF_ERROR(store->open());
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace hearth::server
