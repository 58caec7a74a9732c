// The SQL store's IT console sessions (issue 15, schema 16): kept by the SHA-256 of their id,
// with the token they were opened with (or, opened with OpenID Connect, token 0 and the subject:
// schema 18), shared by every server on the database; and the OpenID Connect sign-ins in
// progress (schema 20), so that the provider's answer may reach any server.
#include <string>
#include <vector>

#include "sql_store.h"
#include "sql_values.h"

namespace hearth::server::sql {

namespace {

using namespace Poco::Data::Keywords;  // NOLINT(google-build-using-namespace)

struct SessionRow {
  SessionRecord session;
  std::optional<TimePoint> token_expires, token_revoked;
  bool token_found = false;
};

SessionRow sessionRow(RecordSet& rs) {
  SessionRow r;
  r.session.token_id = integer(rs, "token_id");
  r.session.token_name = r.session.token_id == 0 ? str(rs, "subject") : str(rs, "name");
  r.session.role = str(rs, "role");
  r.session.csrf_token = str(rs, "csrf_token");
  r.session.created_at = parseTime(str(rs, "created_at"));
  r.session.last_used_at = parseTime(str(rs, "last_used_at"));
  r.token_expires = optTime(rs, "expires_at");
  r.token_revoked = optTime(rs, "revoked_at");
  r.token_found = optInt(rs, "found_token").has_value();
  return r;
}

}  // namespace

Status SqlStore::createSession(const std::string& id_hash, const SessionRecord& session,
                               const AuditEntry* audit) {
  return db_.transaction("open a console session", [&]() -> Status {
    std::string hash = id_hash, role = session.role, csrf = session.csrf_token,
                created = fmt(session.created_at), used = fmt(session.last_used_at),
                subject = session.token_id == 0 ? session.token_name : std::string();
    Poco::Int64 token = session.token_id;
    db_.exec(
        "INSERT INTO console_sessions(id_hash, token_id, role, csrf_token, created_at, "
        "last_used_at, subject) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [&](Statement& st) {
          st, use(hash), use(token), use(role), use(csrf), use(created), use(used), use(subject);
        });
    insertAudit(audit, 0);
    return OkStatus();
  });
}

StatusOr<SessionRecord> SqlStore::findSession(const std::string& id_hash, TimePoint now_time) {
  std::string hash = id_hash;
  HEARTH_ASSIGN_OR_RETURN(
      std::vector<SessionRow> found,
      db_.readRows("find a console session",
                   "SELECT s.token_id, t.id AS found_token, t.name, s.subject, s.role, "
                   "s.csrf_token, s.created_at, "
                   "s.last_used_at, t.expires_at, t.revoked_at FROM console_sessions s LEFT JOIN "
                   "admin_tokens t ON t.id = s.token_id WHERE s.id_hash = ?",
                   sessionRow, hash));
  // A token session whose token is gone, revoked or expired has ended; an OIDC session (token
  // 0) has no token.
  if (found.empty() || (found[0].session.token_id != 0 && !found[0].token_found) ||
      found[0].token_revoked || (found[0].token_expires && *found[0].token_expires <= now_time)) {
    return NotFoundError("no such console session");
  }
  return found[0].session;
}

Status SqlStore::touchSession(const std::string& id_hash, TimePoint at) {
  return db_.write("use a console session", [&]() -> Status {
    std::string hash = id_hash, used = fmt(at);
    db_.exec("UPDATE console_sessions SET last_used_at = ? WHERE id_hash = ?",
             [&](Statement& st) { st, use(used), use(hash); });
    return OkStatus();
  });
}

Status SqlStore::deleteSession(const std::string& id_hash, const AuditEntry* audit) {
  return db_.transaction("end a console session", [&]() -> Status {
    std::string hash = id_hash;
    size_t n = db_.exec("DELETE FROM console_sessions WHERE id_hash = ?",
                        [&](Statement& st) { st, use(hash); });
    if (n == 0) return NotFoundError("no such console session");
    insertAudit(audit, 0);
    return OkStatus();
  });
}

StatusOr<int64_t> SqlStore::pruneSessions(TimePoint idle_before, TimePoint opened_before) {
  int64_t deleted = 0;
  Status s = db_.write("prune console sessions", [&]() -> Status {
    std::string idle = fmt(idle_before), opened = fmt(opened_before);
    deleted = static_cast<int64_t>(
        db_.exec("DELETE FROM console_sessions WHERE last_used_at < ? OR created_at < ?",
                 [&](Statement& st) { st, use(idle), use(opened); }));
    return OkStatus();
  });
  if (!s.ok()) return s;
  return deleted;
}

Status SqlStore::createOidcPending(const std::string& id_hash, const OidcPendingRecord& pending,
                                   TimePoint expired_before, int64_t max) {
  return db_.transaction("start a single sign-on", [&]() -> Status {
    std::string hash = id_hash, state = pending.state, nonce = pending.nonce,
                verifier = pending.verifier, created = fmt(pending.created_at),
                expired = fmt(expired_before);
    db_.exec("DELETE FROM oidc_pending WHERE created_at < ?",
             [&](Statement& st) { st, use(expired); });
    Poco::Int64 n = 0;
    db_.exec("SELECT COUNT(*) FROM oidc_pending", [&](Statement& st) { st, into(n); });
    if (n >= max) {
      return ResourceExhaustedError("too many sign-ins in progress; try again in a few minutes");
    }
    db_.exec(
        "INSERT INTO oidc_pending(id_hash, state, nonce, verifier, created_at) "
        "VALUES (?, ?, ?, ?, ?)",
        [&](Statement& st) { st, use(hash), use(state), use(nonce), use(verifier), use(created); });
    return OkStatus();
  });
}

StatusOr<OidcPendingRecord> SqlStore::takeOidcPending(const std::string& id_hash) {
  std::optional<OidcPendingRecord> taken;
  Status s = db_.transaction("finish a single sign-on", [&]() -> Status {
    std::string hash = id_hash;
    std::vector<std::string> state, nonce, verifier, created;
    db_.exec("SELECT state, nonce, verifier, created_at FROM oidc_pending WHERE id_hash = ?",
             [&](Statement& st) {
               st, use(hash), into(state), into(nonce), into(verifier), into(created);
             });
    // The row's deletion decides: two servers given one answer at once both read it, and only
    // the one whose DELETE removed it goes on (the other's waits for that commit, then finds
    // nothing).
    size_t n = db_.exec("DELETE FROM oidc_pending WHERE id_hash = ?",
                        [&](Statement& st) { st, use(hash); });
    if (n == 0 || state.empty()) return OkStatus();
    taken = OidcPendingRecord{.state = state[0],
                              .nonce = nonce[0],
                              .verifier = verifier[0],
                              .created_at = parseTime(created[0])};
    return OkStatus();
  });
  if (!s.ok()) return s;
  if (!taken) return NotFoundError("no such sign-in in progress");
  return *taken;
}

}  // namespace hearth::server::sql
