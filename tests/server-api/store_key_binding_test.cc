// A device is bound to the key of its certificate, not only its serial (issue 12, defect 1): the
// store keeps the SubjectPublicKeyInfo hash at enrolment and renewal, carries it through the
// promotion of a renewed certificate, and migration v6 leaves devices enrolled before it with no
// key until their next request binds one (once). On SQLite and (with HEARTH_TEST_PG_URI) on
// PostgreSQL.
#include <Poco/Data/PostgreSQL/Connector.h>
#include <Poco/Data/SQLite/Connector.h>
#include <Poco/Data/Session.h>
#include <gtest/gtest.h>

#include "hearth/server/store.h"
#include "hearth/time.h"
#include "support/pg_schema.h"
#include "support/temp_dir.h"

namespace hearth::server {
namespace {

TimePoint T(const char* s) { return *parseRfc3339(s); }

class StoreKeyBindingTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "postgresql") {
      pg_ = std::make_unique<testing::PostgresSchema>("keybinding");
      if (pg_->uri().empty()) GTEST_SKIP() << "HEARTH_TEST_PG_URI not set: no PostgreSQL server";
      uri_ = pg_->uri();
    } else {
      uri_ = dir_.path() + "/hearth.db";
    }
    open();
    SecretRecord spec;
    spec.level = "standard";
    spec.created_at = T("2026-11-26T08:00:00Z");
    ASSERT_TRUE(store_->createSecret("hash", spec).ok());
  }

  void open() {
    store_.reset();
    auto s = OpenStore(uri_);
    ASSERT_TRUE(s.ok()) << s.status().toString();
    store_ = std::move(s).value();
  }

  // Runs SQL straight on the database, under the store (to recreate an old schema).
  void exec(const std::string& sql) {
    if (GetParam() == "postgresql") {
      Poco::Data::PostgreSQL::Connector::registerConnector();
      Poco::Data::Session s("PostgreSQL", *PostgresUriToConninfo(uri_));
      s << sql, Poco::Data::Keywords::now;
    } else {
      Poco::Data::SQLite::Connector::registerConnector();
      Poco::Data::Session s("SQLite", uri_);
      s << sql, Poco::Data::Keywords::now;
    }
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

  testing::TempDir dir_;
  std::unique_ptr<testing::PostgresSchema> pg_;
  std::string uri_;
  std::unique_ptr<Store> store_;
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
  EXPECT_EQ(*store_->schemaVersion(), 7);  // 6 applied again, 7 (still recorded) kept
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
