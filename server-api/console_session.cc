// The IT console's sessions: opening, resuming (expiry, last use), closing, CSRF and cookies.
#include "hearth/server/console_session.h"

#include <algorithm>
#include <string>

#include "hearth/json.h"
#include "hearth/protocol/crypto.h"
#include "hearth/server/state.h"

namespace hearth::server {

namespace {

AuditEntry sessionAudit(const SessionRecord& session, const char* action, TimePoint at,
                        json::Value detail = json::Value::object()) {
  if (session.token_id != 0) detail.set("token_id", session.token_id);
  detail.set("role", session.role);
  // An OIDC session's target is its subject ("oidc:NAME"), a token session's its token.
  std::string target =
      session.token_id != 0 ? "token:" + std::to_string(session.token_id) : session.token_name;
  AuditEntry entry = NewAuditEntry(session.token_name, action, target, detail);
  entry.at = at;
  return entry;
}

StatusOr<OpenedSession> newSession(Store& store, SessionRecord record, TimePoint now,
                                   json::Value detail) {
  HEARTH_ASSIGN_OR_RETURN(std::string id, protocol::RandomHex(32));
  HEARTH_ASSIGN_OR_RETURN(std::string csrf, protocol::RandomHex(32));
  OpenedSession opened;
  opened.id = id;
  opened.record = std::move(record);
  opened.record.csrf_token = csrf;
  opened.record.created_at = now;
  opened.record.last_used_at = now;
  AuditEntry audit = sessionAudit(opened.record, "console.login", now, std::move(detail));
  HEARTH_RETURN_IF_ERROR(store.createSession(HashSecret(id), opened.record, &audit));
  return opened;
}

}  // namespace

StatusOr<OpenedSession> OpenSession(Store& store, const std::string& token, TimePoint now) {
  if (token.empty() || token.size() > 512) return PermissionDeniedError("not a live token");
  auto found = store.findToken(HashSecret(token), now);
  if (!found.ok()) {
    if (found.status().code() == StatusCode::kNotFound) {
      return PermissionDeniedError("not a live token");
    }
    return found.status();
  }
  SessionRecord record;
  record.token_id = found->id;
  record.token_name = found->name;
  record.role = found->scope == "admin" ? "admin" : "read";
  return newSession(store, std::move(record), now, json::Value::object());
}

StatusOr<OpenedSession> OpenOidcSession(Store& store, const OidcIdentity& who, TimePoint now) {
  if (who.role != "admin" && who.role != "read") return InvalidArgumentError("no such role");
  SessionRecord record;
  record.token_id = 0;
  record.token_name = "oidc:" + who.name;
  record.role = who.role;
  json::Value detail = json::Value::object();
  detail.set("via", "oidc");
  detail.set("issuer", who.issuer);
  detail.set("subject", who.subject);
  return newSession(store, std::move(record), now, std::move(detail));
}

TimePoint SessionExpiry(const SessionRecord& session, const ConsoleSessionLimits& limits) {
  return std::min(session.last_used_at + limits.idle, session.created_at + limits.lifetime);
}

StatusOr<SessionRecord> ResumeSession(Store& store, const std::string& id, TimePoint now,
                                      const ConsoleSessionLimits& limits) {
  if (!IsSessionIdForm(id)) return NotFoundError("no such console session");
  std::string hash = HashSecret(id);
  HEARTH_ASSIGN_OR_RETURN(SessionRecord session, store.findSession(hash, now));
  if (now >= SessionExpiry(session, limits)) {
    (void)store.deleteSession(hash);
    return NotFoundError("the console session expired");
  }
  auto touch_every = std::min<std::chrono::seconds>(kTouchEvery, limits.idle / 10);
  if (now - session.last_used_at >= touch_every) {
    HEARTH_RETURN_IF_ERROR(store.touchSession(hash, now));
    session.last_used_at = now;
  }
  return session;
}

Status CloseSession(Store& store, const std::string& id, const SessionRecord& session,
                    TimePoint now) {
  AuditEntry audit = sessionAudit(session, "console.logout", now);
  return store.deleteSession(HashSecret(id), &audit);
}

bool CsrfTokenMatches(const SessionRecord& session, std::string_view header) {
  const std::string& want = session.csrf_token;
  if (want.empty() || header.size() != want.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    diff |= static_cast<unsigned char>(want[i] ^ header[i]);
  }
  return diff == 0;
}

std::string SessionCookie(const std::string& id) {
  return std::string(kSessionCookie) + "=" + id + "; HttpOnly; Secure; SameSite=Strict; Path=/";
}

std::string ClearedSessionCookie() {
  return std::string(kSessionCookie) + "=; HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age=0";
}

bool IsSessionIdForm(std::string_view id) {
  return id.size() == 64 && std::all_of(id.begin(), id.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

}  // namespace hearth::server
