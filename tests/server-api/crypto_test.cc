#include "hearth/protocol/crypto.h"

#include <gtest/gtest.h>

namespace hearth::protocol {
namespace {

using std::chrono::hours;
using std::chrono::system_clock;

struct Ca {
  Key key;
  std::string cert;
};

Ca makeCa(const std::string& name) {
  auto key = Key::generateP256();
  EXPECT_TRUE(key.ok());
  CertificateRequest req;
  req.common_name = name;
  req.is_ca = true;
  req.not_before = system_clock::now() - hours(1);
  req.not_after = system_clock::now() + hours(24 * 3650);
  auto cert = IssueCertificate(req, *key->publicPem(), *key, "");
  EXPECT_TRUE(cert.ok()) << cert.status().toString();
  return Ca{std::move(key).value(), *cert};
}

TEST(CryptoTest, DeviceCsrIsSignedByTheCaUsingOnlyItsPublicKey) {
  Ca ca = makeCa("Hearth device CA");
  auto device_key = Key::generateP256();
  ASSERT_TRUE(device_key.ok());
  auto csr = MakeCsr(*device_key, "whatever-the-device-claims");
  ASSERT_TRUE(csr.ok()) << csr.status().toString();
  auto info = VerifyCsr(*csr);
  ASSERT_TRUE(info.ok()) << info.status().toString();
  EXPECT_EQ(info->common_name, "whatever-the-device-claims");
  EXPECT_EQ(info->public_key_pem, *device_key->publicPem());

  CertificateRequest req;
  req.common_name = "0b8c7a3e-0000-4000-8000-000000000001";  // named by the server, not the CSR
  req.client_auth = true;
  req.not_before = system_clock::now() - hours(1);
  req.not_after = system_clock::now() + hours(24 * 365);
  auto cert = IssueCertificate(req, info->public_key_pem, ca.key, ca.cert);
  ASSERT_TRUE(cert.ok()) << cert.status().toString();
  auto parsed = ParseCertificate(*cert);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->common_name, req.common_name);
  EXPECT_EQ(parsed->public_key_pem, info->public_key_pem);
  EXPECT_FALSE(parsed->serial_hex.empty());
  // The per-request path reads the same identity straight off a parsed X509.
  EXPECT_FALSE(CertificateIdentity(nullptr).ok());
  EXPECT_TRUE(VerifyCertificate(*cert, ca.cert, system_clock::now()).ok());
  // Not valid after it expires, and not under another CA.
  EXPECT_FALSE(VerifyCertificate(*cert, ca.cert, system_clock::now() + hours(24 * 400)).ok());
  Ca other = makeCa("Other CA");
  EXPECT_FALSE(VerifyCertificate(*cert, other.cert, system_clock::now()).ok());
}

TEST(CryptoTest, TamperedOrForeignCsrIsRefused) {
  auto key = Key::generateP256();
  auto csr = MakeCsr(*key, "x");
  ASSERT_TRUE(csr.ok());
  std::string tampered = *csr;
  // Flip one base64 character in the body (inside the signature or key): must not verify/parse.
  size_t pos = tampered.find('\n', 40) + 20;
  tampered[pos] = tampered[pos] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(VerifyCsr(tampered).ok());
  EXPECT_FALSE(VerifyCsr("not a csr").ok());
  EXPECT_FALSE(VerifyCsr(std::string(20000, 'A')).ok());
}

TEST(CryptoTest, Ed25519SignaturesCoverTheExactBytes) {
  auto key = Key::generateEd25519();
  ASSERT_TRUE(key.ok());
  std::string policy = R"({"level":"standard","version":2,"checks":{}})";
  auto sig = SignEd25519(*key, policy);
  ASSERT_TRUE(sig.ok()) << sig.status().toString();
  auto pub = Key::fromPem(*key->publicPem(), true);
  ASSERT_TRUE(pub.ok());
  EXPECT_TRUE(VerifyEd25519(*pub, policy, *sig).ok());
  EXPECT_FALSE(VerifyEd25519(*pub, policy + " ", *sig).ok());  // one byte more: refused
  auto other = Key::generateEd25519();
  auto other_pub = Key::fromPem(*other->publicPem(), true);
  EXPECT_FALSE(VerifyEd25519(*other_pub, policy, *sig).ok());
  EXPECT_FALSE(VerifyEd25519(*pub, policy, "AAAA").ok());
  EXPECT_FALSE(VerifyEd25519(*pub, policy, "!!").ok());
}

TEST(CryptoTest, PrivateKeyPemRoundTripsAndPinIsStable) {
  auto key = Key::generateP256();
  auto pem = key->privatePem();
  ASSERT_TRUE(pem.ok());
  EXPECT_NE(pem->find("BEGIN PRIVATE KEY"), std::string::npos);
  auto back = Key::fromPem(*pem);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back->publicKeyPin(), *key->publicKeyPin());
  EXPECT_EQ(key->publicKeyPin()->rfind("sha256//", 0), 0u);
  EXPECT_EQ(key->publicKeyPin()->size(), 8u + 44u);
  EXPECT_FALSE(Key::fromPem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n").ok());
}

TEST(CryptoTest, ServerCertificateCarriesItsNames) {
  Ca ca = makeCa("Hearth server CA");
  auto key = Key::generateP256();
  CertificateRequest req;
  req.common_name = "localhost";
  req.dns_names = {"localhost", "hearth.example.com"};
  req.ip_addresses = {"127.0.0.1", "::1"};
  req.server_auth = true;
  req.not_before = system_clock::now() - hours(1);
  req.not_after = system_clock::now() + hours(24 * 825);
  auto cert = IssueCertificate(req, *key->publicPem(), ca.key, ca.cert);
  ASSERT_TRUE(cert.ok()) << cert.status().toString();
  EXPECT_TRUE(VerifyCertificate(*cert, ca.cert, system_clock::now()).ok());
  // A mismatched issuer key is refused instead of producing a certificate that never verifies.
  Ca other = makeCa("Other");
  EXPECT_FALSE(IssueCertificate(req, *key->publicPem(), other.key, ca.cert).ok());
}

TEST(CryptoTest, EncodingsAndRandomness) {
  EXPECT_EQ(Base64Encode("hello"), "aGVsbG8=");
  EXPECT_EQ(*Base64Decode("aGVsbG8="), "hello");
  EXPECT_EQ(*Base64Decode("aGVsbA=="), "hell");
  EXPECT_EQ(*Base64Decode(""), "");
  EXPECT_FALSE(Base64Decode("aGVsbG8").ok());
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  auto a = RandomHex(16), b = RandomHex(16);
  EXPECT_EQ(a->size(), 32u);
  EXPECT_NE(*a, *b);
  auto u = RandomUuid();
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->size(), 36u);
  EXPECT_EQ((*u)[14], '4');
}

}  // namespace
}  // namespace hearth::protocol
