// Tests against one running hearth-server on loopback: SetUp inits `dir_`/server (SQLite) and
// serves it, its log in `dir_`/server.log.
#pragma once

#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "support/files.h"
#include "support/server_process.h"
#include "support/temp_dir.h"

namespace hearth::testing {

class RunningServerTest : public ::testing::Test {
 protected:
  // A subclass's SetUp calls this first, then returns if HasFatalFailure().
  void SetUp() override {
    state_ = dir_.path() + "/server";
    server_ = std::make_unique<TestServer>(state_);
    auto init = server_->init();
    ASSERT_EQ(init.exit_code, 0) << init.err;
    ASSERT_TRUE(server_->serve(serverLog())) << ReadFile(serverLog());
  }

  std::string serverLog() const { return dir_.path() + "/server.log"; }

  TempDir dir_;
  std::string state_;  // the server's state directory (ca.pem, enroll-secret, ...)
  std::unique_ptr<TestServer> server_;
};

}  // namespace hearth::testing
