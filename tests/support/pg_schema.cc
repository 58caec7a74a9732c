#include "support/pg_schema.h"

#include <cstdlib>
#include <unistd.h>

#include <Poco/Data/PostgreSQL/Connector.h>
#include <Poco/Data/Session.h>

#include "hearth/server/store.h"

namespace hearth::testing {

namespace {
void exec(const std::string& base, const std::string& sql) {
  Poco::Data::PostgreSQL::Connector::registerConnector();
  Poco::Data::Session s("PostgreSQL", *server::PostgresUriToConninfo(base));
  s << sql, Poco::Data::Keywords::now;
}
}  // namespace

PostgresSchema::PostgresSchema(const std::string& tag) {
  const char* uri = std::getenv("HEARTH_TEST_PG_URI");
  if (uri == nullptr || *uri == '\0') return;
  base_ = uri;
  schema_ = "hearth_" + tag + "_" + std::to_string(::getpid());
  exec(base_, "DROP SCHEMA IF EXISTS " + schema_ + " CASCADE");
  exec(base_, "CREATE SCHEMA " + schema_);
  uri_ = base_ + (base_.find('?') == std::string::npos ? "?" : "&") + "options=-csearch_path%3D" +
         schema_;
}

PostgresSchema::~PostgresSchema() {
  if (schema_.empty()) return;
  try {
    exec(base_, "DROP SCHEMA IF EXISTS " + schema_ + " CASCADE");
  } catch (...) {
  }
}

}  // namespace hearth::testing
