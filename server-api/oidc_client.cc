// The OpenID Connect relying party: the provider's documents over libcurl, the sign-ins in
// progress, the code exchange and the ID token's verification.
#include "hearth/server/oidc_client.h"

#include <algorithm>
#include <string>
#include <utility>

#include <curl/curl.h>

#include "hearth/protocol/crypto.h"
#include "hearth/server/state.h"

namespace hearth::server::oidc {

namespace {

struct Body {
  std::string text;
  bool too_long = false;
};

size_t collect(char* data, size_t size, size_t n, void* user) {
  auto* body = static_cast<Body*>(user);
  if (body->text.size() + size * n > kMaxProviderBody) {
    body->too_long = true;
    return 0;
  }
  body->text.append(data, size * n);
  return size * n;
}

// The JSON object of a provider's answer; Unavailable for anything else.
StatusOr<json::Value> jsonObject(const HttpAnswer& answer, const std::string& what) {
  if (answer.status != 200) {
    return UnavailableError(what + ": HTTP " + std::to_string(answer.status));
  }
  auto v = json::parse(answer.body, {.max_depth = 16, .max_bytes = kMaxProviderBody});
  if (!v.ok() || !v->isObject()) return UnavailableError(what + ": not a JSON object");
  return std::move(*v);
}

}  // namespace

StatusOr<HttpAnswer> ProviderRequest(const std::string& url, const std::string* form,
                                     const std::string& basic_auth, const OidcSettings& settings) {
  HEARTH_RETURN_IF_ERROR(CheckProviderUrl(url));
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> handle(curl_easy_init(), curl_easy_cleanup);
  if (!handle) return UnavailableError("cannot make an HTTP client (out of memory)");
  CURL* curl = handle.get();
  Body body;
  char error[CURL_ERROR_SIZE] = {0};
  long timeout_ms = static_cast<long>(
      std::chrono::duration_cast<std::chrono::milliseconds>(settings.http_timeout).count());
  curl_slist* headers = curl_slist_append(nullptr, "Accept: application/json");
  headers = curl_slist_append(headers, "User-Agent: hearth-server");
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "https,http");
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2));
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!settings.ca_file.empty()) {
    curl_easy_setopt(curl, CURLOPT_CAINFO, settings.ca_file.c_str());
    curl_easy_setopt(curl, CURLOPT_CAPATH, "/etc/ssl/certs");
  }
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, std::min(5000L, timeout_ms));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
  if (form != nullptr) {
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, form->data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(form->size()));
  }
  if (!basic_auth.empty()) {
    curl_easy_setopt(curl, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
    curl_easy_setopt(curl, CURLOPT_USERPWD, basic_auth.c_str());
  }
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
  CURLcode code = curl_easy_perform(curl);
  curl_slist_free_all(headers);
  if (body.too_long) {
    return UnavailableError("the provider's answer is longer than " +
                            std::to_string(kMaxProviderBody) + " bytes");
  }
  if (code != CURLE_OK) {
    return UnavailableError(error[0] != 0 ? std::string(error)
                                          : std::string(curl_easy_strerror(code)));
  }
  HttpAnswer answer;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &answer.status);
  answer.body = std::move(body.text);
  return answer;
}

OidcClient::OidcClient(OidcSettings settings, Store& store)
    : settings_(std::move(settings)), store_(store) {}

StatusOr<ProviderMetadata> OidcClient::metadata() {
  {
    std::lock_guard lock(mu_);
    if (metadata_) return *metadata_;
  }
  std::string issuer = settings_.issuer;
  while (!issuer.empty() && issuer.back() == '/') issuer.pop_back();
  std::string url = issuer + "/.well-known/openid-configuration";
  auto answer = ProviderRequest(url, nullptr, "", settings_);
  if (!answer.ok()) {
    return UnavailableError("the provider's discovery document: " + answer.status().message());
  }
  if (answer->status != 200) {
    return UnavailableError("the provider's discovery document: HTTP " +
                            std::to_string(answer->status));
  }
  auto parsed = ParseDiscovery(answer->body, settings_.issuer);
  if (!parsed.ok()) return UnavailableError(parsed.status().message());
  std::lock_guard lock(mu_);
  metadata_ = *parsed;
  return *parsed;
}

StatusOr<json::Value> OidcClient::keys(bool refresh, TimePoint now) {
  {
    std::lock_guard lock(mu_);
    bool may_refresh = now - jwks_fetched_ >= kJwksRefreshEvery;
    if (jwks_ && (!refresh || !may_refresh)) return *jwks_;
  }
  HEARTH_ASSIGN_OR_RETURN(ProviderMetadata m, metadata());
  auto answer = ProviderRequest(m.jwks_uri, nullptr, "", settings_);
  if (!answer.ok()) {
    return UnavailableError("the provider's keys (jwks_uri): " + answer.status().message());
  }
  HEARTH_ASSIGN_OR_RETURN(json::Value set, jsonObject(*answer, "the provider's keys (jwks_uri)"));
  std::lock_guard lock(mu_);
  jwks_ = set;
  jwks_fetched_ = now;
  return set;
}

