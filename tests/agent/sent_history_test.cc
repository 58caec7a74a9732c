// The sent history (SentHistory in spool.h) and what delivery does with it: acknowledged reports
// are kept within bounds, privately; a power cut at any point never loses a report (it is in the
// spool, the history or both); an acknowledgement that says the server lacks reports puts the
// kept copies back into the spool and they are sent again; an answer without the field (an older
// server) changes nothing.
#include "hearth/agent/sent_history.h"

#include <chrono>
#include <deque>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <sys/stat.h>
#include <vector>

#include <gtest/gtest.h>

#include "fakes/fault_file_layer.h"
#include "hearth/agent/delivery.h"
#include "hearth/agent/spool.h"
#include "hearth/result.h"
#include "hearth/time.h"
#include "support/temp_dir.h"

namespace hearth::agent {
namespace {

using testing::FaultFileLayer;
using testing::TempDir;
using Clock = std::chrono::system_clock;
using Kind = PostResult::Kind;

const Clock::time_point kNow = Clock::time_point(std::chrono::seconds(1800000000));

std::string envelope(int64_t seq, Clock::time_point sent = kNow) {
  return R"({"report_id":"r)" + std::to_string(seq) + R"(","sequence":)" + std::to_string(seq) +
         R"(,"sent_at":")" + formatRfc3339(sent) + R"(","result":{}})";
}

SentHistoryOptions opts(size_t keep, int days = 7, FileLayer* files = nullptr) {
  SentHistoryOptions o;
  o.keep_reports = keep;
  o.keep_for = std::chrono::hours(24) * days;
  o.files = files;
  o.now = [] { return kNow; };
  return o;
}

std::vector<int64_t> seqs(std::initializer_list<int64_t> s) { return s; }

TEST(SpoolSentHistoryTest, KeepsTheNewestReportsByteForByteWithinTheCountBound) {
  TempDir dir;
  SentHistory h(dir.path() + "/sent", opts(3));
  for (int64_t seq = 1; seq <= 5; ++seq) ASSERT_TRUE(h.keep(seq, envelope(seq)).ok());
  EXPECT_EQ(*h.list(), seqs({3, 4, 5}));
  EXPECT_EQ(*h.read(4), envelope(4));
  // Private: only root (the agent) reads what was sent.
  struct stat st {};
  ASSERT_EQ(::stat((dir.path() + "/sent").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ASSERT_EQ(::stat((dir.path() + "/sent/00000000000000000005.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST(SpoolSentHistoryTest, ForgetsReportsOlderThanTheDayBoundButNeverTheNewest) {
  TempDir dir;
  SentHistory h(dir.path() + "/sent", opts(500, 7));
  ASSERT_TRUE(h.keep(1, envelope(1, kNow - std::chrono::hours(24 * 9))).ok());
  ASSERT_TRUE(h.keep(2, envelope(2, kNow - std::chrono::hours(24 * 8))).ok());
  EXPECT_EQ(*h.list(), seqs({2}));  // too old, but the newest: kept
  ASSERT_TRUE(h.keep(3, envelope(3, kNow - std::chrono::hours(24 * 6))).ok());
  ASSERT_TRUE(h.keep(4, envelope(4)).ok());
  EXPECT_EQ(*h.list(), seqs({3, 4}));
}

TEST(SpoolSentHistoryTest, ZeroKeepsNothing) {
  TempDir dir;
  SentHistory h(dir.path() + "/sent", opts(0));
  ASSERT_TRUE(h.keep(1, envelope(1)).ok());
  EXPECT_TRUE(h.list()->empty());
}

TEST(SpoolSentHistoryTest, ANewEnrolmentForgetsTheOldDevicesReports) {
  TempDir dir;
  SentHistory h(dir.path() + "/sent", opts(10));
  ASSERT_TRUE(h.bindTo("dev-a").ok());
  ASSERT_TRUE(h.keep(1, envelope(1)).ok());
  ASSERT_TRUE(h.bindTo("dev-a").ok());
  EXPECT_EQ(*h.list(), seqs({1}));
  ASSERT_TRUE(h.bindTo("dev-b").ok());
  EXPECT_TRUE(h.list()->empty());
}

TEST(SpoolSentHistoryTest, RequeuesWhatTheServerLacksAndCountsWhatIsNoLongerKept) {
  TempDir dir;
  Spool spool(dir.path() + "/spool");
  SentHistory h(dir.path() + "/sent", opts(4));
  for (int64_t seq = 1; seq <= 9; ++seq) ASSERT_TRUE(h.keep(seq, envelope(seq)).ok());
  // Kept: 6..9. Report 10 was acknowledged by a server whose highest was 3 (a restore).
  auto r = h.requeue(spool, 3, 10);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->lacked_from, 4);
  EXPECT_EQ(r->lacked_to, 9);
  EXPECT_EQ(r->requeued, 4);
  EXPECT_EQ(r->not_kept, 2);  // 4 and 5
  EXPECT_EQ(*spool.list(), seqs({6, 7, 8, 9}));
  EXPECT_EQ(*spool.read(7), envelope(7));    // same bytes: same report_id and sequence
  EXPECT_EQ(*h.list(), seqs({6, 7, 8, 9}));  // the copies stay until trimmed

  // The server holds everything (its previous is the report before): nothing happens.
  TempDir dir2;
  Spool spool2(dir2.path() + "/spool");
  SentHistory h2(dir2.path() + "/sent", opts(4));
  for (int64_t seq = 1; seq <= 9; ++seq) ASSERT_TRUE(h2.keep(seq, envelope(seq)).ok());
  for (int64_t previous : {9, 12}) {
    auto none = h2.requeue(spool2, previous, 10);
    ASSERT_TRUE(none.ok());
    EXPECT_EQ(none->lacked_to, 0);
    EXPECT_EQ(none->requeued, 0);
  }
  EXPECT_TRUE(spool2.list()->empty());
}

// --- delivery -------------------------------------------------------------------------------

// A server that stores reports by their bytes (as report_id) and answers with previous_sequence
// like hearth-server (its highest before a new report; the highest below a duplicate), unless
// `old_server`.
class FakeServer : public Transport {
 public:
  std::set<std::string> stored;
  std::vector<std::string> posted;
  int64_t last_sequence = 0;
  bool old_server = false;

  PostResult postReport(const std::string& envelope) override {
    posted.push_back(envelope);
    auto v = json::parse(envelope);
    int64_t seq = v->find("sequence")->asInt();
    PostResult r;
    r.kind = Kind::kAccepted;
    const bool fresh = stored.insert(envelope).second;
    r.http_status = fresh ? 202 : 200;
    int64_t below = 0;
    for (const auto& e : stored) {
      int64_t s = json::parse(e)->find("sequence")->asInt();
      if (s < seq) below = std::max(below, s);
    }
    if (!old_server) r.previous_sequence = fresh ? last_sequence : below;
    last_sequence = std::max(last_sequence, seq);
    return r;
  }
  StatusOr<std::string> fetchPolicy(int64_t) override { return NotFoundError("not used"); }

  // A restore from a backup taken when the server held reports up to `through`.
  void restoreTo(int64_t through) {
    std::set<std::string> kept;
    for (const auto& e : stored) {
      if (json::parse(e)->find("sequence")->asInt() <= through) kept.insert(e);
    }
    stored = kept;
    last_sequence = through;
  }
};

class DeliveryResendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    spool_ = std::make_unique<Spool>(dir_.path() + "/spool");
    history_ = std::make_unique<SentHistory>(dir_.path() + "/sent", opts(500));
  }
  // One report spooled and delivered (as `run --once` does).
  DeliveryOutcome report(int64_t seq) {
    EXPECT_TRUE(spool_->append(seq, envelope(seq)).ok());
    return DeliverSpool(*spool_, server_, logger_, nullptr, history_.get());
  }

  TempDir dir_;
  std::unique_ptr<Spool> spool_;
  std::unique_ptr<SentHistory> history_;
  FakeServer server_;
  std::ostringstream log_;
  Logger logger_{log_, LogLevel::kDebug, LogFormat::Terminal("hearth-agent")};
};

TEST_F(DeliveryResendTest, AfterARestoreTheNextReportBringsBackEveryAcknowledgedReport) {
  for (int64_t seq = 1; seq <= 8; ++seq) ASSERT_EQ(report(seq).delivered, 1u);
  EXPECT_TRUE(spool_->list()->empty());
  EXPECT_EQ(*history_->list(), seqs({1, 2, 3, 4, 5, 6, 7, 8}));
  server_.restoreTo(3);  // the backup held 1..3; 4..8 were acknowledged after its snapshot

  DeliveryOutcome d = report(9);
  EXPECT_EQ(d.requeued, 5);
  EXPECT_EQ(*spool_->list(), seqs({4, 5, 6, 7, 8}));  // back in the spool for the next round
  EXPECT_NE(log_.str().find("the server lacked reports 4..8 (restored from a backup?); "
                            "re-sending 5 of them"),
            std::string::npos)
      << log_.str();
  EXPECT_EQ(log_.str().find("cannot be re-sent"), std::string::npos) << log_.str();
  DeliveryOutcome again = DeliverSpool(*spool_, server_, logger_, nullptr, history_.get());
  EXPECT_EQ(again.delivered, 5u);
  EXPECT_EQ(again.requeued, 0);
  EXPECT_TRUE(again.emptied);
  EXPECT_EQ(server_.stored.size(), 9u);  // every report, each once
  for (int64_t seq = 1; seq <= 9; ++seq) EXPECT_EQ(server_.stored.count(envelope(seq)), 1u);
  // Said once: the re-sent reports' own acknowledgements reveal nothing new.
  std::string all = log_.str();
  EXPECT_EQ(all.find("lacked"), all.rfind("lacked")) << all;
  EXPECT_EQ(report(10).requeued, 0);
}

TEST_F(DeliveryResendTest, SaysHowManyCannotBeResentWhenTheHistoryNoLongerHasThem) {
  history_ = std::make_unique<SentHistory>(dir_.path() + "/sent", opts(2));
  for (int64_t seq = 1; seq <= 6; ++seq) report(seq);
  server_.restoreTo(1);
  EXPECT_EQ(report(7).requeued, 2);
  EXPECT_NE(log_.str().find("the server lacked reports 2..6 (restored from a backup?); "
                            "re-sending 2 of them; 3 cannot be re-sent"),
            std::string::npos)
      << log_.str();
}

TEST_F(DeliveryResendTest, AnAnswerWithoutTheFieldChangesNothing) {
  server_.old_server = true;
  for (int64_t seq = 1; seq <= 5; ++seq) report(seq);
  server_.restoreTo(2);
  DeliveryOutcome d = report(6);
  EXPECT_EQ(d.requeued, 0);
  EXPECT_TRUE(d.emptied);
  EXPECT_TRUE(spool_->list()->empty());
  EXPECT_EQ(log_.str().find("lacked"), std::string::npos) << log_.str();
}

TEST_F(DeliveryResendTest, ADuplicateOrAnIntactServerNeverTriggersAResend) {
  for (int64_t seq = 1; seq <= 4; ++seq) report(seq);
  // Report 4 is sent again (its acknowledgement was lost): the server already holds it.
  ASSERT_TRUE(spool_->append(4, envelope(4)).ok());
  DeliveryOutcome d = DeliverSpool(*spool_, server_, logger_, nullptr, history_.get());
  EXPECT_EQ(d.delivered, 1u);
  EXPECT_EQ(d.requeued, 0);
  EXPECT_EQ(server_.posted.size(), 5u);
  EXPECT_EQ(server_.stored.size(), 4u);
}

// A power cut at any file operation of "acknowledge, keep, remove" and of "re-queue": every
// report that was ever appended is afterwards in the spool or the history (so it can still be
// sent), every file there reads back whole, and re-sending stores each report once.
TEST(SpoolSentHistoryCrashTest, APowerCutAtAnyPointLosesNoReport) {
  constexpr int64_t kReports = 6;
  auto workload = [](FaultFileLayer& files, const std::string& root, std::set<int64_t>& appended,
                     FakeServer& server) {
    SpoolOptions so;
    so.files = &files;
    Spool spool(root + "/spool", so);
    SentHistory history(root + "/sent", opts(100, 7, &files));
    std::ostringstream log;
    Logger logger(log, LogLevel::kDebug, LogFormat::Terminal("hearth-agent"));
    for (int64_t seq = 1; seq <= kReports; ++seq) {
      if (!spool.append(seq, envelope(seq)).ok()) return;
      appended.insert(seq);
      DeliverSpool(spool, server, logger, nullptr, &history);
      if (files.powerIsCut()) return;
      if (seq == 4) server.restoreTo(1);  // the next acknowledgement re-queues 2..4
    }
    DeliverSpool(spool, server, logger, nullptr, &history);
  };
  int points = 0;
  {
    TempDir tmp;
    FaultFileLayer files(tmp.path());
    std::set<int64_t> appended;
    FakeServer server;
    workload(files, tmp.path(), appended, server);
    points = files.mutatingOps();
    ASSERT_EQ(appended.size(), static_cast<size_t>(kReports));
    ASSERT_EQ(server.stored.size(), static_cast<size_t>(kReports)) << "the workload re-sends";
  }
  for (int point = 0; point <= points; ++point) {
    SCOPED_TRACE("power cut after operation " + std::to_string(point));
    TempDir tmp;
    FaultFileLayer files(tmp.path());
    std::set<int64_t> appended;
    FakeServer server;
    files.cutPowerAfter(point);
    workload(files, tmp.path(), appended, server);
    ASSERT_TRUE(files.crash(FaultFileLayer::CrashMode::kDropUnsynced).ok());

    SpoolOptions so;
    so.files = &files;
    Spool spool(tmp.path() + "/spool", so);
    ASSERT_TRUE(spool.recover().ok());
    SentHistory history(tmp.path() + "/sent", opts(100, 7, &files));
    auto in_spool = spool.list();
    auto in_history = history.list();
    ASSERT_TRUE(in_spool.ok() && in_history.ok());
    std::set<int64_t> somewhere(in_spool->begin(), in_spool->end());
    somewhere.insert(in_history->begin(), in_history->end());
    for (int64_t seq : appended) {
      EXPECT_EQ(somewhere.count(seq), 1u) << "report " << seq << " was lost";
    }
    for (int64_t seq : *in_spool) EXPECT_EQ(*spool.read(seq), envelope(seq));
    for (int64_t seq : *in_history) EXPECT_EQ(*history.read(seq), envelope(seq));
    // The agent goes on: what the spool holds is delivered, the server stores each once, and a
    // later restore still finds every acknowledged report in the spool or the history.
    // A report sent again after the cut (its acknowledgement was lost with the power) reveals the
    // loss again, so a cut in the middle of re-queueing loses nothing either.
    // The agent's next report (as after any restart) is what reveals a loss.
    ASSERT_TRUE(spool.append(100, envelope(100)).ok());
    appended.insert(100);
    std::ostringstream log;
    Logger logger(log, LogLevel::kDebug, LogFormat::Terminal("hearth-agent"));
    for (int round = 0; round < 3; ++round) {
      if (DeliverSpool(spool, server, logger, nullptr, &history).requeued == 0) break;
    }
    auto left = spool.list();
    ASSERT_TRUE(left.ok());
    EXPECT_TRUE(left->empty());
    for (int64_t seq : appended) {
      EXPECT_EQ(server.stored.count(envelope(seq)), 1u) << "report " << seq << " not stored";
    }
    if (::testing::Test::HasFailure()) return;
  }
}

}  // namespace
}  // namespace hearth::agent
