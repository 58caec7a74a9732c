// Issue 13, defect 1: one transient lock wedged the SQLite store until restart. Another
// connection holds the database's write lock (SQLite: BEGIN IMMEDIATE; PostgreSQL: LOCK TABLE
// ... IN ACCESS EXCLUSIVE MODE) past the server's lock wait, once during an enrolment and once
// over a staleness pass. While it is held, /healthz says the store cannot write; within 5 s of
// its release the server accepts reports and enrolments again without a restart, and every CSV
// export that was served has its audit entry.
#include <algorithm>
#include <future>
#include <thread>
#include <unistd.h>

#include <Poco/Data/PostgreSQL/Connector.h>
#include <Poco/Data/SQLite/Connector.h>
#include <Poco/Data/Session.h>

#include "hearth/server/store.h"
#include "server_fault_fixture.h"

namespace hearth::testing {
namespace {

using namespace std::chrono_literals;
using Poco::Data::Keywords::now;

// Longer than the server's lock wait (5 s; main's busy timeout was 10 s).
constexpr auto kHold = 12s;

class FaultStoreLockTest : public FaultServerTest {
 protected:
  // Takes the lock from a connection of its own: the whole database (SQLite) or `table`.
  void lock(const std::string& table) {
    if (postgres()) {
      Poco::Data::PostgreSQL::Connector::registerConnector();
      holder_ = std::make_unique<Poco::Data::Session>("PostgreSQL",
                                                      *server::PostgresUriToConninfo(database_));
      *holder_ << "BEGIN", now;
      *holder_ << "LOCK TABLE " + table + " IN ACCESS EXCLUSIVE MODE", now;
    } else {
      Poco::Data::SQLite::Connector::registerConnector();
      holder_ = std::make_unique<Poco::Data::Session>("SQLite", dbFile());
      *holder_ << "BEGIN IMMEDIATE", now;
    }
    locked_at_ = std::chrono::steady_clock::now();
  }
  void release() {
    *holder_ << "ROLLBACK", now;
    holder_.reset();
  }

  // Within 5 s of the release a report and an enrolment are accepted; then /healthz is 200, a
  // CSV export is served and audited, and the device's history holds every acknowledged report.
  void expectRecovered(const FaultDevice& d, int64_t next_sequence) {
    auto released = std::chrono::steady_clock::now();
    EXPECT_TRUE(waitFor(
        [&] {
          return report(d, "after-" + std::to_string(next_sequence), next_sequence).status == 202;
        },
        5s))
        << serverLog();
    acknowledged_.push_back("after-" + std::to_string(next_sequence));
    EXPECT_TRUE(waitFor([&] { return !enroll("after-release").id.empty(); }, 5s)) << serverLog();
    EXPECT_LT(std::chrono::steady_clock::now() - released, 6s);
    // Health holds a failure for 10 s (PostgreSQL locks per table), then the probe clears it.
    EXPECT_TRUE(waitFor([&] { return healthz().status == 200; }, 20s)) << healthz().body;
    EXPECT_EQ(admin("/api/v1/devices.csv").status, 200);
    served_exports_++;
    auto history = historyIds(d.id);
    for (const auto& label : acknowledged_) {
      EXPECT_NE(std::find(history.begin(), history.end(), reportId(label)), history.end()) << label;
    }
    auto actions = auditActions();
    // Every export served has its entry. (One more is allowed: an export is recorded before it
    // is sent, and one recorded just as the lock went may be cut by the request deadline.)
    EXPECT_GE(std::count(actions.begin(), actions.end(), "export.csv"), served_exports_);
  }

  // Starts serve with one enrolled device `d` whose first report is acknowledged.
  void startWithADevice(FaultDevice& d) {
    ASSERT_TRUE(start());
    d = enroll("pc-1");
    ASSERT_FALSE(d.id.empty());
    ASSERT_EQ(report(d, "before-1", 1).status, 202);
    acknowledged_.push_back("before-1");
  }

  // While the lock is held: /healthz turns 503 and says the database cannot be written; a CSV
  // export answered 200 counts as served.
  void expectUnhealthyUntilReleased() {
    EXPECT_TRUE(waitFor([&] { return healthz().status == 503; }, kHold - 1s))
        << healthz().body << serverLog();
    HttpAnswer h = healthz();
    EXPECT_NE(h.body.find("database"), std::string::npos) << h.body;
    if (admin("/api/v1/devices.csv").status == 200) served_exports_++;
    std::this_thread::sleep_until(locked_at_ + kHold);
  }

  std::unique_ptr<Poco::Data::Session> holder_;
  std::chrono::steady_clock::time_point locked_at_;
  std::vector<std::string> acknowledged_;
  int64_t served_exports_ = 0;
};

TEST_P(FaultStoreLockTest, Defect1LockHeldDuringAnEnrolmentWedgesNothing) {
  FaultDevice d;
  ASSERT_NO_FATAL_FAILURE(startWithADevice(d));
  ASSERT_EQ(admin("/api/v1/devices.csv").status, 200);
  served_exports_++;

  lock("devices");
  auto during = std::async(std::launch::async, [&] {
    HttpAnswer a;
    enroll("during-lock", &a);
    return a;
  });
  expectUnhealthyUntilReleased();
  HttpAnswer refused = during.get();
  EXPECT_EQ(refused.status, 503) << refused.body;
  release();
  expectRecovered(d, 2);
}

TEST_P(FaultStoreLockTest, Defect1LockHeldOverAStalenessPassWedgesNothing) {
  FaultDevice d;
  ASSERT_NO_FATAL_FAILURE(startWithADevice(d));
  server_->stop();
  // The staleness pass runs when serve starts: it meets the lock.
  lock("events");
  ASSERT_TRUE(start());
  expectUnhealthyUntilReleased();
  release();
  expectRecovered(d, 2);
  EXPECT_NE(serverLog().find("staleness: "), std::string::npos) << serverLog();
}

// PostgreSQL: the server's connections are terminated (a database restart, a failover): the
// store connects again by itself and the server accepts reports and enrolments again.
TEST_P(FaultStoreLockTest, Defect1PostgresConnectionsTerminatedAreOpenedAgain) {
  if (!postgres()) GTEST_SKIP() << "PostgreSQL only: SQLite has no connection to lose";
  const std::string app = "hearth_fault_" + std::to_string(::getpid());
  database_ += "&application_name=" + app;
  FaultDevice d;
  ASSERT_NO_FATAL_FAILURE(startWithADevice(d));
  Poco::Data::PostgreSQL::Connector::registerConnector();
  Poco::Data::Session other("PostgreSQL", *server::PostgresUriToConninfo(pg_->uri()));
  Poco::Int64 terminated = 0;
  other << "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE "
           "application_name = '" +
               app + "'",
      Poco::Data::Keywords::into(terminated), now;
  EXPECT_GE(terminated, 2);  // the writer and the readers
  expectRecovered(d, 2);
}

INSTANTIATE_TEST_SUITE_P(Backends, FaultStoreLockTest, ::testing::Values("sqlite", "postgresql"));

}  // namespace
}  // namespace hearth::testing
