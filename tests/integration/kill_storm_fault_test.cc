// Issue 13, fault suite: kill -9 storms of the server during ingest. Devices post reports
// without pause (re-sending what was not acknowledged, as agents do) while the server is killed
// with SIGKILL at random moments and started again: every acknowledged report is stored, none is
// stored twice, and the database checks ok. On SQLite and PostgreSQL.
#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "server_fault_fixture.h"

namespace hearth::testing {
namespace {

using namespace std::chrono_literals;

class FaultKillStormTest : public FaultServerTest {};

TEST_P(FaultKillStormTest, KillNineStormsLoseNoAcknowledgedReportAndStoreNoneTwice) {
  ASSERT_TRUE(start());
  constexpr int kDevices = 3;
  constexpr int kKills = 6;
  std::vector<FaultDevice> devices;
  for (int i = 0; i < kDevices; ++i) {
    devices.push_back(enroll("storm-" + std::to_string(i)));
    ASSERT_FALSE(devices.back().id.empty());
  }
  std::mutex mu;
  std::map<std::string, std::set<std::string>> acknowledged;  // device id -> report ids
  std::vector<int64_t> next(kDevices, 1);                     // the report each device sends
  std::mt19937 random(20261207);

  for (int kill = 0; kill <= kKills; ++kill) {
    if (kill > 0) {
      ASSERT_TRUE(start());
    }
    std::atomic<bool> stop{false};
    std::vector<std::thread> senders;
    for (int i = 0; i < kDevices; ++i) {
      senders.emplace_back([&, i] {
        while (!stop) {
          // The same report again until it is acknowledged (as an agent's spool does).
          std::string id = devices[i].id + "-" + std::to_string(next[i]);
          HttpAnswer a = report(devices[i], id, next[i]);
          if (a.status == 202 || a.status == 200) {
            std::lock_guard<std::mutex> lock(mu);
            acknowledged[devices[i].id].insert(reportId(id));
            ++next[i];
          }
        }
      });
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(300 + random() % 700));
    if (kill < kKills) server_->kill9();
    stop = true;
    for (auto& t : senders) t.join();
  }

  // The last server is still running: every acknowledged report is in each history, once.
  size_t total = 0;
  for (const auto& d : devices) {
    auto history = historyIds(d.id);
    std::set<std::string> stored(history.begin(), history.end());
    EXPECT_EQ(stored.size(), history.size()) << "a report is stored twice for " << d.id;
    for (const auto& id : acknowledged[d.id]) {
      EXPECT_TRUE(stored.count(id) == 1) << "acknowledged report " << id << " is lost";
    }
    total += acknowledged[d.id].size();
  }
  EXPECT_GT(total, static_cast<size_t>(kDevices * kKills)) << "too few reports to tell";
  server_->stop();
  auto check = cli({"check-db"});
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
}

INSTANTIATE_TEST_SUITE_P(Backends, FaultKillStormTest, ::testing::Values("sqlite", "postgresql"));

}  // namespace
}  // namespace hearth::testing
