// A device is bound to the key of its certificate, not only its serial (issue 12, defect 1): the
// store keeps the SubjectPublicKeyInfo hash at enrolment and renewal, carries it through the
// promotion of a renewed certificate, and migration v6 leaves devices enrolled before it with no
// key until their next request binds one (once). On SQLite and (with HEARTH_TEST_PG_URI) on
// PostgreSQL.
#include <gtest/gtest.h>

#include "hearth/server/store.h"
#include "hearth/time.h"
#include "support/store_backend.h"

namespace hearth::server {
namespace {

TimePoint T(const char* s) { return *parseRfc3339(s); }

class StoreKeyBindingTest : public testing::StoreBackendTest {
 protected:
  StoreKeyBindingTest() : StoreBackendTest("keybinding") {}

  void SetUp() override {
    StoreBackendTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    SecretRecord spec;
    spec.level = "standard";
    spec.created_at = T("2026-11-26T08:00:00Z");
    ASSERT_TRUE(store_->createSecret("hash", spec).ok());
  }

  void enroll(const std::string& id, const std::string& key) {
    DeviceRecord d;
    d.device_id = id;
    d.hostname = "host-" + id;
    d.cert_serial = "01";
    d.cert_key_sha256 = key;
    d.enrolled_at = T("2026-11-26T09:00:00Z");
    ASSERT_TRUE(store_->enrollDevice("hash", d, T("2026-11-26T09:00:00Z")).ok());
  }
};

TEST_P(StoreKeyBindingTest, EnrolmentAndRenewalRecordTheKeyAndPromotionCarriesIt) {
  enroll("dev-1", "key-01");
  auto d = store_->deviceForAuth("dev-1");
  ASSERT_TRUE(d.ok()) << d.status().toString();
  EXPECT_EQ(d->cert_key_sha256, "key-01");
  EXPECT_FALSE(d->pending_cert_key_sha256.has_value());

  TimePoint at = T("2027-05-01T00:00:00Z");
  ASSERT_TRUE(store_->setPendingCertificate("dev-1", "01", "02", "key-02", at).ok());
  d = store_->deviceForAuth("dev-1");
  EXPECT_EQ(d->cert_key_sha256, "key-01");
  EXPECT_EQ(d->pending_cert_key_sha256.value_or(""), "key-02");
  ASSERT_TRUE(store_->promotePendingCertificate("dev-1", "02", at).ok());
  d = store_->deviceForAuth("dev-1");
  EXPECT_EQ(d->cert_serial, "02");
  EXPECT_EQ(d->cert_key_sha256, "key-02");
  EXPECT_FALSE(d->pending_cert_key_sha256.has_value());
  // A bound key is never replaced by a bind.
  EXPECT_EQ(store_->bindCertificateKey("dev-1", "02", "key-other").code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(store_->deviceForAuth("dev-1")->cert_key_sha256, "key-02");
}

// Migration v6 on a database from before it: the store never kept certificates, so an existing
// device has no key; its first request binds the key it presents, and only once.
TEST_P(StoreKeyBindingTest, MigrationSixLeavesOldDevicesUnboundUntilTheirFirstRequestBindsTheKey) {
  enroll("dev-old", "ignored");
  ASSERT_TRUE(
      store_->setPendingCertificate("dev-old", "01", "02", "ignored-too", T("2027-05-01T00:00:00Z"))
          .ok());
  store_.reset();
  // Back to what version 5 left: no key columns, no record of migration 6.
  exec("ALTER TABLE devices DROP COLUMN cert_key_sha256");
  exec("ALTER TABLE devices DROP COLUMN pending_cert_key_sha256");
  exec("DELETE FROM schema_migrations WHERE version = 6");
  open();
  EXPECT_EQ(*store_->schemaVersion(),
            testing::kNewestSchema);  // 6 applied again, 7 to the newest (still recorded) kept
  auto d = store_->deviceForAuth("dev-old");
  ASSERT_TRUE(d.ok()) << d.status().toString();
  EXPECT_EQ(d->cert_serial, "01");
  EXPECT_EQ(d->cert_key_sha256, "");
  EXPECT_EQ(d->pending_cert_serial.value_or(""), "02");
  EXPECT_FALSE(d->pending_cert_key_sha256.has_value());

  // Only the current serial binds.
  EXPECT_EQ(store_->bindCertificateKey("dev-old", "02", "key-a").code(),
            StatusCode::kFailedPrecondition);
  ASSERT_TRUE(store_->bindCertificateKey("dev-old", "01", "key-a").ok());
  EXPECT_EQ(store_->bindCertificateKey("dev-old", "01", "key-b").code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(store_->deviceForAuth("dev-old")->cert_key_sha256, "key-a");

  // A renewal made before the upgrade is promoted without a key: bound at its first use.
  ASSERT_TRUE(store_->promotePendingCertificate("dev-old", "02", T("2027-05-02T00:00:00Z")).ok());
  EXPECT_EQ(store_->deviceForAuth("dev-old")->cert_key_sha256, "");
  ASSERT_TRUE(store_->bindCertificateKey("dev-old", "02", "key-c").ok());
  EXPECT_EQ(store_->deviceForAuth("dev-old")->cert_key_sha256, "key-c");

  // A retired device binds nothing.
  enroll("dev-gone", "");
  ASSERT_TRUE(store_->retireDevice("dev-gone", T("2027-05-03T00:00:00Z")).ok());
  EXPECT_EQ(store_->bindCertificateKey("dev-gone", "01", "key-d").code(),
            StatusCode::kFailedPrecondition);
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreKeyBindingTest, ::testing::Values("sqlite", "postgresql"));

}  // namespace
}  // namespace hearth::server
