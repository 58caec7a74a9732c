// A device is its key, not its certificate serial (issue 12, defects 1 and 2), against a real
// hearth-server on loopback with real TLS (curl, openssl): a certificate minted with the device CA
// key, the victim's common name and serial and another key is refused on reports, policy and
// renewal, and the real device is not locked out; a renewal CSR carrying the current key in
// compressed point form (made with the openssl CLI) is refused as "not a new key".
#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <sys/stat.h>
#include <vector>

#include <gtest/gtest.h>

#include "hearth/json.h"
#include "hearth/protocol/crypto.h"
#include "hearth/protocol/wire.h"
#include "hearth/text.h"
#include "support/curl_cli.h"
#include "support/files.h"
#include "support/report_body.h"
#include "support/running_server_test.h"

namespace hearth {
namespace {

using testing::RunProcess;

class DeviceIdentityTest : public testing::RunningServerTest {
 protected:
  void SetUp() override {
    RunningServerTest::SetUp();
    if (HasFatalFailure()) return;
    devices_ = server_->address("devices");

    // The victim: enrolled with its own key.
    auto key = protocol::Key::generateP256();
    ASSERT_TRUE(key.ok());
    key_pem_ = *key->privatePem();
    protocol::EnrollRequest req;
    std::string secret = testing::ReadFile(state_ + "/enroll-secret");
    req.enroll_secret = secret.substr(0, secret.find('\n'));
    req.csr = *protocol::MakeCsr(*key, "victim");
    req.hostname = "victim-pc";
    std::string payload = json::write(req.toJson()), body;
    ASSERT_EQ(request("", "", "/api/v1/enroll", &payload, &body), 201) << body;
    auto er = protocol::EnrollResponse::parse(body);
    ASSERT_TRUE(er.ok()) << body;
    device_id_ = er->device_id;
    cert_pem_ = er->certificate;
  }

  // A request to the devices' listener, with the client certificate and key given (PEM; none when
  // empty). Returns the HTTP status (0 when the handshake failed) and the body in `body`.
  int request(const std::string& cert_pem, const std::string& key_pem, const std::string& path,
              const std::string* post_body = nullptr, std::string* body = nullptr) {
    testing::CurlAnswer a = testing::CurlAs("https://" + devices_ + path, state_ + "/ca.pem",
                                            cert_pem, key_pem, post_body);
    if (body != nullptr) *body = a.body;
    return a.status;
  }

  int report(const std::string& cert_pem, const std::string& key_pem, int sequence,
             std::string* body = nullptr) {
    auto id = protocol::RandomUuid();
    std::string payload = testing::MinimalReportBody(*id, sequence);
    return request(cert_pem, key_pem, "/api/v1/reports", &payload, body);
  }

  int renew(const std::string& cert_pem, const std::string& key_pem, const std::string& csr,
            std::string* body = nullptr) {
    protocol::RenewRequest req;
    req.csr = csr;
    std::string payload = json::write(req.toJson());
    return request(cert_pem, key_pem, "/api/v1/renew", &payload, body);
  }

  // What someone holding device-ca.key can make: a certificate with the victim's common name and
  // serial, for another key (returned in `other_key_pem`).
  std::string mintWithVictimSerial(std::string* other_key_pem) {
    auto victim = protocol::ParseCertificate(cert_pem_);
    EXPECT_TRUE(victim.ok());
    auto ca_key = protocol::Key::fromPem(testing::ReadFile(state_ + "/device-ca.key"));
    EXPECT_TRUE(ca_key.ok()) << ca_key.status().toString();
    auto other = protocol::Key::generateP256();
    *other_key_pem = *other->privatePem();
    protocol::CertificateRequest cr;
    cr.common_name = device_id_;
    cr.client_auth = true;
    cr.not_before = std::chrono::system_clock::now() - std::chrono::minutes(5);
    cr.not_after = std::chrono::system_clock::now() + std::chrono::hours(24);
    cr.serial = text::parseHex(victim->serial_hex).value_or(0);
    auto forged = protocol::IssueCertificate(cr, *other->publicPem(), *ca_key,
                                             testing::ReadFile(state_ + "/device-ca.pem"));
    EXPECT_TRUE(forged.ok()) << forged.status().toString();
    auto info = protocol::ParseCertificate(*forged);
    EXPECT_EQ(info->serial_hex, victim->serial_hex);
    EXPECT_EQ(info->common_name, device_id_);
    EXPECT_NE(info->public_key_pem, victim->public_key_pem);
    return *forged;
  }

