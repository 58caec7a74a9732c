// The IT console's single sign-on routes: GET /login/oidc (to the provider, with PKCE, state and
// nonce kept by OidcClient under a pending cookie) and GET /login/oidc/callback (the code
// exchanged, the ID token verified, the claim mapped to a role, a session opened and audited).
#include <chrono>
#include <map>
#include <optional>
#include <string>

#include <Poco/Net/NameValueCollection.h>
#include <Poco/URI.h>

#include "console_http.h"
#include "hearth/json.h"
#include "hearth/server/console_session.h"
#include "hearth/server/oidc_client.h"
#include "http_error.h"
#include "http_io.h"

namespace hearth::server {

namespace {

using Poco::Net::HTTPServerRequest;
using Poco::Net::HTTPServerResponse;

// The pending cookie: Lax, not Strict, because the provider's redirect back is a navigation from
// another site; only sent to /login/oidc/...; gone after kPendingLifetime.
std::string pendingCookie(const std::string& id, bool clear) {
  return std::string(oidc::kPendingCookie) + "=" + (clear ? "" : id) +
         "; HttpOnly; Secure; SameSite=Lax; Path=" + std::string(oidc::kLoginPath) +
         "; Max-Age=" + (clear ? "0" : std::to_string(oidc::OidcClient::kPendingLifetime.count()));
}

oidc::OidcClient& clientOf(ServerContext& context) {
  if (!context.oidc) {
    throw HttpError{404, "single sign-on is not configured (oidc_issuer in server.conf)"};
  }
  return *context.oidc;
}

std::string from(const HTTPServerRequest& req) { return req.clientAddress().host().toString(); }

}  // namespace

int StartOidcSignIn(ServerContext& context, HTTPServerRequest& req, HTTPServerResponse& resp) {
  oidc::OidcClient& client = clientOf(context);
  auto start = client.begin(std::chrono::system_clock::now());
  if (!start.ok()) {
    context.log->warning("console: single sign-on cannot start: " + start.status().message());
    int status = start.status().code() == StatusCode::kResourceExhausted ? 503 : 502;
    return SendConsolePage(context, resp, status, "oidc-unavailable");
  }
  (void)req;
  resp.add("Set-Cookie", pendingCookie(start->pending_id, false));
  resp.set("Location", start->authorization_url);
  resp.set("Cache-Control", "no-store");
  SendText(resp, 303, "text/plain; charset=utf-8", "to the identity provider\n");
  return 303;
}

int FinishOidcSignIn(ServerContext& context, HTTPServerRequest& req, HTTPServerResponse& resp) {
  oidc::OidcClient& client = clientOf(context);
  std::map<std::string, std::string> q;
  try {
    for (const auto& [name, value] : Poco::URI(req.getURI()).getQueryParameters()) {
      q.emplace(name, value);  // the first of a repeated parameter
    }
  } catch (const Poco::Exception&) {
    q.clear();
  }
  Poco::Net::NameValueCollection cookies;
  req.getCookies(cookies);
  std::string pending = cookies.get(std::string(oidc::kPendingCookie), "");
  // The pending sign-in is over whatever happens: its cookie goes.
  resp.add("Set-Cookie", pendingCookie("", true));
  if (auto error = q.find("error"); error != q.end()) {
    context.log->warning("console: the identity provider answered \"" +
                         json::escape(error->second.substr(0, 100)) + "\" to a sign-in from " +
                         from(req));
    // Forget the pending sign-in too (its state is not checked: nothing is signed in).
    (void)client.finish(pending, "", "", std::chrono::system_clock::now());
    return SendConsolePage(context, resp, 401, "oidc-failed");
  }
  TimePoint now = std::chrono::system_clock::now();
  // RFC 9207: a provider that names itself in the answer (iss) must be ours (a mix-up defence).
  if (auto iss = q.find("iss"); iss != q.end() && iss->second != client.settings().issuer) {
    (void)client.finish(pending, "", "", now);
    context.log->warning("console: a sign-in answer from another issuer, from " + from(req));
    return SendConsolePage(context, resp, 401, "oidc-failed");
  }
  std::optional<oidc::IdToken> refused;
  auto signed_in = client.finish(pending, q["state"], q["code"], now, &refused);
  if (!signed_in.ok()) {
    const Status& s = signed_in.status();
    if (s.code() == StatusCode::kFailedPrecondition && refused) {
      // Signed in at the provider, but no role here: audited, so IT sees who tried.
      json::Value detail = json::Value::object();
      detail.set("via", "oidc");
      detail.set("issuer", client.settings().issuer);
      detail.set("subject", refused->subject);
      detail.set("reason", s.message());
      std::string name = "oidc:" + oidc::DisplayName(*refused);
      Status audited =
          context.store->appendAudit(NewAuditEntry(name, "console.login_refused", name, detail));
      if (!audited.ok()) context.log->warning("console: audit log: " + audited.message());
      context.log->warning("console: single sign-on refused for \"" + json::escape(name) +
                           "\": " + s.message());
      return SendConsolePage(context, resp, 403, "oidc-norole");
    }
    if (s.code() == StatusCode::kUnavailable) {
      context.log->warning("console: single sign-on failed: " + s.message());
      return SendConsolePage(context, resp, 502, "oidc-unavailable");
    }
    context.log->warning("console: single sign-on refused from " + from(req) + ": " + s.message());
    return SendConsolePage(context, resp, 401, "oidc-failed");
  }
  OidcIdentity who{.issuer = client.settings().issuer,
                   .subject = signed_in->token.subject,
                   .name = signed_in->name,
                   .role = signed_in->role};
  auto opened = OpenOidcSession(*context.store, who, now);
  if (!opened.ok()) throw HttpError{503, "database unavailable"};
  context.log->info("console: signed in with single sign-on as \"" +
                    json::escape(opened->record.token_name) + "\" (" + opened->record.role + ")");
  resp.add("Set-Cookie", SessionCookie(opened->id));
  resp.set("Location", "/");
  resp.set("Cache-Control", "no-store");
  SendText(resp, 303, "text/plain; charset=utf-8", "signed in\n");
  return 303;
}

}  // namespace hearth::server
