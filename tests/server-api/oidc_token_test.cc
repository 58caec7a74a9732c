// issue 15: the console's OpenID Connect ID token verification, with RSA and P-256 keys made
// here and tokens signed here (a good token, wrong signature, wrong aud, azp, expired, future
// iat, wrong nonce, alg none, HS256 with the public key as secret, unknown kid), the discovery
// document's checks, PKCE and the claim → role mapping.
#include <chrono>
#include <memory>
#include <string>

#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "hearth/server/oidc.h"

namespace hearth::server::oidc {
namespace {

using std::chrono::seconds;

struct KeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using Key = std::unique_ptr<EVP_PKEY, KeyFree>;

std::string bnBytes(EVP_PKEY* key, const char* name, size_t pad = 0) {
  BIGNUM* bn = nullptr;
  EXPECT_EQ(EVP_PKEY_get_bn_param(key, name, &bn), 1);
  std::string out(static_cast<size_t>(BN_num_bytes(bn)), '\0');
  BN_bn2bin(bn, reinterpret_cast<unsigned char*>(out.data()));
  BN_free(bn);
  if (out.size() < pad) out.insert(0, pad - out.size(), '\0');
  return out;
}

json::Value rsaJwk(EVP_PKEY* key, const std::string& kid) {
  json::Value jwk = json::Value::object();
  jwk.set("kty", "RSA");
  jwk.set("kid", kid);
  jwk.set("use", "sig");
  jwk.set("alg", "RS256");
  jwk.set("n", Base64UrlEncode(bnBytes(key, OSSL_PKEY_PARAM_RSA_N)));
  jwk.set("e", Base64UrlEncode(bnBytes(key, OSSL_PKEY_PARAM_RSA_E)));
  return jwk;
}

json::Value ecJwk(EVP_PKEY* key, const std::string& kid) {
  json::Value jwk = json::Value::object();
  jwk.set("kty", "EC");
  jwk.set("kid", kid);
  jwk.set("crv", "P-256");
  jwk.set("x", Base64UrlEncode(bnBytes(key, OSSL_PKEY_PARAM_EC_PUB_X, 32)));
  jwk.set("y", Base64UrlEncode(bnBytes(key, OSSL_PKEY_PARAM_EC_PUB_Y, 32)));
  return jwk;
}

std::string sign(EVP_PKEY* key, const std::string& input) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  EXPECT_EQ(EVP_DigestSignInit_ex(ctx.get(), nullptr, "SHA256", nullptr, nullptr, key, nullptr), 1);
  size_t len = 0;
  EVP_DigestSign(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(input.data()),
                 input.size());
  std::string sig(len, '\0');
  EXPECT_EQ(EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                           reinterpret_cast<const unsigned char*>(input.data()), input.size()),
            1);
  sig.resize(len);
  if (EVP_PKEY_get_base_id(key) == EVP_PKEY_EC) {  // DER → r || s
    const auto* p = reinterpret_cast<const unsigned char*>(sig.data());
    ECDSA_SIG* es = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size()));
    std::string raw(64, '\0');
    BN_bn2binpad(ECDSA_SIG_get0_r(es), reinterpret_cast<unsigned char*>(raw.data()), 32);
    BN_bn2binpad(ECDSA_SIG_get0_s(es), reinterpret_cast<unsigned char*>(raw.data()) + 32, 32);
    ECDSA_SIG_free(es);
    return raw;
  }
  return sig;
}

