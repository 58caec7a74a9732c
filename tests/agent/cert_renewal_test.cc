// Storing a renewed device certificate: key, certificate and validity change together or not at
// all, whatever point a crash interrupts InstallRenewedCertificate at.
#include <cstdlib>
#include <fstream>
#include <limits>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "hearth/agent/device_certificate.h"
#include "hearth/agent/enrollment.h"
#include "hearth/agent/state_dir.h"
#include "support/files.h"
#include "support/temp_dir.h"

namespace hearth::agent {
namespace {

using testing::ReadFile;

using testing::Exists;

class CertRenewalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    paths_ = AgentPathsFor(dir_.path());
    dir_.write("device.key", "old key");
    dir_.write("device.pem", "old cert");
    ASSERT_TRUE(StoreCertValidity(dir_.path(), {1000, 2000}).ok());
    renewed_.key_pem = "new key";
    renewed_.cert_pem = "new cert";
    renewed_.validity = {3000, 5000};
  }
  void expectOld() {
    EXPECT_EQ(ReadFile(paths_.device_key), "old key");
    EXPECT_EQ(ReadFile(paths_.device_cert), "old cert");
    EXPECT_EQ(LoadCertValidity(dir_.path())->not_after, 2000);
  }
  void expectNew() {
    EXPECT_EQ(ReadFile(paths_.device_key), "new key");
    EXPECT_EQ(ReadFile(paths_.device_cert), "new cert");
    EXPECT_EQ(LoadCertValidity(dir_.path())->not_after, 5000);
    for (const auto& f : {paths_.device_key, paths_.device_cert, paths_.cert_info}) {
      EXPECT_FALSE(Exists(f + ".next")) << f;
    }
  }

  testing::TempDir dir_;
  AgentPaths paths_;
  RenewedCertificate renewed_;
};

TEST_F(CertRenewalTest, RenewalIsDueAtHalfLife) {
  CertValidity v{1000, 3000};
  EXPECT_EQ(RenewalTime(v).time_since_epoch(), std::chrono::seconds(2000));
  EXPECT_EQ(ExpiryTime(v).time_since_epoch(), std::chrono::seconds(3000));
}

// The numbers come from hearth-upload (or device-cert.json): a certificate valid until 9999 (RFC
// 5280's "no expiry") or any int64 must not overflow a time_point into the past.
TEST_F(CertRenewalTest, ValidityBeyondWhatATimePointHoldsSaturates) {
  auto now = std::chrono::system_clock::now();
  CertValidity forever{1000, 253402300799};  // 9999-12-31T23:59:59Z
  EXPECT_GT(ExpiryTime(forever), now);
  EXPECT_GT(RenewalTime(forever), now);
  CertValidity extreme{std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max()};
  EXPECT_GT(ExpiryTime(extreme), now);
  EXPECT_LE(std::abs(RenewalTime(extreme).time_since_epoch() / std::chrono::seconds(1)), 1);
}

TEST_F(CertRenewalTest, InstallReplacesAllThreeAndKeepsTheKeyPrivate) {
  ASSERT_TRUE(InstallRenewedCertificate(dir_.path(), renewed_).ok());
  expectNew();
  struct stat st {};
  ASSERT_EQ(::stat(paths_.device_key.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(CertRenewalTest, CrashBeforeTheCertificateWasWrittenKeepsTheOldSet) {
  dir_.write("device.key.next", "new key");
  dir_.write("device-cert.json.next", "{\"not_before\":3000,\"not_after\":5000}");
  auto r = RecoverCertificateRenewal(dir_.path());
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(*r);
  expectOld();
  EXPECT_FALSE(Exists(paths_.device_key + ".next"));
  EXPECT_FALSE(Exists(paths_.cert_info + ".next"));
}

TEST_F(CertRenewalTest, CrashAfterTheCommitPointFinishesTheNewSet) {
  dir_.write("device.key.next", "new key");
  dir_.write("device-cert.json.next", "{\"not_before\":3000,\"not_after\":5000}");
  dir_.write("device.pem.next", "new cert");
  auto r = RecoverCertificateRenewal(dir_.path());
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(*r);
  expectNew();
}

TEST_F(CertRenewalTest, CrashBetweenTheRenamesFinishesTheNewSet) {
  // The key was already renamed into place; its certificate still waits as device.pem.next.
  dir_.write("device.key", "new key");
  dir_.write("device-cert.json.next", "{\"not_before\":3000,\"not_after\":5000}");
  dir_.write("device.pem.next", "new cert");
  ASSERT_TRUE(RecoverCertificateRenewal(dir_.path()).ok());
  expectNew();
}

TEST_F(CertRenewalTest, NothingToRecoverChangesNothing) {
  auto r = RecoverCertificateRenewal(dir_.path());
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(*r);
  expectOld();
}

TEST(AnnouncedPinsTest, PinsAreKeptOnceAndAddedToTheEnrolledPin) {
  testing::TempDir dir;
  const std::string a = "sha256//" + std::string(43, 'A') + "=";
  const std::string b = "sha256//" + std::string(43, 'B') + "=";
  EXPECT_TRUE(LoadAnnouncedPins(dir.path()).empty());
  EXPECT_TRUE(*AddAnnouncedPins(dir.path(), {a}));
  EXPECT_FALSE(*AddAnnouncedPins(dir.path(), {a}));  // known already
  EXPECT_TRUE(*AddAnnouncedPins(dir.path(), {b, a}));
  EXPECT_EQ(LoadAnnouncedPins(dir.path()), (std::vector<std::string>{a, b}));
  Enrollment pinned;
  pinned.pin = a;
  EXPECT_EQ(PinList(pinned, LoadAnnouncedPins(dir.path())), a + ";" + b);
  Enrollment with_ca;  // trusts a CA file: no pins at all
  EXPECT_EQ(PinList(with_ca, LoadAnnouncedPins(dir.path())), "");
  for (int i = 0; i < 12; ++i) {
    std::string pin = "sha256//" + std::string(42, 'C') + static_cast<char>('a' + i) + "=";
    ASSERT_TRUE(AddAnnouncedPins(dir.path(), {pin}).ok());
  }
  EXPECT_EQ(LoadAnnouncedPins(dir.path()).size(), 8u);  // the newest 8
}

}  // namespace
}  // namespace hearth::agent
