#include "support/store_backend.h"

#include <Poco/Data/PostgreSQL/Connector.h>
#include <Poco/Data/SQLite/Connector.h>
#include <Poco/Data/Session.h>

namespace hearth::testing {

void StoreBackendTest::SetUp() {
  if (GetParam() == "postgresql") {
    pg_ = std::make_unique<PostgresSchema>(pg_tag_);
    if (pg_->uri().empty()) GTEST_SKIP() << "HEARTH_TEST_PG_URI not set: no PostgreSQL server";
    uri_ = pg_->uri();
  } else {
    uri_ = dir_.path() + "/hearth.db";
  }
  open();
}

void StoreBackendTest::open() {
  store_.reset();
  auto s = server::OpenStore(uri_);
  ASSERT_TRUE(s.ok()) << s.status().toString();
  store_ = std::move(s).value();
}

void StoreBackendTest::exec(const std::string& sql) {
  if (GetParam() == "postgresql") {
    Poco::Data::PostgreSQL::Connector::registerConnector();
    Poco::Data::Session s("PostgreSQL", *server::PostgresUriToConninfo(uri_));
    s << sql, Poco::Data::Keywords::now;
  } else {
    Poco::Data::SQLite::Connector::registerConnector();
    Poco::Data::Session s("SQLite", uri_);
    s << sql, Poco::Data::Keywords::now;
  }
}

}  // namespace hearth::testing