class OidcTokenTest : public ::testing::Test {
 protected:
  void SetUp() override {
    rsa_.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048}));
    other_rsa_.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048}));
    ec_.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
    ASSERT_TRUE(rsa_ && other_rsa_ && ec_);
    jwks_ = json::Value::object();
    json::Value keys = json::Value::array();
    keys.push(rsaJwk(rsa_.get(), "rsa1"));
    keys.push(ecJwk(ec_.get(), "ec1"));
    jwks_.set("keys", keys);
    expect_ = {.issuer = "https://id.example.com",
               .client_id = "hearth",
               .nonce = "n-0S6_WzA2Mj",
               .now = now_};
  }

  json::Value claims() {
    json::Value c = json::Value::object();
    c.set("iss", "https://id.example.com");
    c.set("sub", "248289761001");
    c.set("aud", "hearth");
    c.set("nonce", "n-0S6_WzA2Mj");
    c.set("iat", epoch_);
    c.set("exp", epoch_ + 300);
    c.set("preferred_username", "alice");
    return c;
  }

  std::string token(const json::Value& c, EVP_PKEY* key, const std::string& alg,
                    const std::string& kid) {
    json::Value h = json::Value::object();
    h.set("alg", alg);
    h.set("typ", "JWT");
    if (!kid.empty()) h.set("kid", kid);
    std::string input = Base64UrlEncode(json::write(h)) + "." + Base64UrlEncode(json::write(c));
    return input + "." + Base64UrlEncode(key == nullptr ? "" : sign(key, input));
  }

  StatusOr<IdToken> verify(const std::string& t) { return VerifyIdToken(t, jwks_, expect_); }

  Key rsa_, other_rsa_, ec_;
  json::Value jwks_;
  int64_t epoch_ = 1796000000;
  TimePoint now_ = TimePoint(seconds(1796000000 + 5));
  IdTokenExpectations expect_;
};

TEST_F(OidcTokenTest, AGoodRs256TokenGivesItsSubjectAndClaims) {
  auto t = verify(token(claims(), rsa_.get(), "RS256", "rsa1"));
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(t->subject, "248289761001");
  EXPECT_EQ(DisplayName(*t), "alice");
}

TEST_F(OidcTokenTest, AGoodEs256TokenVerifies) {
  auto t = verify(token(claims(), ec_.get(), "ES256", "ec1"));
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(t->subject, "248289761001");
}

TEST_F(OidcTokenTest, ASignatureByAnotherKeyIsRefused) {
  auto t = verify(token(claims(), other_rsa_.get(), "RS256", "rsa1"));
  EXPECT_EQ(t.status().code(), StatusCode::kPermissionDenied);
  EXPECT_NE(t.status().message().find("signature"), std::string::npos);
}

TEST_F(OidcTokenTest, AChangedPayloadIsRefused) {
  std::string good = token(claims(), rsa_.get(), "RS256", "rsa1");
  json::Value c = claims();
  c.set("preferred_username", "mallory");
  std::string forged = token(c, rsa_.get(), "RS256", "rsa1");
  // The forged claims with the good token's signature.
  std::string mixed = forged.substr(0, forged.rfind('.')) + good.substr(good.rfind('.'));
  EXPECT_EQ(verify(mixed).status().code(), StatusCode::kPermissionDenied);
}

TEST_F(OidcTokenTest, ATokenForAnotherClientIsRefused) {
  json::Value c = claims();
  c.set("aud", "another-app");
  auto t = verify(token(c, rsa_.get(), "RS256", "rsa1"));
  EXPECT_EQ(t.status().code(), StatusCode::kPermissionDenied);
  EXPECT_NE(t.status().message().find("aud"), std::string::npos);
}

TEST_F(OidcTokenTest, SeveralAudiencesNeedAzpToBeThisClient) {
  json::Value c = claims();
  json::Value aud = json::Value::array();
  aud.push("hearth");
  aud.push("another-app");
  c.set("aud", aud);
  EXPECT_EQ(verify(token(c, rsa_.get(), "RS256", "rsa1")).status().code(),
            StatusCode::kPermissionDenied);
  c.set("azp", "another-app");
  EXPECT_EQ(verify(token(c, rsa_.get(), "RS256", "rsa1")).status().code(),
            StatusCode::kPermissionDenied);
  c.set("azp", "hearth");
  EXPECT_TRUE(verify(token(c, rsa_.get(), "RS256", "rsa1")).ok());
}

