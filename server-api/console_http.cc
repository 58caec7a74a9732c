// The IT console's routes on the admin listener and the session cookie as API credentials.
#include "console_http.h"

#include <chrono>
#include <string>

#include <Poco/Net/NameValueCollection.h>
#include <Poco/URI.h>

#include "console_assets.h"
#include "hearth/json.h"
#include "hearth/server/console_session.h"
#include "hearth/time.h"
#include "http_error.h"
#include "http_io.h"

namespace hearth::server {

namespace {

using Poco::Net::HTTPServerRequest;
using Poco::Net::HTTPServerResponse;

constexpr std::string_view kAssetsPrefix = "/assets/";

ConsoleSessionLimits limitsOf(const ServerContext& context) {
  return {context.options.console_idle, context.options.console_lifetime};
}

// The session id of the request's cookie; "" when it has none.
std::string sessionCookie(const HTTPServerRequest& req) {
  Poco::Net::NameValueCollection cookies;
  req.getCookies(cookies);
  return cookies.get(std::string(kSessionCookie), "");
}

bool isRead(const std::string& method) { return method == "GET" || method == "HEAD"; }

void sendAsset(HTTPServerResponse& resp, const ConsoleAsset& asset, int status,
               const char* cache_control, std::string_view body) {
  resp.set("Cache-Control", cache_control);
  SendText(resp, status, std::string(asset.content_type), std::string(body));
}

// A POST from another site's page: the browser says so in Sec-Fetch-Site (anything but
// same-origin, or none for one the person started), or, from a browser that does not send it,
// its Origin names another host. (The page's Referrer-Policy makes a browser send "Origin: null"
// on its own form posts: Sec-Fetch-Site decides for those.) The cookie is SameSite=Strict; this
// also keeps another site from signing a browser in with the site's token.
void refuseForeignOrigin(const HTTPServerRequest& req) {
  const HttpError foreign{403, "the request comes from another site", "forbidden"};
  std::string site = req.get("Sec-Fetch-Site", "");
  if (!site.empty()) {
    if (site != "same-origin" && site != "none") throw foreign;
    return;
  }
  std::string origin = req.get("Origin", "");
  if (origin.empty()) return;
  Poco::URI uri;
  try {
    uri = Poco::URI(origin);
  } catch (const Poco::Exception&) {
    throw foreign;
  }
  std::string host = req.getHost();
  std::string authority = uri.getHost() + ":" + std::to_string(uri.getPort());
  if (host != authority && host != uri.getHost()) throw foreign;
}

// POST /login: form field `token` → 303 to / with the session cookie; a refused token → the
// page again (401) saying so, no cookie.
int login(ServerContext& context, HTTPServerRequest& req, HTTPServerResponse& resp,
          const std::function<std::string()>& body) {
  refuseForeignOrigin(req);
  std::string text = body();
  std::string token;
  // application/x-www-form-urlencoded: name=value pairs joined by '&'.
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('&', start);
    if (end == std::string::npos) end = text.size();
    std::string pair = text.substr(start, end - start);
    if (pair.starts_with("token=")) {
      std::string value = pair.substr(6);
      for (char& c : value) {
        if (c == '+') c = ' ';
      }
      try {
        Poco::URI::decode(value, token);
      } catch (const Poco::Exception&) {
        token.clear();
      }
    }
    start = end + 1;
  }
  // Tokens are one line of printable ASCII; a pasted newline or spaces around it are not part.
  while (!token.empty() && (token.back() == ' ' || token.back() == '\n' || token.back() == '\r')) {
    token.pop_back();
  }
  while (!token.empty() && token.front() == ' ') token.erase(0, 1);
  auto opened = OpenSession(*context.store, token, std::chrono::system_clock::now());
  if (!opened.ok()) {
    if (opened.status().code() != StatusCode::kPermissionDenied) {
      throw HttpError{503, "database unavailable"};
    }
    context.log->warning("console: sign-in with an invalid, expired or revoked token from " +
                         req.clientAddress().host().toString());
    return SendConsolePage(context, resp, 401, "failed");
  }
  context.log->info("console: signed in with token \"" + json::escape(opened->record.token_name) +
                    "\" (" + opened->record.role + ")");
  resp.add("Set-Cookie", SessionCookie(opened->id));
  resp.set("Location", "/");
  resp.set("Cache-Control", "no-store");
  SendText(resp, 303, "text/plain; charset=utf-8", "signed in\n");
  return 303;
}

// POST /logout (with the session's X-CSRF-Token): ends the session, clears the cookie, 303 to /.
int logout(ServerContext& context, HTTPServerRequest& req, HTTPServerResponse& resp) {
  refuseForeignOrigin(req);
  std::string id = sessionCookie(req);
  TimePoint now = std::chrono::system_clock::now();
  auto session = ResumeSession(*context.store, id, now, limitsOf(context));
  if (session.ok()) {
    if (!CsrfTokenMatches(*session, req.get("X-CSRF-Token", ""))) {
      throw HttpError{403, "missing or wrong X-CSRF-Token", "forbidden", 0, false, "csrf"};
    }
    Status s = CloseSession(*context.store, id, *session, now);
    if (!s.ok() && s.code() != StatusCode::kNotFound) throw HttpError{503, "database unavailable"};
    context.log->info("console: signed out (token \"" + json::escape(session->token_name) + "\")");
  } else if (session.status().code() != StatusCode::kNotFound) {
    throw HttpError{503, "database unavailable"};
  }
  resp.add("Set-Cookie", ClearedSessionCookie());
  resp.set("Location", "/");
  resp.set("Cache-Control", "no-store");
  SendText(resp, 303, "text/plain; charset=utf-8", "signed out\n");
  return 303;
}

}  // namespace

