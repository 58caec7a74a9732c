// The fault-injection tests' server (ctest label `fault`): a real hearth-server with its own
// state directory on SQLite or, when HEARTH_TEST_PG_URI is set, a private PostgreSQL schema,
// and a device's and IT's side of it over (m)TLS on loopback with libcurl in-process (thread-safe:
// faults are injected while requests are under way). Suites named Fault* get the label.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "support/pg_schema.h"
#include "support/server_process.h"
#include "support/temp_dir.h"

namespace hearth::testing {

struct HttpAnswer {
  long status = 0;  // 0: no answer (connection refused, cut, timed out)
  std::string body;
  double seconds = 0;
};

struct FaultDevice {
  std::string id, key, cert;
};

// Parameterised by backend: "sqlite" or "postgresql" (skipped without HEARTH_TEST_PG_URI).
class FaultServerTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override;
  void TearDown() override;

  bool postgres() const { return GetParam() == "postgresql"; }
  // hearth-server (HEARTH_TEST_SERVER_BINARY when set, to run the suite against another build).
  static const std::string& serverBinary();
  // The SQLite database file (SQLite only).
  std::string dbFile() const { return state_ + "/hearth.db"; }
  // `hearth-server init` for this state directory and database (SetUp runs it).
  ProcessOutput init();
  // Starts `serve` with `extra` options; false (and a test failure) when it did not start.
  bool start(const std::vector<std::string>& extra = {});
  // Runs `hearth-server args... --state-dir S [--database D]`.
  ProcessOutput cli(std::vector<std::string> args);
  std::string serverLog() const;
  // The text of a file ("" when it cannot be read).
  static std::string fileText(const std::string& path);

  // A new device enrolled with the init secret (status 201), or the answer in `answer`.
  FaultDevice enroll(const std::string& hostname, HttpAnswer* answer = nullptr);
  // A report (a lower-case UUID made from `label`, see reportId) with `sequence`; its one check
  // carries `evidence` (JSON text).
  HttpAnswer report(const FaultDevice& d, const std::string& label, int64_t sequence,
                    const std::string& evidence = "{}");
  // The report id a label stands for: the same label, the same UUID.
  static std::string reportId(const std::string& label);
  // GET on the admin listener with the admin token.
  HttpAnswer admin(const std::string& path);
  HttpAnswer healthz();
  // Polls `fn` every 100 ms until it returns true or `limit` passes; whether it did.
  static bool waitFor(const std::function<bool()>& fn, std::chrono::milliseconds limit);
  // The report ids of `device_id` in its history (admin API), as reportId() makes them.
  std::vector<std::string> historyIds(const std::string& device_id);
  // The audit entries' actions (admin API).
  std::vector<std::string> auditActions();

  TempDir dir_;
  std::unique_ptr<PostgresSchema> pg_;
  std::string database_;  // "" for SQLite in the state directory
  std::string state_;
  std::unique_ptr<ServerProcess> server_;
  std::string devices_, admin_;
  int log_count_ = 0;
};

}  // namespace hearth::testing
