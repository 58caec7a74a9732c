// The SQL store's administration tables: enrolment secrets and admin tokens (stored as hashes),
// signed policies by level and version, and the append-only audit log.
#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hearth/time.h"
#include "sql_store.h"
#include "sql_values.h"

namespace hearth::server {

namespace sql {

namespace {

using namespace Poco::Data::Keywords;  // NOLINT(google-build-using-namespace)

SecretRecord secretRow(RecordSet& rs) {
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
  return r;
}

// Every admin API request looks its token up: a hot statement on each reader (PostgreSQL: one
// round trip instead of four).
struct TokenRead final : ReaderStatements {
  explicit TokenRead(const Prepare& prepare)
      : select(
            prepare("SELECT id, name, scope, created_at, expires_at, revoked_at FROM admin_tokens "
                    "WHERE token_hash = ?")) {
    select->use(hash).into(id).into(name).into(scope).into(created).into(expires).into(revoked);
  }
  std::string hash, name, scope, created;
  Poco::Int64 id = 0;
  Poco::Nullable<std::string> expires, revoked;
  std::unique_ptr<HotStatement> select;
};

TokenRecord tokenRow(RecordSet& rs) {
  TokenRecord t;
  t.id = integer(rs, "id");
  t.name = str(rs, "name");
  t.scope = str(rs, "scope");
  t.created_at = parseTime(str(rs, "created_at"));
  t.expires_at = optTime(rs, "expires_at");
  t.revoked_at = optTime(rs, "revoked_at");
  return t;
}

PolicyRecord policyRow(RecordSet& rs) {
  PolicyRecord p;
  p.level = str(rs, "level");
  p.version = integer(rs, "version");
  p.body = str(rs, "body");
  p.signature = str(rs, "signature");
  p.created_at = parseTime(str(rs, "created_at"));
  return p;
}

AuditEntry auditRow(RecordSet& rs) {
  AuditEntry e;
  e.id = integer(rs, "id");
  e.at = parseTime(str(rs, "at"));
  e.actor = str(rs, "actor");
  e.action = str(rs, "action");
  e.target = str(rs, "target");
  e.detail = optString(rs, "detail");
  return e;
}

}  // namespace

template <typename Bind>
Status SqlStore::insertHashed(const char* what, const std::string& insert, Bind&& bind,
                              const std::string& select_id, std::string& hash, int64_t& id,
                              const AuditEntry* audit) {
  return db_.transaction(what, [&]() -> Status {
    db_.exec(insert, bind);
    Poco::Int64 new_id = 0;
    db_.exec(select_id, [&](Statement& st) { st, use(hash), into(new_id); });
    id = new_id;
    insertAudit(audit, new_id);
    return OkStatus();
  });
}

StatusOr<SecretRecord> SqlStore::createSecret(const std::string& secret_hash,
                                              const SecretRecord& spec, const AuditEntry* audit) {
  SecretRecord r = spec;
  std::string level = spec.level;
  Nullable<std::string> owner = nullable(spec.owner);
  Nullable<Poco::Int64> uses_left;
  if (spec.uses_left) uses_left = static_cast<Poco::Int64>(*spec.uses_left);
  Nullable<std::string> expires = nullableTime(spec.expires_at);
  std::string created = fmt(spec.created_at);
  std::string hash = secret_hash;
  int approval = spec.approval ? 1 : 0;
  HEARTH_RETURN_IF_ERROR(insertHashed(
      "create enrolment secret",
      "INSERT INTO enroll_secrets(secret_hash, level, owner, uses_left, expires_at, "
      "created_at, approval) VALUES (?, ?, ?, ?, ?, ?, ?)",
      [&](Statement& st) {
        st, use(hash), use(level), use(owner), use(uses_left), use(expires), use(created),
            use(approval);
      },
      "SELECT id FROM enroll_secrets WHERE secret_hash = ?", hash, r.id, audit));
  return r;
}

StatusOr<std::vector<SecretRecord>> SqlStore::listSecrets() {
  return db_.writerRows(
      "list enrolment secrets",
      "SELECT id, level, owner, uses_left, uses, expires_at, created_at, revoked_at, "
      "approval FROM enroll_secrets ORDER BY id",
      secretRow);
}

Status SqlStore::revokeSecret(int64_t id, TimePoint at, const AuditEntry* audit) {
  return revokeRow("revoke enrolment secret", "enroll_secrets", "enrolment secret", id, at, audit);
}

StatusOr<TokenRecord> SqlStore::createToken(const std::string& token_hash, const TokenRecord& spec,
                                            const AuditEntry* audit) {
  TokenRecord r = spec;
  std::string name = spec.name, scope = spec.scope, hash = token_hash;
  std::string created = fmt(spec.created_at);
  Nullable<std::string> expires = nullableTime(spec.expires_at);
  HEARTH_RETURN_IF_ERROR(insertHashed(
      "create admin token",
      "INSERT INTO admin_tokens(name, token_hash, scope, created_at, expires_at) "
      "VALUES (?, ?, ?, ?, ?)",
      [&](Statement& st) { st, use(name), use(hash), use(scope), use(created), use(expires); },
      "SELECT id FROM admin_tokens WHERE token_hash = ?", hash, r.id, audit));
  return r;
}

StatusOr<std::vector<TokenRecord>> SqlStore::listTokens() {
  return db_.writerRows("list admin tokens",
                        "SELECT id, name, scope, created_at, expires_at, revoked_at FROM "
                        "admin_tokens ORDER BY id",
                        tokenRow);
}

Status SqlStore::revokeToken(int64_t id, TimePoint at, const AuditEntry* audit) {
  return revokeRow("revoke admin token", "admin_tokens", "admin token", id, at, audit);
}

Status SqlStore::revokeRow(const char* what, const char* table, const char* noun, int64_t id,
                           TimePoint at, const AuditEntry* audit) {
  return db_.transaction(what, [&]() -> Status {
    Poco::Int64 pid = id;
    std::string when = fmt(at);
    size_t n = db_.exec(
        std::string("UPDATE ") + table + " SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
        [&](Statement& st) { st, use(when), use(pid); });
    if (n == 0)
      return NotFoundError(std::string("no live ") + noun + " with id " + std::to_string(id));
    insertAudit(audit, id);
    return OkStatus();
  });
}

StatusOr<TokenRecord> SqlStore::findToken(const std::string& token_hash, TimePoint now_time) {
  std::optional<TokenRecord> found;
  Status s = db_.readHot<TokenRead>("find admin token", [&](TokenRead& r) -> Status {
    r.hash = token_hash;
    r.expires = r.revoked = Poco::Nullable<std::string>();
    HEARTH_ASSIGN_OR_RETURN(size_t n, r.select->execute());
    if (n == 0) return OkStatus();
    TokenRecord t;
    t.id = r.id;
    t.name = r.name;
    t.scope = r.scope;
    t.created_at = parseTime(r.created);
    if (!r.expires.isNull()) t.expires_at = parseTime(r.expires.value());
    if (!r.revoked.isNull()) t.revoked_at = parseTime(r.revoked.value());
    found = std::move(t);
    return OkStatus();
  });
  if (!s.ok()) return s;
  if (!found || found->revoked_at || (found->expires_at && *found->expires_at <= now_time)) {
    return NotFoundError("no such live token");
  }
  return *found;
}

Status SqlStore::putPolicy(const PolicyRecord& p, const AuditEntry* audit) {
  return db_.transaction("store policy", [&]() -> Status {
    std::string level = p.level, body = p.body, sig = p.signature, created = fmt(p.created_at);
    Poco::Int64 version = p.version;
    Poco::Int64 current = 0;
    db_.exec("SELECT COALESCE(MAX(version), 0) FROM policies WHERE level = ?",
             [&](Statement& st) { st, use(level), into(current); });
    if (version <= current) {
      return FailedPreconditionError("level \"" + level + "\" already has version " +
                                     std::to_string(current) +
                                     "; a new policy needs a higher \"version\"");
    }
    db_.exec(
        "INSERT INTO policies(level, version, body, signature, created_at) VALUES (?, ?, ?, ?, "
        "?)",
        [&](Statement& st) { st, use(level), use(version), use(body), use(sig), use(created); });
    insertAudit(audit, 0);
    return OkStatus();
  });
}

StatusOr<PolicyRecord> SqlStore::latestPolicy(const std::string& level) {
  std::string l = level;
  HEARTH_ASSIGN_OR_RETURN(std::vector<PolicyRecord> found,
                          db_.readRows("read policy",
                                       "SELECT level, version, body, signature, created_at FROM "
                                       "policies WHERE level = ? ORDER BY version DESC LIMIT 1",
                                       policyRow, l));
  if (found.empty()) return NotFoundError("no policy for level \"" + level + "\"");
  return found[0];
}

StatusOr<std::vector<PolicyRecord>> SqlStore::listLatestPolicies() {
  return db_.writerRows(
      "list policies",
      "SELECT p.level, p.version, p.body, p.signature, p.created_at FROM policies p "
      "WHERE p.version = (SELECT MAX(version) FROM policies q WHERE q.level = p.level) "
      "ORDER BY p.level",
      policyRow);
}

Status SqlStore::appendAudit(const AuditEntry& e) {
  return db_.write("append to the audit log", [&]() -> Status {
    insertAudit(&e, 0);
    return OkStatus();
  });
}

StatusOr<std::vector<AuditEntry>> SqlStore::listAudit(int64_t after, int limit) {
  Poco::Int64 a = after;
  Poco::Int64 lim = std::max(1, std::min(limit, 1000));
  return db_.readRows(
      "read the audit log",
      "SELECT id, at, actor, action, target, detail FROM audit_log WHERE id > ? ORDER BY id "
      "LIMIT ?",
      auditRow, a, lim);
}

StatusOr<std::vector<AuditEntry>> SqlStore::auditNewest(int limit) {
  Poco::Int64 lim = std::max(1, std::min(limit, 1000));
  return db_.readRows("read the audit log",
                      "SELECT id, at, actor, action, target, detail FROM audit_log WHERE id IN "
                      "(SELECT id FROM audit_log ORDER BY id DESC LIMIT ?) ORDER BY id",
                      auditRow, lim);
}

StatusOr<Store::ReportContext> SqlStore::reportContext(const ReportPeriod& period,
                                                       bool admin_actions) {
  ReportContext out;
  auto time = [](int64_t s) { return TimePoint(std::chrono::seconds(s)); };
  std::vector<std::string> horizon;
  Status s = db_.read("read the retention horizon", [&](Session& db) -> Status {
    db_.execOn(db, "SELECT COALESCE(pruned_before, '') FROM retention_horizon WHERE id = 1",
               [&](Statement& st) { st, into(horizon); });
    return OkStatus();
  });
  if (!s.ok()) return s;
  if (!horizon.empty() && !horizon.front().empty()) out.pruned_before = parseTime(horizon.front());
  if (!admin_actions) return out;
  // The period's rows only (audit_log_at), a second wider (stored times may carry a fraction),
  // then exactly.
  std::string from = fmt(time(period.from - 1)), to = fmt(time(period.to + 1));
  auto rows = db_.readRows(
      "read the audit log of a period",
      "SELECT id, at, actor, action, target, detail FROM audit_log WHERE at >= ? AND at < ? "
      "ORDER BY id",
      auditRow, from, to);
  if (!rows.ok()) return rows.status();
  for (auto& e : *rows) {
    if (e.at >= time(period.from) && e.at < time(period.to)) {
      out.admin_actions.push_back(std::move(e));
    }
  }
  return out;
}

void SqlStore::insertAudit(const AuditEntry* audit, int64_t id) {
  if (audit == nullptr) return;
  std::string at = fmt(audit->at), actor = audit->actor, action = audit->action,
              target = audit->target;
  if (!target.empty() && target.back() == ':') target += std::to_string(id);
  Nullable<std::string> detail = nullable(audit->detail);
  db_.exec("INSERT INTO audit_log(at, actor, action, target, detail) VALUES (?, ?, ?, ?, ?)",
           [&](Statement& st) { st, use(at), use(actor), use(action), use(target), use(detail); });
}

}  // namespace sql

AuditEntry NewAuditEntry(std::string actor, std::string action, std::string target,
                         const json::Value& detail) {
  AuditEntry e;
  e.at = std::chrono::system_clock::now();
  e.actor = std::move(actor);
  e.action = std::move(action);
  e.target = std::move(target);
  if (!detail.isNull()) e.detail = json::write(detail);
  return e;
}

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

}  // namespace hearth::server
