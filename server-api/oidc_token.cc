// OpenID Connect's pure parts: the settings' checks, the discovery document, the ID token's JWS
// verification with OpenSSL (JWK → EVP_PKEY), the claims' checks, PKCE and the role mapping.
#include <algorithm>
#include <arpa/inet.h>
#include <memory>
#include <string>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/sha.h>

#include "hearth/protocol/crypto.h"
#include "hearth/server/oidc.h"

namespace hearth::server::oidc {

namespace {

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

// The host of an http(s) URL ("" when it has none).
std::string hostOf(std::string_view url) {
  size_t start = url.find("://");
  if (start == std::string_view::npos) return "";
  std::string_view rest = url.substr(start + 3);
  rest = rest.substr(0, rest.find_first_of("/?#"));
  if (size_t at = rest.rfind('@'); at != std::string_view::npos) rest = rest.substr(at + 1);
  if (rest.starts_with("[")) {
    size_t close = rest.find(']');
    return close == std::string_view::npos ? "" : std::string(rest.substr(1, close - 1));
  }
  return std::string(rest.substr(0, rest.find(':')));
}

// localhost, ::1 or an IPv4 address in 127.0.0.0/8 (a whole address: "127.0.0.1.evil.test" is
// a name, not loopback).
bool isLoopbackHost(const std::string& host) {
  if (host == "localhost" || host == "::1") return true;
  in_addr v4{};
  return ::inet_pton(AF_INET, host.c_str(), &v4) == 1 && (ntohl(v4.s_addr) >> 24) == 127;
}

std::string pathOf(std::string_view url) {
  size_t start = url.find("://");
  if (start == std::string_view::npos) return "";
  std::string_view rest = url.substr(start + 3);
  size_t slash = rest.find('/');
  if (slash == std::string_view::npos) return "/";
  std::string_view path = rest.substr(slash);
  return std::string(path.substr(0, path.find_first_of("?#")));
}

const std::string* stringField(const json::Value& o, std::string_view key) {
  const json::Value* v = o.find(key);
  return v != nullptr && v->isString() ? &v->asString() : nullptr;
}

// A big-endian unsigned integer from a base64url JWK member.
StatusOr<std::string> keyBytes(const json::Value& jwk, std::string_view member) {
  const std::string* text = stringField(jwk, member);
  if (text == nullptr) {
    return InvalidArgumentError("the key has no \"" + std::string(member) + "\"");
  }
  return Base64UrlDecode(*text);
}

StatusOr<Pkey> rsaKey(const json::Value& jwk) {
  HEARTH_ASSIGN_OR_RETURN(std::string n, keyBytes(jwk, "n"));
  HEARTH_ASSIGN_OR_RETURN(std::string e, keyBytes(jwk, "e"));
  if (n.size() < 256) return InvalidArgumentError("the RSA key is shorter than 2048 bits");
  std::unique_ptr<BIGNUM, decltype(&BN_free)> bn_n(
      BN_bin2bn(reinterpret_cast<const unsigned char*>(n.data()), static_cast<int>(n.size()),
                nullptr),
      BN_free);
  std::unique_ptr<BIGNUM, decltype(&BN_free)> bn_e(
      BN_bin2bn(reinterpret_cast<const unsigned char*>(e.data()), static_cast<int>(e.size()),
                nullptr),
      BN_free);
  std::unique_ptr<OSSL_PARAM_BLD, decltype(&OSSL_PARAM_BLD_free)> bld(OSSL_PARAM_BLD_new(),
                                                                      OSSL_PARAM_BLD_free);
  if (!bn_n || !bn_e || !bld ||
      !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) ||
      !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get())) {
    return InternalError("cannot build an RSA key");
  }
  std::unique_ptr<OSSL_PARAM, decltype(&OSSL_PARAM_free)> params(OSSL_PARAM_BLD_to_param(bld.get()),
                                                                 OSSL_PARAM_free);
  std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(
      EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr), EVP_PKEY_CTX_free);
  EVP_PKEY* key = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) <= 0 ||
      EVP_PKEY_fromdata(ctx.get(), &key, EVP_PKEY_PUBLIC_KEY, params.get()) <= 0) {
    return InvalidArgumentError("not a usable RSA key");
  }
  return Pkey(key);
}

