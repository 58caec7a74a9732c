// A private PostgreSQL schema per test on the server named by HEARTH_TEST_PG_URI (scripts/test
// starts one), so tests can run in parallel against one server.
#pragma once

#include <string>

namespace hearth::testing {

class PostgresSchema {
 public:
  // Empty uri() when HEARTH_TEST_PG_URI is unset (the caller skips).
  explicit PostgresSchema(const std::string& tag);
  ~PostgresSchema();
  PostgresSchema(const PostgresSchema&) = delete;
  PostgresSchema& operator=(const PostgresSchema&) = delete;
  // The database URI with search_path set to the schema.
  const std::string& uri() const { return uri_; }

 private:
  std::string base_;
  std::string schema_;
  std::string uri_;
};

}  // namespace hearth::testing
