// The isolated check run: a hanging check is unknown and the others still run, only the named
// checks run, an interrupt abandons the run.
#include "hearth/agent/check_process.h"

#include <chrono>
#include <memory>
#include <thread>
#include <unistd.h>
#include <vector>

#include <gtest/gtest.h>

#include "hearth/json.h"
#include "hearth/log.h"
#include "support/result_json.h"
#include "support/temp_dir.h"

namespace hearth::agent {
namespace {

using std::chrono::seconds;
using testing::CheckById;

Policy twoChecks() {
  auto p = ParsePolicy(
      R"({"level":"standard","version":3,"checks":{"disk_encryption":{"required":true},)"
      R"("vpn":{"required":true,"company_addresses":["10.0.0.1"]}}})",
      "test");
  EXPECT_TRUE(p.ok()) << p.status().message();
  return *p;
}

// A check with a chosen id that passes, or hangs far past any timeout.
class ScriptedCheck : public Check {
 public:
  ScriptedCheck(std::string id, bool hang) : id_(std::move(id)), hang_(hang) {}
  std::string_view id() const override { return id_; }
  StatusOr<CheckResult> run(const SystemView&, const CheckParams&) const override {
    if (hang_) std::this_thread::sleep_for(std::chrono::hours(1));
    CheckResult r;
    r.verdict = Verdict::kPass;
    r.summary = id_ + " is fine";
    return r;
  }

 private:
  std::string id_;
  bool hang_;
};

CheckProcessOptions scripted(bool disk_hangs, const std::string& state_dir) {
  CheckProcessOptions o;
  o.state_dir = state_dir;
  o.check_timeout = seconds(1);
  o.make_checks = [disk_hangs] {
    std::vector<std::unique_ptr<Check>> v;
    v.push_back(std::make_unique<ScriptedCheck>("disk_encryption", disk_hangs));
    v.push_back(std::make_unique<ScriptedCheck>("vpn", false));
    return v;
  };
  return o;
}

TEST(CheckProcessTest, AHangingCheckIsUnknownAndTheOthersStillRun) {
  testing::TempDir dir;
  std::ostringstream log;
  Logger logger(log, LogLevel::kDebug, LogFormat::Terminal("hearth-agent"));
  auto start = std::chrono::steady_clock::now();
  auto r = RunChecksIsolated(twoChecks(), scripted(true, dir.path()), logger);
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_LT(took, seconds(5));  // the hung check is abandoned, not waited for
  const auto& disk = CheckById(*r, "disk_encryption");
  EXPECT_EQ(disk.find("verdict")->asString(), "unknown");
  EXPECT_NE(disk.find("summary")->asString().find("did not finish within 1 s"), std::string::npos);
  EXPECT_EQ(CheckById(*r, "vpn").find("verdict")->asString(), "pass");
  EXPECT_FALSE(r->find("compliant")->asBool());  // unknown is never a pass
  EXPECT_NE(log.str().find("disk_encryption did not finish"), std::string::npos);
}

TEST(CheckProcessTest, OnlyRunsTheNamedChecks) {
  testing::TempDir dir;
  std::ostringstream log;
  Logger logger(log, LogLevel::kDebug, LogFormat::Terminal("hearth-agent"));
  auto o = scripted(true, dir.path());  // the disk check would hang: it must not even start
  o.only = {"vpn"};
  auto r = RunChecksIsolated(twoChecks(), o, logger);
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->find("checks")->size(), 1u);
  EXPECT_EQ(CheckById(*r, "vpn").find("verdict")->asString(), "pass");
}

TEST(CheckProcessTest, InterruptAbandonsTheRun) {
  testing::TempDir dir;
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  ASSERT_EQ(::write(p[1], "x", 1), 1);
  auto o = scripted(true, dir.path());
  o.check_timeout = seconds(30);
  o.interrupt_fd = p[0];
  std::ostringstream log;
  Logger logger(log, LogLevel::kDebug, LogFormat::Terminal("hearth-agent"));
  auto start = std::chrono::steady_clock::now();
  auto r = RunChecksIsolated(twoChecks(), o, logger);
  EXPECT_LT(std::chrono::steady_clock::now() - start, seconds(1));
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "interrupted");
  ::close(p[0]);
  ::close(p[1]);
}

}  // namespace
}  // namespace hearth::agent
