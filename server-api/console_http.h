// The IT console on the admin listener (issue 15): the page (GET /), its versioned assets
// (GET /assets/<version>/<name>), sign-in (POST /login with form field `token`), sign-out
// (POST /logout), the session for the page (GET /api/v1/session), and the session cookie as
// the API's alternative to a bearer token (with a CSRF token on every write).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>

#include "server_context.h"

namespace hearth::server {

// Whether `path` is one of the console's own (not under /api/v1): "/", "/login", "/logout",
// "/login/oidc", "/login/oidc/callback", "/assets/...".
bool IsConsolePath(const std::string& path);

// Answers a console path (IsConsolePath) and returns the status sent, or throws HttpError.
// `body` reads the request body (RouteHandler::requestBody).
int RouteConsole(ServerContext& context, Poco::Net::HTTPServerRequest& req,
                 Poco::Net::HTTPServerResponse& resp, const std::function<std::string()>& body);

// Sends the page (index.html, never cached) with `status`, its body marked data-login=
// `login_mark` (e.g. "failed": the page says why the sign-in failed) and data-oidc="on" when
// single sign-on is configured; returns `status`.
int SendConsolePage(const ServerContext& context, Poco::Net::HTTPServerResponse& resp, int status,
                    std::string_view login_mark);

// GET /login/oidc (console_oidc.cc): starts a sign-in with OpenID Connect: 303 to the
// provider with the pending cookie; 404 when none is configured; the page marked
// "oidc-unavailable" (502) when the provider cannot be reached.
int StartOidcSignIn(ServerContext& context, Poco::Net::HTTPServerRequest& req,
                    Poco::Net::HTTPServerResponse& resp);

// GET /login/oidc/callback: the provider's answer: 303 to / with a session cookie; otherwise the
// page marked "oidc-failed" (401), "oidc-norole" (403: signed in, but the claim gives no role)
// or "oidc-unavailable" (502).
int FinishOidcSignIn(ServerContext& context, Poco::Net::HTTPServerRequest& req,
                     Poco::Net::HTTPServerResponse& resp);

// The headers of every console answer: Content-Security-Policy, Referrer-Policy,
// X-Content-Type-Options.
void SetConsoleHeaders(Poco::Net::HTTPServerResponse& resp);

// The token a request's session cookie stands for (id, name, scope = the session's role), for a
// request without an Authorization header; nullopt when it has no session cookie. Throws
// HttpError 401 for a session that is unknown, expired or whose token is no longer live, 403
// for a write (any method but GET and HEAD) without the session's X-CSRF-Token, 503 when the
// store fails.
std::optional<TokenRecord> SessionPrincipal(ServerContext& context,
                                            Poco::Net::HTTPServerRequest& req);

// GET /api/v1/session: {"role", "token_name", "csrf_token", "expires"} of the request's
// session; 401 without one.
int SessionInfo(ServerContext& context, Poco::Net::HTTPServerRequest& req,
                Poco::Net::HTTPServerResponse& resp);

}  // namespace hearth::server