StatusOr<Pkey> ecKey(const json::Value& jwk, const std::string& curve, size_t coord_size) {
  const std::string* crv = stringField(jwk, "crv");
  if (crv == nullptr || *crv != curve) return InvalidArgumentError("the EC key is not on " + curve);
  HEARTH_ASSIGN_OR_RETURN(std::string x, keyBytes(jwk, "x"));
  HEARTH_ASSIGN_OR_RETURN(std::string y, keyBytes(jwk, "y"));
  if (x.size() != coord_size || y.size() != coord_size) {
    return InvalidArgumentError("the EC key's coordinates have the wrong size");
  }
  std::string point = "\x04" + x + y;
  std::string group = curve == "P-256" ? "prime256v1" : "secp384r1";
  std::unique_ptr<OSSL_PARAM_BLD, decltype(&OSSL_PARAM_BLD_free)> bld(OSSL_PARAM_BLD_new(),
                                                                      OSSL_PARAM_BLD_free);
  if (!bld ||
      !OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, group.c_str(), 0) ||
      !OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                        point.size())) {
    return InternalError("cannot build an EC key");
  }
  std::unique_ptr<OSSL_PARAM, decltype(&OSSL_PARAM_free)> params(OSSL_PARAM_BLD_to_param(bld.get()),
                                                                 OSSL_PARAM_free);
  std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(
      EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr), EVP_PKEY_CTX_free);
  EVP_PKEY* key = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) <= 0 ||
      EVP_PKEY_fromdata(ctx.get(), &key, EVP_PKEY_PUBLIC_KEY, params.get()) <= 0) {
    return InvalidArgumentError("not a usable EC key (not a point on " + curve + ")");
  }
  return Pkey(key);
}

// What an alg needs: the key type, the digest, and for ECDSA the curve and coordinate size.
struct AlgSpec {
  std::string_view alg;
  std::string_view kty;
  const char* digest;
  std::string_view curve;
  size_t coord_size;
};

constexpr AlgSpec kAlgs[] = {
    {"RS256", "RSA", "SHA256", "", 0},      {"RS384", "RSA", "SHA384", "", 0},
    {"RS512", "RSA", "SHA512", "", 0},      {"ES256", "EC", "SHA256", "P-256", 32},
    {"ES384", "EC", "SHA384", "P-384", 48},
};

// ECDSA's JWS signature is r || s; OpenSSL verifies DER.
StatusOr<std::string> ecdsaDer(const std::string& raw, size_t coord_size) {
  if (raw.size() != 2 * coord_size)
    return PermissionDeniedError("the signature has the wrong size");
  const auto* p = reinterpret_cast<const unsigned char*>(raw.data());
  BIGNUM* r = BN_bin2bn(p, static_cast<int>(coord_size), nullptr);
  BIGNUM* s = BN_bin2bn(p + coord_size, static_cast<int>(coord_size), nullptr);
  std::unique_ptr<ECDSA_SIG, decltype(&ECDSA_SIG_free)> sig(ECDSA_SIG_new(), ECDSA_SIG_free);
  if (r == nullptr || s == nullptr || !sig || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    return InternalError("cannot build an ECDSA signature");
  }
  unsigned char* der = nullptr;
  int len = i2d_ECDSA_SIG(sig.get(), &der);
  if (len <= 0) return InternalError("cannot encode an ECDSA signature");
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  return out;
}

bool verifySignature(EVP_PKEY* key, const char* digest, std::string_view signed_part,
                     const std::string& signature) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!ctx ||
      EVP_DigestVerifyInit_ex(ctx.get(), nullptr, digest, nullptr, nullptr, key, nullptr) != 1) {
    return false;
  }
  return EVP_DigestVerify(
             ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
             reinterpret_cast<const unsigned char*>(signed_part.data()), signed_part.size()) == 1;
}