TEST_F(OidcTokenTest, AnExpiredTokenIsRefusedBeyondTheLeeway) {
  json::Value c = claims();
  c.set("exp", epoch_ - 30);  // within 60 s of leeway
  EXPECT_TRUE(verify(token(c, rsa_.get(), "RS256", "rsa1")).ok());
  c.set("exp", epoch_ - 120);
  auto t = verify(token(c, rsa_.get(), "RS256", "rsa1"));
  EXPECT_EQ(t.status().code(), StatusCode::kPermissionDenied);
  EXPECT_NE(t.status().message().find("expired"), std::string::npos);
}

TEST_F(OidcTokenTest, ATokenIssuedInTheFutureOrLongAgoIsRefused) {
  json::Value c = claims();
  c.set("iat", epoch_ + 600);
  c.set("exp", epoch_ + 900);
  EXPECT_EQ(verify(token(c, rsa_.get(), "RS256", "rsa1")).status().code(),
            StatusCode::kPermissionDenied);
  c.set("iat", epoch_ - 3600);
  c.set("exp", epoch_ + 3600);
  EXPECT_EQ(verify(token(c, rsa_.get(), "RS256", "rsa1")).status().code(),
            StatusCode::kPermissionDenied);
}

TEST_F(OidcTokenTest, AnotherSignInsNonceIsRefused) {
  json::Value c = claims();
  c.set("nonce", "someone-elses");
  auto t = verify(token(c, rsa_.get(), "RS256", "rsa1"));
  EXPECT_EQ(t.status().code(), StatusCode::kPermissionDenied);
  EXPECT_NE(t.status().message().find("nonce"), std::string::npos);
  c.erase("nonce");
  EXPECT_EQ(verify(token(c, rsa_.get(), "RS256", "rsa1")).status().code(),
            StatusCode::kPermissionDenied);
}

TEST_F(OidcTokenTest, AnotherIssuerIsRefused) {
  json::Value c = claims();
  c.set("iss", "https://id.example.com.evil.test");
  EXPECT_EQ(verify(token(c, rsa_.get(), "RS256", "rsa1")).status().code(),
            StatusCode::kPermissionDenied);
}

TEST_F(OidcTokenTest, AnUnsignedTokenIsRefused) {
  auto t = verify(token(claims(), nullptr, "none", ""));
  EXPECT_EQ(t.status().code(), StatusCode::kPermissionDenied);
  EXPECT_NE(t.status().message().find("none"), std::string::npos);
}

TEST_F(OidcTokenTest, Hs256WithThePublicKeyAsSecretIsRefused) {
  // The classic confusion: an HMAC keyed with the RSA public key's bytes.
  json::Value h = json::Value::object();
  h.set("alg", "HS256");
  h.set("kid", "rsa1");
  std::string input =
      Base64UrlEncode(json::write(h)) + "." + Base64UrlEncode(json::write(claims()));
  std::string secret = json::write(rsaJwk(rsa_.get(), "rsa1"));
  unsigned char mac[32];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &len);
  std::string t = input + "." + Base64UrlEncode(std::string(reinterpret_cast<char*>(mac), len));
  EXPECT_EQ(verify(t).status().code(), StatusCode::kPermissionDenied);
}

TEST_F(OidcTokenTest, AnRsaAlgWithAnEcKeyIsRefused) {
  EXPECT_EQ(verify(token(claims(), ec_.get(), "RS256", "ec1")).status().code(),
            StatusCode::kPermissionDenied);
}

TEST_F(OidcTokenTest, AnUnknownKidIsNotFoundSoTheCallerRefetchesTheKeys) {
  EXPECT_EQ(verify(token(claims(), rsa_.get(), "RS256", "rotated")).status().code(),
            StatusCode::kNotFound);
}

TEST_F(OidcTokenTest, MalformedTokensAreRefused) {
  for (const std::string t : {"", "a.b", "a.b.c.d", "!!!.???.###", "e30.e30.", "e30.W10.AA"}) {
    EXPECT_EQ(verify(t).status().code(), StatusCode::kPermissionDenied) << t;
  }
}

