// The IT console's sessions (issue 15): an admin token (scope read or admin), or a sign-in with
// OpenID Connect (oidc_client.h), exchanged for a session whose id is a cookie; the store keeps
// only its SHA-256. A session ends at logout, when idle longer than `idle`, `lifetime` after it was
// opened, or when its token is revoked or expires. Every write made with the cookie carries the
// session's CSRF token.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "hearth/server/store.h"
#include "hearth/status.h"

namespace hearth::server {

// --console-idle-timeout, --console-session-lifetime.
struct ConsoleSessionLimits {
  std::chrono::seconds idle{30 * 60};
  std::chrono::seconds lifetime{12 * 3600};
};

// The cookie's name.
inline constexpr std::string_view kSessionCookie = "hearth_session";

struct OpenedSession {
  std::string id;  // the cookie's value (64 hex digits); never logged nor stored
  SessionRecord record;
};

// Opens a session for the live token `token` at `now`, audited as console.login by the token's
// name. PermissionDenied for a token that is not live; Unavailable when the store fails.
StatusOr<OpenedSession> OpenSession(Store& store, const std::string& token, TimePoint now);

// Who signed in with OpenID Connect: the provider (iss), the subject (sub), a readable name
// (oidc::DisplayName) and the role the claims gave.
struct OidcIdentity {
  std::string issuer, subject, name, role;
};

// A session opened with OpenID Connect has no token: its SessionRecord has token_id 0 and
// token_name "oidc:" + name (the store keeps the name in console_sessions.subject, schema 18, and
// findSession returns it without looking for a token).
// Opens a session (token_id 0, named "oidc:" + name) for a person signed in with OpenID
// Connect, audited as console.login with the issuer and subject. Unavailable when the store
// fails.
StatusOr<OpenedSession> OpenOidcSession(Store& store, const OidcIdentity& who, TimePoint now);

// When the session ends unless used again: idle expiry or absolute expiry, whichever is first.
TimePoint SessionExpiry(const SessionRecord& session, const ConsoleSessionLimits& limits);

// The live session `id` at `now`, its last use moved to `now` (at most every kTouchEvery or a
// tenth of the idle limit, so that a page's requests do not each write). NotFound for no such
// session, one past its expiry (deleted then) or one whose token is no longer live.
StatusOr<SessionRecord> ResumeSession(Store& store, const std::string& id, TimePoint now,
                                      const ConsoleSessionLimits& limits);
inline constexpr std::chrono::seconds kTouchEvery{60};

// Ends session `id`, audited as console.logout by its token's name.
Status CloseSession(Store& store, const std::string& id, const SessionRecord& session,
                    TimePoint now);

// Whether `header` (X-CSRF-Token) is the session's CSRF token; compared in constant time.
bool CsrfTokenMatches(const SessionRecord& session, std::string_view header);

// Set-Cookie values: the session's, and one that clears it.
std::string SessionCookie(const std::string& id);
std::string ClearedSessionCookie();

// Whether `id` has the form of a session id (64 lowercase hex digits): anything else is not
// looked up.
bool IsSessionIdForm(std::string_view id);

}  // namespace hearth::server
