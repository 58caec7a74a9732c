// Delivering the spool: sequence order, a report leaves the spool only once the server
// acknowledged it, delivery stops at the first failure, and a stop request is honoured between
// reports. A real Spool in a temporary directory and a scripted Transport.
#include "hearth/agent/delivery.h"

#include <cerrno>
#include <cstring>
#include <deque>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <sys/resource.h>
#include <sys/stat.h>
#include <vector>

#include <gtest/gtest.h>

#include "fakes/fault_file_layer.h"
#include "support/sanitizers.h"
#include "support/temp_dir.h"

namespace hearth::agent {
namespace {

using Kind = PostResult::Kind;

// Answers each post with the next scripted result (kAccepted once the script is used up) and
// records what was sent.
class ScriptedTransport : public Transport {
 public:
  std::vector<std::string> sent;
  std::deque<PostResult> script;
  std::function<void()> on_post;

  PostResult postReport(const std::string& envelope) override {
    sent.push_back(envelope);
    if (on_post) on_post();
    if (script.empty()) {
      PostResult ok;
      ok.kind = Kind::kAccepted;
      ok.http_status = 202;
      return ok;
    }
    PostResult r = script.front();
    script.pop_front();
    return r;
  }
  StatusOr<std::string> fetchPolicy(int64_t) override { return NotFoundError("not used"); }
};

PostResult result(Kind kind, long http = 0, std::string error = "") {
  PostResult r;
  r.kind = kind;
  r.http_status = http;
  r.error = std::move(error);
  return r;
}

std::string envelope(int64_t seq) { return R"({"report_id":"r)" + std::to_string(seq) + R"("})"; }

class DeliveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    spool_ = std::make_unique<Spool>(dir_.path() + "/spool");
    // Appended out of order: delivery follows the sequence, not the order of writing.
    for (int64_t seq : {3, 1, 2, 5}) ASSERT_TRUE(spool_->append(seq, envelope(seq)).ok());
  }

  std::vector<int64_t> left() { return *spool_->list(); }

  testing::TempDir dir_;
  std::unique_ptr<Spool> spool_;
  ScriptedTransport transport_;
  std::ostringstream log_;
  Logger logger_{log_, LogLevel::kDebug, LogFormat::Terminal("hearth-agent")};
};

TEST_F(DeliveryTest, DeliversEverythingInSequenceOrderAndEmptiesTheSpool) {
  DeliveryOutcome out = DeliverSpool(*spool_, transport_, logger_);
  EXPECT_EQ(transport_.sent,
            (std::vector<std::string>{envelope(1), envelope(2), envelope(3), envelope(5)}));
  EXPECT_EQ(out.delivered, 4u);
  EXPECT_TRUE(out.emptied);
  EXPECT_EQ(out.last.kind, Kind::kAccepted);
  EXPECT_EQ(out.last_sequence, 5);
  EXPECT_EQ(out.last_delivered, envelope(5));
  EXPECT_EQ(spool_->depth(), 0u);
}

TEST_F(DeliveryTest, StopsAtTheFirstFailureAndKeepsItAndEverythingAfter) {
  transport_.script = {result(Kind::kAccepted, 202),
                       result(Kind::kRetryLater, 503, "HTTP 503: database unavailable")};
  DeliveryOutcome out = DeliverSpool(*spool_, transport_, logger_);
  EXPECT_EQ(transport_.sent.size(), 2u);  // nothing after the failure is tried
  EXPECT_EQ(out.delivered, 1u);
  EXPECT_FALSE(out.emptied);
  EXPECT_EQ(out.last.kind, Kind::kRetryLater);
  EXPECT_EQ(out.last.http_status, 503);
  EXPECT_EQ(out.last_sequence, 1);
  EXPECT_EQ(left(), (std::vector<int64_t>{2, 3, 5}));
  EXPECT_NE(log_.str().find("report 2 not delivered (retry_later): HTTP 503"), std::string::npos)
      << log_.str();

  // The next attempt starts where this one stopped.
  DeliveryOutcome next = DeliverSpool(*spool_, transport_, logger_);
  EXPECT_EQ(next.delivered, 3u);
  EXPECT_TRUE(next.emptied);
  EXPECT_EQ(transport_.sent[2], envelope(2));
}

TEST_F(DeliveryTest, TheLatestAcknowledgementWithFleetDatesIsKeptForTheCaller) {
  PostResult dated = result(Kind::kAccepted, 202);
  dated.fleet_json = R"({"os_patches":{"first_seen":[]}})";
  // Reports 1 and 2 answered with dates, 3 by an answer without (an older server), 5 too.
  PostResult first = dated;
  first.fleet_json = R"({"os_patches":{"first_seen":[{"name":"a"}]}})";
  transport_.script = {first, dated, result(Kind::kAccepted, 202)};
  DeliveryOutcome out = DeliverSpool(*spool_, transport_, logger_);
  EXPECT_EQ(out.delivered, 4u);
  EXPECT_EQ(out.fleet_json, dated.fleet_json);
  // None at all: nothing to keep.
  ASSERT_TRUE(spool_->append(6, envelope(6)).ok());
  EXPECT_TRUE(DeliverSpool(*spool_, transport_, logger_).fleet_json.empty());
}

TEST_F(DeliveryTest, NoFailureKindRemovesAReport) {
  for (Kind kind : {Kind::kRetryLater, Kind::kRefused, Kind::kRetired, Kind::kAuthFailed,
                    Kind::kTlsFailure, Kind::kNetwork}) {
    transport_.script = {result(kind, 0, "no")};
    DeliveryOutcome out = DeliverSpool(*spool_, transport_, logger_);
    EXPECT_EQ(out.delivered, 0u) << PostKindName(kind);
    EXPECT_EQ(out.last.kind, kind);
    EXPECT_EQ(out.last.error, "no");
    EXPECT_EQ(left(), (std::vector<int64_t>{1, 2, 3, 5})) << PostKindName(kind);
  }
}