// The key of `jwks` for the token: by kid, or the only key of type `kty` when the token names
// none. NotFound when none fits.
StatusOr<const json::Value*> chooseKey(const json::Value& jwks, const std::string* kid,
                                       std::string_view kty) {
  const json::Value* keys = jwks.find("keys");
  if (keys == nullptr || !keys->isArray()) {
    return PermissionDeniedError("the provider's key set has no \"keys\"");
  }
  const json::Value* found = nullptr;
  int candidates = 0;
  for (const json::Value& key : keys->asArray()) {
    if (!key.isObject()) continue;
    const std::string* use = stringField(key, "use");
    if (use != nullptr && *use != "sig") continue;
    const std::string* key_kid = stringField(key, "kid");
    if (kid != nullptr) {
      if (key_kid != nullptr && *key_kid == *kid) return &key;
      continue;
    }
    const std::string* key_kty = stringField(key, "kty");
    if (key_kty != nullptr && *key_kty == kty) {
      found = &key;
      ++candidates;
    }
  }
  if (kid == nullptr && candidates == 1) return found;
  if (kid == nullptr) {
    return candidates == 0 ? NotFoundError("no key for the token's algorithm")
                           : PermissionDeniedError(
                                 "the token names no key (kid) and the "
                                 "provider has several");
  }
  return NotFoundError("no key with kid \"" + *kid + "\"");
}

// The aud claim: one string or an array of strings.
std::vector<std::string> audiences(const json::Value& claims) {
  std::vector<std::string> out;
  const json::Value* aud = claims.find("aud");
  if (aud == nullptr) return out;
  if (aud->isString()) out.push_back(aud->asString());
  if (aud->isArray()) {
    for (const json::Value& a : aud->asArray()) {
      if (a.isString()) out.push_back(a.asString());
    }
  }
  return out;
}

// A NumericDate claim (seconds since the epoch) as a time; nullopt when absent or not a number.
std::optional<TimePoint> dateClaim(const json::Value& claims, std::string_view name) {
  const json::Value* v = claims.find(name);
  if (v == nullptr || !(v->isInt() || v->type() == json::Type::kDouble)) return std::nullopt;
  return TimePoint(std::chrono::seconds(static_cast<int64_t>(v->asDouble())));
}

Status checkClaims(const json::Value& claims, const IdTokenExpectations& expect) {
  const std::string* iss = stringField(claims, "iss");
  if (iss == nullptr || *iss != expect.issuer) {
    return PermissionDeniedError("the ID token's issuer is not the configured one");
  }
  std::vector<std::string> aud = audiences(claims);
  if (std::find(aud.begin(), aud.end(), expect.client_id) == aud.end()) {
    return PermissionDeniedError("the ID token is not for this client (aud)");
  }
  const std::string* azp = stringField(claims, "azp");
  if ((aud.size() > 1 || azp != nullptr) && (azp == nullptr || *azp != expect.client_id)) {
    return PermissionDeniedError("the ID token's authorized party (azp) is not this client");
  }
  auto exp = dateClaim(claims, "exp");
  auto iat = dateClaim(claims, "iat");
  if (!exp || !iat) return PermissionDeniedError("the ID token has no exp or iat");
  if (*exp + expect.leeway <= expect.now) return PermissionDeniedError("the ID token expired");
  if (*iat - expect.leeway > expect.now) {
    return PermissionDeniedError("the ID token was issued in the future (iat)");
  }
  if (*iat + expect.max_age + expect.leeway < expect.now) {
    return PermissionDeniedError("the ID token was issued too long ago (iat)");
  }
  if (auto nbf = dateClaim(claims, "nbf"); nbf && *nbf - expect.leeway > expect.now) {
    return PermissionDeniedError("the ID token is not valid yet (nbf)");
  }
  const std::string* nonce = stringField(claims, "nonce");
  if (expect.nonce.empty() || nonce == nullptr || *nonce != expect.nonce) {
    return PermissionDeniedError("the ID token's nonce is not this sign-in's");
  }
  const std::string* sub = stringField(claims, "sub");
  if (sub == nullptr || sub->empty()) return PermissionDeniedError("the ID token has no subject");
  return OkStatus();
}

}  // namespace

Status CheckProviderUrl(std::string_view url) {
  if (url.starts_with("https://") && !hostOf(url).empty()) return OkStatus();
  if (url.starts_with("http://") && isLoopbackHost(hostOf(url))) return OkStatus();
  return InvalidArgumentError("expected an https:// URL (http:// only to a loopback address)");
}