StatusOr<LoginStart> OidcClient::begin(TimePoint now) {
  HEARTH_ASSIGN_OR_RETURN(ProviderMetadata m, metadata());
  HEARTH_ASSIGN_OR_RETURN(std::string pending_id, protocol::RandomHex(32));
  OidcPendingRecord p;
  HEARTH_ASSIGN_OR_RETURN(p.state, protocol::RandomHex(32));
  HEARTH_ASSIGN_OR_RETURN(p.nonce, protocol::RandomHex(32));
  HEARTH_ASSIGN_OR_RETURN(p.verifier, protocol::RandomHex(48));  // 96 characters (43..128)
  p.created_at = now;
  std::string challenge = PkceChallenge(p.verifier);
  Status kept = store_.createOidcPending(HashSecret(pending_id), p, now - kPendingLifetime,
                                         static_cast<int64_t>(kMaxPending));
  if (kept.code() == StatusCode::kResourceExhausted) return kept;
  if (!kept.ok()) return UnavailableError("the sign-in cannot be kept: " + kept.message());
  std::string url = m.authorization_endpoint;
  url += url.find('?') == std::string::npos ? '?' : '&';
  url += "response_type=code&client_id=" + FormEncode(settings_.client_id) +
         "&redirect_uri=" + FormEncode(settings_.redirect_uri) +
         "&scope=" + FormEncode(settings_.scopes) + "&state=" + p.state + "&nonce=" + p.nonce +
         "&code_challenge=" + challenge + "&code_challenge_method=S256";
  return LoginStart{url, pending_id};
}

StatusOr<std::string> OidcClient::exchange(const ProviderMetadata& m, const std::string& code,
                                           const std::string& verifier) {
  std::string form = "grant_type=authorization_code&code=" + FormEncode(code) +
                     "&redirect_uri=" + FormEncode(settings_.redirect_uri) +
                     "&code_verifier=" + verifier;
  std::string basic;
  if (settings_.client_auth == ClientAuth::kSecretPost) {
    form += "&client_id=" + FormEncode(settings_.client_id) +
            "&client_secret=" + FormEncode(settings_.client_secret);
  } else {
    // RFC 6749 §2.3.1: both parts form-encoded before Basic.
    basic = FormEncode(settings_.client_id) + ":" + FormEncode(settings_.client_secret);
  }
  auto answer = ProviderRequest(m.token_endpoint, &form, basic, settings_);
  if (!answer.ok()) {
    return UnavailableError("the provider's token endpoint: " + answer.status().message());
  }
  if (answer->status >= 400 && answer->status < 500) {
    // invalid_grant (a used or expired code), invalid_client, ...
    std::string error = "HTTP " + std::to_string(answer->status);
    if (auto v = json::parse(answer->body, {.max_depth = 4, .max_bytes = 16384});
        v.ok() && v->isObject()) {
      if (const json::Value* e = v->find("error"); e != nullptr && e->isString()) {
        error = e->asString();
      }
    }
    return PermissionDeniedError("the provider refused the code (" + error + ")");
  }
  HEARTH_ASSIGN_OR_RETURN(json::Value tokens, jsonObject(*answer, "the provider's token endpoint"));
  const json::Value* id_token = tokens.find("id_token");
  if (id_token == nullptr || !id_token->isString()) {
    return PermissionDeniedError("the provider's answer has no ID token");
  }
  return id_token->asString();
}

StatusOr<SignedIn> OidcClient::finish(const std::string& pending_id, const std::string& state,
                                      const std::string& code, TimePoint now,
                                      std::optional<IdToken>* refused) {
  auto taken = pending_id.empty() ? StatusOr<OidcPendingRecord>(NotFoundError("no cookie"))
                                  : store_.takeOidcPending(HashSecret(pending_id));
  if (!taken.ok() && taken.status().code() != StatusCode::kNotFound) {
    return UnavailableError("the sign-in cannot be read: " + taken.status().message());
  }
  if (!taken.ok()) {
    return PermissionDeniedError(
        "no sign-in in progress in this browser (the sign-in cookie is missing, or was used "
        "already)");
  }
  const OidcPendingRecord& p = *taken;  // used once, whatever happens next
  if (now - p.created_at >= kPendingLifetime) {
    return PermissionDeniedError("the sign-in took longer than 10 minutes; start again");
  }
  // Constant time is not needed: a wrong state ends this pending sign-in.
  if (state.empty() || state != p.state) {
    return PermissionDeniedError("the provider's answer is not for this sign-in (state)");
  }
  if (code.empty() || code.size() > 4096) {
    return PermissionDeniedError("the provider's answer has no code");
  }
  HEARTH_ASSIGN_OR_RETURN(ProviderMetadata m, metadata());
  HEARTH_ASSIGN_OR_RETURN(std::string id_token, exchange(m, code, p.verifier));
  IdTokenExpectations expect{.issuer = settings_.issuer,
                             .client_id = settings_.client_id,
                             .nonce = p.nonce,
                             .now = now,
                             .leeway = settings_.leeway};
  HEARTH_ASSIGN_OR_RETURN(json::Value set, keys(/*refresh=*/false, now));
  auto token = VerifyIdToken(id_token, set, expect);
  if (!token.ok() && token.status().code() == StatusCode::kNotFound) {
    // A key the cached set lacks: the provider rotated its keys.
    HEARTH_ASSIGN_OR_RETURN(set, keys(/*refresh=*/true, now));
    token = VerifyIdToken(id_token, set, expect);
  }
  if (!token.ok()) {
    if (token.status().code() == StatusCode::kNotFound) {
      return PermissionDeniedError(
          "the ID token is signed with a key the provider does not "
          "publish (" +
          token.status().message() + ")");
    }
    return token.status();
  }
  auto role = MapRole(token->claims, settings_);
  if (!role) {
    if (refused != nullptr) *refused = *token;
    return FailedPreconditionError("no role: the claim \"" + settings_.role_claim +
                                   "\" has none of the values that give admin or read");
  }
  SignedIn out;
  out.name = DisplayName(*token);
  out.role = *role;
  out.token = std::move(*token);
  return out;
}

}  // namespace hearth::server::oidc