TEST(OidcDiscoveryTest, TheIssuerMustMatchExactly) {
  std::string doc =
      R"({"issuer":"https://id.example.com","authorization_endpoint":"https://id.example.com/auth",)"
      R"("token_endpoint":"https://id.example.com/token","jwks_uri":"https://id.example.com/jwks",)"
      R"("response_types_supported":["code"],"code_challenge_methods_supported":["S256"]})";
  auto m = ParseDiscovery(doc, "https://id.example.com");
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->token_endpoint, "https://id.example.com/token");
  EXPECT_EQ(ParseDiscovery(doc, "https://id.example.com/").status().code(),
            StatusCode::kInvalidArgument);
}

TEST(OidcDiscoveryTest, PlainHttpEndpointsAreRefusedExceptOnLoopback) {
  std::string doc =
      R"({"issuer":"https://id.example.com","authorization_endpoint":"http://id.example.com/auth",)"
      R"("token_endpoint":"https://id.example.com/token","jwks_uri":"https://id.example.com/jwks"})";
  EXPECT_EQ(ParseDiscovery(doc, "https://id.example.com").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_TRUE(CheckProviderUrl("http://127.0.0.1:3000/").ok());
  EXPECT_TRUE(CheckProviderUrl("http://[::1]:3000").ok());
  EXPECT_FALSE(CheckProviderUrl("http://127.0.0.1.evil.test/").ok());
  EXPECT_FALSE(CheckProviderUrl("http://localhost@evil.test/").ok());
  EXPECT_FALSE(CheckProviderUrl("ftp://id.example.com/").ok());
}

TEST(OidcDiscoveryTest, AProviderWithoutS256IsRefused) {
  std::string doc =
      R"({"issuer":"https://id.example.com","authorization_endpoint":"https://id.example.com/auth",)"
      R"("token_endpoint":"https://id.example.com/token","jwks_uri":"https://id.example.com/jwks",)"
      R"("code_challenge_methods_supported":["plain"]})";
  EXPECT_EQ(ParseDiscovery(doc, "https://id.example.com").status().code(),
            StatusCode::kInvalidArgument);
}

TEST(OidcPkceTest, TheS256ChallengeIsRfc7636sExample) {
  EXPECT_EQ(PkceChallenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
}

TEST(OidcRoleTest, AdminWinsThenReadThenNothing) {
  OidcSettings s;
  s.role_claim = "groups";
  s.admin_values = {"hearth-admins"};
  s.read_values = {"hearth-readers", "it"};
  json::Value c = json::Value::object();
  json::Value groups = json::Value::array();
  groups.push("staff");
  c.set("groups", groups);
  EXPECT_EQ(MapRole(c, s), std::nullopt);
  groups.push("it");
  c.set("groups", groups);
  EXPECT_EQ(MapRole(c, s), "read");
  groups.push("hearth-admins");
  c.set("groups", groups);
  EXPECT_EQ(MapRole(c, s), "admin");
  c.set("groups", "hearth-readers");  // a single string
  EXPECT_EQ(MapRole(c, s), "read");
  EXPECT_EQ(MapRole(json::Value::object(), s), std::nullopt);
}

TEST(OidcSettingsTest, ErrorsNameTheKey) {
  OidcSettings s;
  s.issuer = "http://id.example.com";
  EXPECT_NE(CheckSettings(s).message().find("oidc_issuer"), std::string::npos);
  s.issuer = "https://id.example.com";
  EXPECT_NE(CheckSettings(s).message().find("oidc_client_id"), std::string::npos);
  s.client_id = "hearth";
  s.client_secret = "s3cret";
  s.redirect_uri = "https://hearth.example.com:8444/callback";
  EXPECT_NE(CheckSettings(s).message().find("oidc_redirect_uri"), std::string::npos);
  s.redirect_uri = "https://hearth.example.com:8444/login/oidc/callback";
  EXPECT_NE(CheckSettings(s).message().find("oidc_role_claim"), std::string::npos);
  s.role_claim = "groups";
  s.admin_values = {"hearth-admins"};
  EXPECT_TRUE(CheckSettings(s).ok());
}

}  // namespace
}  // namespace hearth::server::oidc