bool IsConsolePath(const std::string& path) {
  return path == "/" || path == "/login" || path == "/logout" || path == oidc::kLoginPath ||
         path == oidc::kCallbackPath || path.starts_with(kAssetsPrefix);
}

int SendConsolePage(const ServerContext& context, HTTPServerResponse& resp, int status,
                    std::string_view login_mark) {
  const ConsoleAsset* page = FindConsoleAsset("index.html");
  if (page == nullptr) throw HttpError{500, "the console is not built in"};
  std::string body(page->body);
  auto mark = [&](std::string_view attribute, std::string_view value) {
    std::string empty = std::string(attribute) + "=\"\"";
    if (auto at = body.find(empty); at != std::string::npos && !value.empty()) {
      body.replace(at, empty.size(), std::string(attribute) + "=\"" + std::string(value) + "\"");
    }
  };
  mark("data-login", login_mark);
  mark("data-oidc", context.oidc ? "on" : "");
  resp.set("Cache-Control", "no-store");
  SendText(resp, status, std::string(page->content_type), body);
  return status;
}

void SetConsoleHeaders(HTTPServerResponse& resp) {
  resp.set("Content-Security-Policy",
           "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
  resp.set("Referrer-Policy", "no-referrer");
  resp.set("X-Content-Type-Options", "nosniff");
}

int RouteConsole(ServerContext& context, HTTPServerRequest& req, HTTPServerResponse& resp,
                 const std::function<std::string()>& body) {
  SetConsoleHeaders(resp);
  std::string path = Poco::URI(req.getURI()).getPath();
  const std::string& method = req.getMethod();
  if (path == "/login") {
    if (method != "POST") throw HttpError{405, "use POST"};
    return login(context, req, resp, body);
  }
  if (path == "/logout") {
    if (method != "POST") throw HttpError{405, "use POST"};
    return logout(context, req, resp);
  }
  if (path == oidc::kLoginPath || path == oidc::kCallbackPath) {
    if (method != "GET") throw HttpError{405, "use GET"};
    return path == oidc::kLoginPath ? StartOidcSignIn(context, req, resp)
                                    : FinishOidcSignIn(context, req, resp);
  }
  if (method != "GET") throw HttpError{405, "use GET"};
  if (path == "/") return SendConsolePage(context, resp, 200, "");
  // /assets/<version>/<name>: only the version this server was built with.
  std::string rest = path.substr(kAssetsPrefix.size());
  size_t slash = rest.find('/');
  if (slash == std::string::npos || rest.substr(0, slash) != kConsoleAssetVersion) {
    throw HttpError{404, "no such asset"};
  }
  std::string name = rest.substr(slash + 1);
  const ConsoleAsset* asset = name == "index.html" ? nullptr : FindConsoleAsset(name);
  if (asset == nullptr) throw HttpError{404, "no such asset"};
  sendAsset(resp, *asset, 200, "public, max-age=31536000, immutable", asset->body);
  return 200;
}

std::optional<TokenRecord> SessionPrincipal(ServerContext& context, HTTPServerRequest& req) {
  std::string id = sessionCookie(req);
  if (id.empty()) return std::nullopt;
  auto session =
      ResumeSession(*context.store, id, std::chrono::system_clock::now(), limitsOf(context));
  if (!session.ok()) {
    if (session.status().code() == StatusCode::kNotFound) {
      throw HttpError{401,
                      "the console session ended; sign in again",
                      "unauthorized",
                      0,
                      false,
                      "session_ended"};
    }
    throw HttpError{503, "database unavailable"};
  }
  if (!isRead(req.getMethod()) && !CsrfTokenMatches(*session, req.get("X-CSRF-Token", ""))) {
    throw HttpError{403, "missing or wrong X-CSRF-Token", "forbidden", 0, false, "csrf"};
  }
  TokenRecord token;
  token.id = session->token_id;
  token.name = session->token_name;
  token.scope = session->role;
  return token;
}

int SessionInfo(ServerContext& context, HTTPServerRequest& req, HTTPServerResponse& resp) {
  SetConsoleHeaders(resp);
  std::string id = sessionCookie(req);
  TimePoint now = std::chrono::system_clock::now();
  auto session = ResumeSession(*context.store, id, now, limitsOf(context));
  if (!session.ok()) {
    if (session.status().code() == StatusCode::kNotFound) {
      throw HttpError{401, "no console session; sign in", "unauthorized", 0, false, "no_session"};
    }
    throw HttpError{503, "database unavailable"};
  }
  json::Value o = json::Value::object();
  o.set("role", session->role);
  o.set("token_name", session->token_name);
  o.set("csrf_token", session->csrf_token);
  o.set("expires", formatRfc3339(SessionExpiry(*session, limitsOf(context))));
  SendJson(resp, 200, o);
  return 200;
}

}  // namespace hearth::server
