// A Store for tests parameterised by backend ("sqlite", "postgresql"): SQLite in a temporary
// directory, or a private PostgreSQL schema (pg_schema.h; skipped without HEARTH_TEST_PG_URI).
#pragma once

#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "hearth/server/store.h"
#include "support/pg_schema.h"
#include "support/temp_dir.h"

namespace hearth::testing {

// The newest schema version (server-api/store_schema.cc's last migration): the one place the
// tests name it, so that a new migration changes one line.
constexpr int kNewestSchema = 20;

class StoreBackendTest : public ::testing::TestWithParam<std::string> {
 protected:
  // `pg_tag` names the PostgreSQL schema (PostgresSchema).
  explicit StoreBackendTest(std::string pg_tag) : pg_tag_(std::move(pg_tag)) {}

  // Opens the store (a subclass's SetUp calls this first, then returns if IsSkipped() or
  // HasFatalFailure()).
  void SetUp() override;
  // (Re)opens store_ on uri_.
  void open();
  // Runs SQL straight on the database, under the store (to recreate an old schema).
  void exec(const std::string& sql);

  TempDir dir_;
  std::unique_ptr<PostgresSchema> pg_;
  std::string uri_;
  std::unique_ptr<server::Store> store_;

 private:
  std::string pg_tag_;
};

}  // namespace hearth::testing
