#include "hearth/protocol/crypto.h"

#include <random>

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

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
  EXPECT_TRUE(key->publicKeyPin()->starts_with("sha256//"));
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

// SHA-256 and Base64 are our own code (encoding.cc: the agent's daemon must not load OpenSSL):
// they must agree with OpenSSL's byte for byte.
TEST(CryptoTest, Sha256MatchesOpenSslOnStandardVectorsAndRandomInputs) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(Sha256Hex(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  std::mt19937 rng(7);
  for (size_t len = 0; len < 300; ++len) {
    std::string data(len, '\0');
    for (char& c : data) c = static_cast<char>(rng());
    unsigned char d[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), d);
    std::string want;
    char buf[3];
    for (unsigned char b : d) {
      std::snprintf(buf, sizeof buf, "%02x", b);
      want += buf;
    }
    ASSERT_EQ(Sha256Hex(data), want) << "length " << len;
  }
}

TEST(CryptoTest, Base64MatchesOpenSslAndRefusesMisplacedPadding) {
  std::mt19937 rng(11);
  for (size_t len = 0; len < 200; ++len) {
    std::string data(len, '\0');
    for (char& c : data) c = static_cast<char>(rng());
    std::string want(4 * ((len + 2) / 3) + 1, '\0');
    int n =
        EVP_EncodeBlock(reinterpret_cast<unsigned char*>(want.data()),
                        reinterpret_cast<const unsigned char*>(data.data()), static_cast<int>(len));
    want.resize(static_cast<size_t>(n));
    ASSERT_EQ(Base64Encode(data), want) << "length " << len;
    auto back = Base64Decode(want);
    ASSERT_TRUE(back.ok()) << want;
    ASSERT_EQ(*back, data) << "length " << len;
  }
  for (const char* bad : {"a=bc", "ab=c", "=abc", "ab==abcd", "abc", "ab c", "ab\ncd", "a===",
                          "\xc3\xa9"
                          "abc"}) {
    EXPECT_FALSE(Base64Decode(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace hearth::protocol