Status CheckSettings(const OidcSettings& s) {
  if (Status st = CheckProviderUrl(s.issuer); !st.ok()) {
    return InvalidArgumentError("oidc_issuer: " + st.message() + ", got \"" + s.issuer + "\"");
  }
  if (s.client_id.empty())
    return InvalidArgumentError("oidc_client_id: missing (oidc_issuer is set)");
  if (s.client_secret.empty()) {
    return InvalidArgumentError(
        "oidc_client_secret_file: missing or empty (oidc_issuer is set; a file of mode 0600 "
        "holding the client secret)");
  }
  if (Status st = CheckProviderUrl(s.redirect_uri); !st.ok()) {
    return InvalidArgumentError("oidc_redirect_uri: " + st.message() + ", got \"" + s.redirect_uri +
                                "\"");
  }
  if (pathOf(s.redirect_uri) != kCallbackPath) {
    return InvalidArgumentError("oidc_redirect_uri: expected the path " +
                                std::string(kCallbackPath) + " (https://HOST:PORT" +
                                std::string(kCallbackPath) + "), got \"" + s.redirect_uri + "\"");
  }
  if (s.scopes.find("openid") == std::string::npos) {
    return InvalidArgumentError("oidc_scopes: expected a list that includes openid, got \"" +
                                s.scopes + "\"");
  }
  if (s.role_claim.empty()) {
    return InvalidArgumentError(
        "oidc_role_claim: missing (the claim whose values give the role, e.g. groups)");
  }
  if (s.admin_values.empty() && s.read_values.empty()) {
    return InvalidArgumentError(
        "oidc_admin_values, oidc_read_values: expected at least one value (comma-separated)");
  }
  return OkStatus();
}

StatusOr<ProviderMetadata> ParseDiscovery(std::string_view body,
                                          const std::string& expected_issuer) {
  auto doc = json::parse(body, {.max_depth = 8, .max_bytes = 256 * 1024});
  if (!doc.ok() || !doc->isObject()) {
    return InvalidArgumentError("the discovery document is not a JSON object");
  }
  ProviderMetadata m;
  const std::pair<const char*, std::string*> fields[] = {
      {"issuer", &m.issuer},
      {"authorization_endpoint", &m.authorization_endpoint},
      {"token_endpoint", &m.token_endpoint},
      {"jwks_uri", &m.jwks_uri}};
  for (const auto& [name, out] : fields) {
    const std::string* v = stringField(*doc, name);
    if (v == nullptr || v->empty()) {
      return InvalidArgumentError(std::string("the discovery document has no ") + name);
    }
    *out = *v;
  }
  if (m.issuer != expected_issuer) {
    return InvalidArgumentError("the discovery document names the issuer \"" + m.issuer +
                                "\", not the configured \"" + expected_issuer + "\"");
  }
  for (const std::string* url : {&m.authorization_endpoint, &m.token_endpoint, &m.jwks_uri}) {
    if (Status st = CheckProviderUrl(*url); !st.ok()) {
      return InvalidArgumentError("the discovery document's endpoint \"" + *url +
                                  "\": " + st.message());
    }
  }
  auto offers = [&](const char* list, const char* want) {
    const json::Value* v = doc->find(list);
    if (v == nullptr || !v->isArray()) return true;  // not listed: the spec's defaults
    return std::any_of(v->asArray().begin(), v->asArray().end(),
                       [&](const json::Value& x) { return x.isString() && x.asString() == want; });
  };
  if (!offers("response_types_supported", "code")) {
    return InvalidArgumentError("the provider does not offer the authorization code flow");
  }
  if (doc->find("code_challenge_methods_supported") != nullptr &&
      !offers("code_challenge_methods_supported", "S256")) {
    return InvalidArgumentError("the provider does not offer PKCE with S256");
  }
  return m;
}