TEST_F(DeliveryTest, ShouldStopIsPolledBetweenReports) {
  int posts = 0;
  transport_.on_post = [&] { ++posts; };
  DeliveryOutcome out = DeliverSpool(*spool_, transport_, logger_, [&] { return posts >= 2; });
  EXPECT_EQ(out.delivered, 2u);
  EXPECT_FALSE(out.emptied);
  EXPECT_NE(out.last.kind, Kind::kAccepted);
  EXPECT_EQ(left(), (std::vector<int64_t>{3, 5}));

  DeliveryOutcome stopped = DeliverSpool(*spool_, transport_, logger_, [] { return true; });
  EXPECT_EQ(stopped.delivered, 0u);
  EXPECT_EQ(transport_.sent.size(), 2u);  // nothing sent once stopping
}

TEST_F(DeliveryTest, AReportAppendedDuringDeliveryWaitsForTheNextRound) {
  transport_.on_post = [&] {
    if (transport_.sent.size() == 1) {
      ASSERT_TRUE(spool_->append(6, envelope(6)).ok());
    }
  };
  DeliveryOutcome out = DeliverSpool(*spool_, transport_, logger_);
  EXPECT_EQ(out.delivered, 4u);
  EXPECT_FALSE(out.emptied);  // report 6 is still waiting
  EXPECT_EQ(out.last.kind, Kind::kAccepted);
  EXPECT_EQ(left(), (std::vector<int64_t>{6}));
}

TEST_F(DeliveryTest, AnEmptySpoolIsEmptied) {
  testing::TempDir other;
  Spool empty(other.path() + "/spool");  // does not exist yet
  DeliveryOutcome out = DeliverSpool(empty, transport_, logger_);
  EXPECT_TRUE(out.emptied);
  EXPECT_EQ(out.delivered, 0u);
  EXPECT_EQ(out.last.kind, Kind::kAccepted);
  EXPECT_TRUE(transport_.sent.empty());
}

TEST_F(DeliveryTest, AnUnlistableSpoolEndsDeliveryWithTheLocalError) {
  // Out of file descriptors (works as root too, unlike permissions): the spool cannot be listed.
  if (testing::UnderSanitizers()) {
    GTEST_SKIP() << "UBSan's vptr check needs a file descriptor (support/sanitizers.h); this runs "
                    "in the plain build";
  }
  rlimit saved{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &saved), 0);
  rlimit none = saved;
  none.rlim_cur = 0;
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &none), 0);
  DeliveryOutcome out = DeliverSpool(*spool_, transport_, logger_);
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &saved), 0);
  EXPECT_EQ(out.last.kind, Kind::kNetwork);
  EXPECT_FALSE(out.emptied);
  EXPECT_NE(out.last.error.find("cannot list the spool"), std::string::npos) << out.last.error;
  EXPECT_TRUE(transport_.sent.empty());
  EXPECT_EQ(left(), (std::vector<int64_t>{1, 2, 3, 5}));
}

TEST_F(DeliveryTest, AReportThatCannotBeReadStopsDeliveryBeforeItAndIsNamed) {
  // A directory where report 2 should be: listed, but never readable as a file. Delivery stops
  // there and says which report it is, so that the runtime can move it aside.
  ASSERT_TRUE(spool_->remove(2).ok());
  ASSERT_EQ(::mkdir((dir_.path() + "/spool/00000000000000000002.json").c_str(), 0700), 0);
  DeliveryOutcome out = DeliverSpool(*spool_, transport_, logger_);
  EXPECT_EQ(out.delivered, 1u);
  EXPECT_EQ(out.last.kind, Kind::kNetwork);
  EXPECT_NE(out.last.error.find("cannot read report 2"), std::string::npos) << out.last.error;
  EXPECT_EQ(transport_.sent, (std::vector<std::string>{envelope(1)}));
  ASSERT_TRUE(out.unreadable.has_value());
  EXPECT_EQ(*out.unreadable, 2);
}

// Which read errors move a report aside: only those a retry cannot cure.
TEST(DeliveryReadErrorTest, OnlyPermanentReadErrorsMarkAReportUnreadable) {
  struct Case {
    int err;
    bool permanent;
  };
  for (Case c : {Case{EIO, true}, Case{EMFILE, false}, Case{ENFILE, false}, Case{ENOMEM, false},
                 Case{EACCES, false}}) {
    testing::TempDir dir;
    testing::FaultFileLayer files(dir.path());
    SpoolOptions o;
    o.files = &files;
    Spool spool(dir.path() + "/spool", o);
    ASSERT_TRUE(spool.append(2, envelope(2)).ok());
    files.failAll(testing::FaultFileLayer::Op::kRead, c.err);
    ScriptedTransport t;
    std::ostringstream log;
    Logger logger(log, LogLevel::kDebug, LogFormat::Terminal("hearth-agent"));
    DeliveryOutcome out = DeliverSpool(spool, t, logger);
    EXPECT_EQ(out.delivered, 0u) << std::strerror(c.err);
    EXPECT_TRUE(t.sent.empty());
    EXPECT_NE(out.last.error.find("cannot read report 2"), std::string::npos) << out.last.error;
    EXPECT_EQ(out.unreadable.has_value(), c.permanent) << std::strerror(c.err);
  }
}

}  // namespace
}  // namespace hearth::agent
