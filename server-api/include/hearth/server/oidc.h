// Single sign-on for the IT console with OpenID Connect (issue 15): the provider's settings
// (server.conf's oidc_* keys), its discovery document, the ID token's verification (JWS
// signature with the provider's JWKS, iss, aud/azp, exp/iat, nonce), PKCE, and the claim that
// gives a signed-in person a role ("admin" or "read"). Pure functions here; the HTTP side
// (discovery, JWKS, code exchange, the sign-ins in progress) is OidcClient (oidc_client.h).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hearth/json.h"
#include "hearth/status.h"
namespace hearth::server {
using TimePoint = std::chrono::system_clock::time_point;  // as store.h
}  // namespace hearth::server

namespace hearth::server::oidc {

// How the client authenticates at the token endpoint.
enum class ClientAuth { kSecretBasic, kSecretPost };

struct OidcSettings {
  std::string issuer;  // compared exactly with the discovery document's and the ID token's iss
  std::string client_id;
  std::string client_secret;  // read from oidc_client_secret_file (mode 0600 or stricter)
  std::string redirect_uri;   // registered at the provider; its path is kCallbackPath
  std::string scopes = "openid email profile";
  // The claim that gives the role (a string or an array of strings) and which of its values
  // give admin and which read; admin wins when both match; none matching: sign-in refused.
  std::string role_claim;
  std::vector<std::string> admin_values;
  std::vector<std::string> read_values;
  ClientAuth client_auth = ClientAuth::kSecretBasic;
  std::string ca_file;  // trusted beside the system's store for the provider's HTTPS
  std::chrono::seconds http_timeout{10};
  std::chrono::seconds leeway{60};  // clock skew allowed on exp, iat and nbf

  bool enabled() const { return !issuer.empty(); }
};

// The console's paths: sign-in starts at kLoginPath; the provider sends the browser back to
// kCallbackPath (the path of redirect_uri).
inline constexpr std::string_view kLoginPath = "/login/oidc";
inline constexpr std::string_view kCallbackPath = "/login/oidc/callback";
// The cookie that binds a sign-in in progress to the browser that started it.
inline constexpr std::string_view kPendingCookie = "hearth_oidc";

// Whether `url` may be used to reach the provider: https://, or http:// to a loopback host
// (127.0.0.0/8, [::1], localhost: a provider on this machine, as in the tests). InvalidArgument
// "expected an https:// URL (http:// only to a loopback address)" otherwise.
Status CheckProviderUrl(std::string_view url);

// The settings as a whole (after each key was read): issuer, client_id, client secret,
// redirect_uri (https or loopback http, path kCallbackPath), role_claim and at least one value
// present. InvalidArgument "KEY: problem" naming the server.conf key.
Status CheckSettings(const OidcSettings& settings);

// What the provider's discovery document (<issuer>/.well-known/openid-configuration) says.
struct ProviderMetadata {
  std::string issuer;
  std::string authorization_endpoint;
  std::string token_endpoint;
  std::string jwks_uri;
};

// Parses a discovery document. InvalidArgument when it is not a JSON object, lacks one of the
// endpoints, names an issuer other than `expected_issuer` (exactly), an endpoint that
// CheckProviderUrl refuses, or does not offer the authorization code flow or S256 PKCE (when it
// lists what it offers).
StatusOr<ProviderMetadata> ParseDiscovery(std::string_view body,
                                          const std::string& expected_issuer);

// What the ID token must say.
struct IdTokenExpectations {
  std::string issuer;
  std::string client_id;
  std::string nonce;
  TimePoint now;
  std::chrono::seconds leeway{60};
  // An ID token issued longer ago than this is refused even if it has not expired.
  std::chrono::seconds max_age{600};
};

struct IdToken {
  std::string subject;  // sub
  json::Value claims;   // the whole payload
};

// Verifies a compact JWS ID token against `jwks` (a JSON Web Key Set: {"keys": [...]}):
// RS256/RS384/RS512 with an RSA key, ES256 with a P-256 key, ES384 with a P-384 key; the key
// chosen by kid (or the only key of the right type when the token names none). Refused ("none",
// HS*, any other alg, a key whose kty or alg does not fit) before any key is used.
// NotFound "no key with kid ..." when the set has no key for the token (the caller refetches the
// set once); PermissionDenied with the reason for everything else: malformed, bad signature,
// iss, aud (must contain client_id; with several audiences azp must be client_id), exp, nbf,
// iat (not in the future, not older than max_age), nonce, no sub.
StatusOr<IdToken> VerifyIdToken(std::string_view token, const json::Value& jwks,
                                const IdTokenExpectations& expect);

// The role the claims give: "admin" when the role claim has one of admin_values, else "read"
// when one of read_values, else nullopt (sign-in refused).
std::optional<std::string> MapRole(const json::Value& claims, const OidcSettings& settings);

// A readable name for the audit log and the console: preferred_username, else email, else sub.
std::string DisplayName(const IdToken& token);

// base64url without padding (RFC 7515 §2), and its reverse (InvalidArgument when not).
std::string Base64UrlEncode(std::string_view data);
StatusOr<std::string> Base64UrlDecode(std::string_view text);

// PKCE (RFC 7636): the S256 code challenge of `verifier`.
std::string PkceChallenge(std::string_view verifier);

// `value` percent-encoded for a URL query or a form body (RFC 3986 unreserved kept).
std::string FormEncode(std::string_view value);

}  // namespace hearth::server::oidc