StatusOr<IdToken> VerifyIdToken(std::string_view token, const json::Value& jwks,
                                const IdTokenExpectations& expect) {
  if (token.size() > 16 * 1024) return PermissionDeniedError("the ID token is too long");
  size_t dot1 = token.find('.');
  size_t dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
    return PermissionDeniedError("the ID token is not a signed JWT (three parts)");
  }
  auto header_text = Base64UrlDecode(token.substr(0, dot1));
  auto payload_text = Base64UrlDecode(token.substr(dot1 + 1, dot2 - dot1 - 1));
  auto signature = Base64UrlDecode(token.substr(dot2 + 1));
  if (!header_text.ok() || !payload_text.ok() || !signature.ok()) {
    return PermissionDeniedError("the ID token is not base64url");
  }
  auto header = json::parse(*header_text, {.max_depth = 4, .max_bytes = 4096});
  auto claims = json::parse(*payload_text, {.max_depth = 8, .max_bytes = 16 * 1024});
  if (!header.ok() || !header->isObject() || !claims.ok() || !claims->isObject()) {
    return PermissionDeniedError("the ID token's header or claims are not JSON objects");
  }
  const std::string* alg = stringField(*header, "alg");
  const AlgSpec* spec = nullptr;
  for (const AlgSpec& a : kAlgs) {
    if (alg != nullptr && *alg == a.alg) spec = &a;
  }
  if (spec == nullptr) {
    return PermissionDeniedError("the ID token's algorithm \"" + (alg ? *alg : std::string()) +
                                 "\" is not accepted (RS256, RS384, RS512, ES256, ES384)");
  }
  if (header->find("crit") != nullptr) {
    return PermissionDeniedError("the ID token has critical header parameters");
  }
  HEARTH_ASSIGN_OR_RETURN(const json::Value* jwk,
                          chooseKey(jwks, stringField(*header, "kid"), spec->kty));
  const std::string* kty = stringField(*jwk, "kty");
  const std::string* key_alg = stringField(*jwk, "alg");
  if (kty == nullptr || *kty != spec->kty || (key_alg != nullptr && *key_alg != spec->alg)) {
    return PermissionDeniedError("the provider's key does not fit the algorithm " + *alg);
  }
  StatusOr<Pkey> key =
      spec->kty == "RSA" ? rsaKey(*jwk) : ecKey(*jwk, std::string(spec->curve), spec->coord_size);
  if (!key.ok()) return PermissionDeniedError("the provider's key: " + key.status().message());
  std::string sig = *signature;
  if (spec->kty == "EC") {
    HEARTH_ASSIGN_OR_RETURN(sig, ecdsaDer(sig, spec->coord_size));
  }
  if (!verifySignature(key->get(), spec->digest, token.substr(0, dot2), sig)) {
    return PermissionDeniedError("the ID token's signature does not verify");
  }
  HEARTH_RETURN_IF_ERROR(checkClaims(*claims, expect));
  IdToken out;
  out.subject = *stringField(*claims, "sub");
  out.claims = std::move(*claims);
  return out;
}

std::optional<std::string> MapRole(const json::Value& claims, const OidcSettings& settings) {
  const json::Value* v = claims.find(settings.role_claim);
  if (v == nullptr) return std::nullopt;
  std::vector<std::string> values;
  if (v->isString()) values.push_back(v->asString());
  if (v->isArray()) {
    for (const json::Value& x : v->asArray()) {
      if (x.isString()) values.push_back(x.asString());
    }
  }
  auto any_of = [&](const std::vector<std::string>& wanted) {
    return std::any_of(values.begin(), values.end(), [&](const std::string& x) {
      return std::find(wanted.begin(), wanted.end(), x) != wanted.end();
    });
  };
  if (any_of(settings.admin_values)) return "admin";
  if (any_of(settings.read_values)) return "read";
  return std::nullopt;
}

std::string DisplayName(const IdToken& token) {
  for (const char* claim : {"preferred_username", "email"}) {
    const std::string* v = stringField(token.claims, claim);
    if (v != nullptr && !v->empty() && v->size() <= 200) return *v;
  }
  return token.subject;
}

std::string Base64UrlEncode(std::string_view data) {
  std::string out = protocol::Base64Encode(data);
  for (char& c : out) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  while (!out.empty() && out.back() == '=') out.pop_back();
  return out;
}

StatusOr<std::string> Base64UrlDecode(std::string_view text) {
  std::string s(text);
  for (char& c : s) {
    if (c == '-') {
      c = '+';
    } else if (c == '_') {
      c = '/';
    } else if (c == '+' || c == '/' || c == '=') {
      return InvalidArgumentError("not base64url");
    }
  }
  if (s.size() % 4 == 1) return InvalidArgumentError("not base64url");
  while (s.size() % 4 != 0) s += '=';
  return protocol::Base64Decode(s);
}

std::string PkceChallenge(std::string_view verifier) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(verifier.data()), verifier.size(), digest);
  return Base64UrlEncode(std::string_view(reinterpret_cast<char*>(digest), sizeof digest));
}

std::string FormEncode(std::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char ch : value) {
    auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) != 0 || c == '-' || c == '.' || c == '_' || c == '~') {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

}  // namespace hearth::server::oidc