  std::string devices_, device_id_, cert_pem_, key_pem_;
};

TEST_F(DeviceIdentityTest,
       CertificateWithTheVictimsSerialAndAnotherKeyIsRefusedOnReportsAndPolicy) {
  ASSERT_EQ(report(cert_pem_, key_pem_, 1), 202);
  std::string other_key;
  std::string forged = mintWithVictimSerial(&other_key);

  std::string body;
  EXPECT_EQ(report(forged, other_key, 2, &body), 403) << body;
  EXPECT_NE(body.find("certificate_superseded"), std::string::npos) << body;
  EXPECT_EQ(request(forged, other_key, "/api/v1/policy", nullptr, &body), 403) << body;
  EXPECT_NE(testing::ReadFile(dir_.path() + "/server.log").find("but another key"),
            std::string::npos);

  // The real device goes on, and only its report was stored.
  EXPECT_EQ(report(cert_pem_, key_pem_, 3), 202);
  EXPECT_EQ(request(cert_pem_, key_pem_, "/api/v1/policy"), 200);
}

TEST_F(DeviceIdentityTest, CertificateWithTheVictimsSerialAndAnotherKeyIsRefusedOnRenewal) {
  std::string other_key;
  std::string forged = mintWithVictimSerial(&other_key);
  auto attacker_next = protocol::Key::generateP256();
  std::string csr = *protocol::MakeCsr(*attacker_next, device_id_), body;
  EXPECT_EQ(renew(forged, other_key, csr, &body), 403) << body;
  EXPECT_NE(body.find("certificate_superseded"), std::string::npos) << body;

  // The victim was not locked out: its certificate still works and it can renew itself.
  EXPECT_EQ(request(cert_pem_, key_pem_, "/api/v1/policy"), 200);
  auto next = protocol::Key::generateP256();
  ASSERT_EQ(renew(cert_pem_, key_pem_, *protocol::MakeCsr(*next, device_id_), &body), 200) << body;
  auto renewed = protocol::RenewResponse::parse(body);
  ASSERT_TRUE(renewed.ok()) << body;
  std::string next_key = *next->privatePem();

  // A certificate with the serial of the pending renewal and another key is refused too, and
  // does not promote it.
  auto pending = protocol::ParseCertificate(renewed->certificate);
  auto ca_key = protocol::Key::fromPem(testing::ReadFile(state_ + "/device-ca.key"));
  auto third = protocol::Key::generateP256();
  protocol::CertificateRequest cr;
  cr.common_name = device_id_;
  cr.client_auth = true;
  cr.not_before = std::chrono::system_clock::now() - std::chrono::minutes(5);
  cr.not_after = std::chrono::system_clock::now() + std::chrono::hours(24);
  cr.serial = text::parseHex(pending->serial_hex).value_or(0);
  auto forged_pending = protocol::IssueCertificate(cr, *third->publicPem(), *ca_key,
                                                   testing::ReadFile(state_ + "/device-ca.pem"));
  ASSERT_TRUE(forged_pending.ok());
  EXPECT_EQ(request(*forged_pending, *third->privatePem(), "/api/v1/policy"), 403);
  EXPECT_EQ(request(cert_pem_, key_pem_, "/api/v1/policy"), 200);  // still current

  // The renewed certificate, with its own key, takes over.
  EXPECT_EQ(request(renewed->certificate, next_key, "/api/v1/policy"), 200);
  EXPECT_EQ(request(cert_pem_, key_pem_, "/api/v1/policy"), 403);
}

// Defect 2: the renewal's "new key" check compares keys, not PEM text.
TEST_F(DeviceIdentityTest, RenewalWithTheCurrentKeyInCompressedFormIsRefusedAsNotANewKey) {
  std::string key = dir_.write("current.key", key_pem_);
  std::string compressed = dir_.path() + "/compressed.key";
  std::string csr_path = dir_.path() + "/compressed.csr";
  auto conv = RunProcess(
      {"/usr/bin/openssl", "ec", "-in", key, "-conv_form", "compressed", "-out", compressed});
  ASSERT_EQ(conv.exit_code, 0) << conv.err;
  auto req = RunProcess({"/usr/bin/openssl", "req", "-new", "-key", compressed, "-subj",
                         "/CN=" + device_id_, "-out", csr_path});
  ASSERT_EQ(req.exit_code, 0) << req.err;
  std::string csr = testing::ReadFile(csr_path);
  // The CSR really carries the point compressed (its public key PEM is not the certificate's).
  auto csr_info = protocol::VerifyCsr(csr);
  ASSERT_TRUE(csr_info.ok()) << csr_info.status().toString();
  ASSERT_NE(csr_info->public_key_pem, protocol::ParseCertificate(cert_pem_)->public_key_pem);

  std::string body;
  EXPECT_EQ(renew(cert_pem_, key_pem_, csr, &body), 400) << body;
  EXPECT_NE(body.find("same_key"), std::string::npos) << body;
}

}  // namespace
}  // namespace hearth
