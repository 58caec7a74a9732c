// Issue 13, defect 6 (the agent's part): on a slow uplink one report that times out again and
// again held every report behind it for ever (delivery stops at the first failure). After
// SlowReports::kParkAfter timeouts in a row it is parked: the others go first, and it is tried
// after them with the patient timeout, until the server has it; it is never dropped. A real Spool
// and a real slow-reports.json in a temporary directory, a transport that times one report out.
#include <chrono>
#include <set>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>

#include <gtest/gtest.h>

#include "hearth/agent/delivery.h"
#include "hearth/agent/slow_reports.h"
#include "hearth/log.h"
#include "support/temp_dir.h"

namespace hearth::agent {
namespace {

using std::chrono::milliseconds;

std::string envelope(int64_t seq) { return R"({"report_id":"r)" + std::to_string(seq) + R"("})"; }

// Times out every normal upload of the reports in `slow_ones` (the link was up: timed_out), and
// accepts everything else, and a patient upload of anything.
class SlowLink : public Transport {
 public:
  std::set<std::string> slow_ones;
  std::vector<std::string> accepted;          // in arrival order
  std::vector<milliseconds> patient_uploads;  // the timeouts asked for

  PostResult postReport(const std::string& body) override {
    PostResult r;
    if (slow_ones.count(body) > 0) {
      r.kind = PostResult::Kind::kNetwork;
      r.timed_out = true;
      r.error = "timed out: Operation too slow";
      return r;
    }
    accepted.push_back(body);
    r.kind = PostResult::Kind::kAccepted;
    r.http_status = 202;
    return r;
  }
  PostResult postReportPatiently(const std::string& body, milliseconds timeout) override {
    patient_uploads.push_back(timeout);
    accepted.push_back(body);
    PostResult r;
    r.kind = PostResult::Kind::kAccepted;
    r.http_status = 202;
    return r;
  }
  StatusOr<std::string> fetchPolicy(int64_t) override { return NotFoundError("not used"); }
};

class SlowUplinkTest : public ::testing::Test {
 protected:
  DeliveryOutcome deliverOnce() {
    SlowReports slow(dir_.path() + "/slow-reports.json", milliseconds(240000));
    DeliveryOutcome d = DeliverSpool(spool_, link_, log_, nullptr, nullptr, &slow);
    if (auto l = spool_.list(); l.ok()) slow.keepOnly(*l);
    EXPECT_TRUE(slow.save().ok());
    return d;
  }

  testing::TempDir dir_;
  Spool spool_{dir_.path() + "/spool"};
  SlowLink link_;
  std::ostringstream log_text_;
  Logger log_{log_text_, LogLevel::kDebug, LogFormat::Terminal("test")};
};

TEST_F(SlowUplinkTest, Defect6ReportTimedOutThreeTimesNoLongerBlocksTheOthers) {
  for (int64_t s = 1; s <= 3; ++s) ASSERT_TRUE(spool_.append(s, envelope(s)).ok());
  link_.slow_ones = {envelope(1)};
  // Two runs: the head times out, nothing behind it is sent (order is kept while it may pass).
  for (int run = 1; run <= 2; ++run) {
    DeliveryOutcome d = deliverOnce();
    EXPECT_EQ(d.delivered, 0u) << "run " << run;
    EXPECT_EQ(d.last.kind, PostResult::Kind::kNetwork);
    EXPECT_EQ(d.failed_sequence, 1);
  }
  // The third timeout parks it, and the reports behind it go in the same run.
  DeliveryOutcome third = deliverOnce();
  EXPECT_EQ(third.delivered, 2u);
  EXPECT_EQ(link_.accepted, (std::vector<std::string>{envelope(2), envelope(3)}));
  EXPECT_FALSE(third.emptied);
  EXPECT_EQ(third.last.kind, PostResult::Kind::kNetwork) << "still a failure: the daemon backs off";
  EXPECT_EQ(third.failed_sequence, 1);
  EXPECT_NE(log_text_.str().find("report 1 timed out 3 times in a row"), std::string::npos)
      << log_text_.str();
  ASSERT_EQ(*spool_.list(), std::vector<int64_t>{1}) << "a slow report is never dropped";

  // Newer reports overtake it; then it is tried after them, patiently, and delivered.
  ASSERT_TRUE(spool_.append(4, envelope(4)).ok());
  link_.accepted.clear();
  DeliveryOutcome fourth = deliverOnce();
  EXPECT_EQ(link_.accepted, (std::vector<std::string>{envelope(4), envelope(1)}));
  ASSERT_EQ(link_.patient_uploads.size(), 1u);
  EXPECT_EQ(link_.patient_uploads[0], milliseconds(240000));
  EXPECT_TRUE(fourth.emptied);
  EXPECT_EQ(fourth.last.kind, PostResult::Kind::kAccepted);
  EXPECT_EQ(::access((dir_.path() + "/slow-reports.json").c_str(), F_OK), -1)
      << "no count is left once it was acknowledged";
}

TEST_F(SlowUplinkTest, Defect6CountsSurviveRunsAndOtherFailuresDoNotCount) {
  ASSERT_TRUE(spool_.append(1, envelope(1)).ok());
  link_.slow_ones = {envelope(1)};
  (void)deliverOnce();
  (void)deliverOnce();
  {
    SlowReports again(dir_.path() + "/slow-reports.json", milliseconds(1000));
    EXPECT_EQ(again.timeouts(1), 2) << "kept in slow-reports.json across runs (run --once)";
    EXPECT_FALSE(again.parked(1));
  }
  // An unreachable server (no timed_out) is not a slow uplink: nothing counted, nothing parked.
  SlowReports slow(dir_.path() + "/other.json", milliseconds(1000));
  class Down : public Transport {
   public:
    PostResult postReport(const std::string&) override {
      PostResult r;
      r.kind = PostResult::Kind::kNetwork;
      r.error = "could not connect in time";
      return r;
    }
    StatusOr<std::string> fetchPolicy(int64_t) override { return NotFoundError("not used"); }
  } down;
  for (int i = 0; i < 5; ++i) (void)DeliverSpool(spool_, down, log_, nullptr, nullptr, &slow);
  EXPECT_EQ(slow.timeouts(1), 0);
}

}  // namespace
}  // namespace hearth::agent
