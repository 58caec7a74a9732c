// Several servers on one database (issue 18): the periodic jobs of `serve` run one server at a
// time (Store::runExclusive: a PostgreSQL advisory lock per job, held while the job runs), and a
// job held by a server that dies goes to the others. Two Store instances on one PostgreSQL
// schema stand for two servers; on SQLite (one server per database file) a job always runs.
#include <atomic>
#include <chrono>
#include <future>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "hearth/log.h"
#include "hearth/server/serve.h"
#include "hearth/server/store.h"
#include "hearth/time.h"
#include "maintenance.h"
#include "support/store_backend.h"

namespace hearth::server {
namespace {

using std::chrono::seconds;

TimePoint T(const char* s) { return *parseRfc3339(s); }

class ClusterJobsTest : public testing::StoreBackendTest {
 protected:
  ClusterJobsTest() : StoreBackendTest("cluster_jobs") {}

  std::unique_ptr<Store> second() {
    auto s = OpenStore(uri_);
    EXPECT_TRUE(s.ok()) << s.status().toString();
    return s.ok() ? std::move(s).value() : nullptr;
  }

  // `n` devices enrolled (with their own secret) on 26 November 2026, silent since: stale for a
  // server that runs now with the default window.
  std::vector<std::string> enrollSilent(const std::string& prefix, int n) {
    SecretRecord spec;
    spec.level = "standard";
    spec.uses_left = n;
    EXPECT_TRUE(store_->createSecret("hash-" + prefix, spec).ok());
    std::vector<std::string> ids;
    for (int i = 0; i < n; ++i) {
      DeviceRecord d;
      d.device_id = prefix + "-" + std::to_string(i);
      d.hostname = d.device_id;
      d.cert_serial = prefix + std::to_string(i);
      d.enrolled_at = T("2026-11-26T09:00:00Z");
      auto r = store_->enrollDevice("hash-" + prefix, d, d.enrolled_at);
      EXPECT_TRUE(r.ok()) << r.status().toString();
      ids.push_back(d.device_id);
    }
    return ids;
  }

  // Stale events per device in the feed.
  std::map<std::string, int> staleEvents() {
    std::map<std::string, int> out;
    int64_t after = 0;
    while (true) {
      auto page = store_->feed(after, 1000);
      EXPECT_TRUE(page.ok()) << page.status().toString();
      if (!page.ok() || page->empty()) return out;
      for (const auto& e : *page) {
        if (e.type == "stale") ++out[e.device_id];
        after = e.cursor;
      }
    }
  }
};

TEST_P(ClusterJobsTest, AJobRunsOnOneServerAtATime) {
  auto other = second();
  ASSERT_NE(other, nullptr);
  bool inner_ran = false;
  StatusOr<bool> inner = false;
  auto outer = store_->runExclusive(
      "staleness", [&] { inner = other->runExclusive("staleness", [&] { inner_ran = true; }); });
  ASSERT_TRUE(outer.ok()) << outer.status().toString();
  EXPECT_TRUE(*outer);
  ASSERT_TRUE(inner.ok()) << inner.status().toString();
  if (GetParam() == "postgresql") {
    // The second server skips while the first runs it...
    EXPECT_FALSE(*inner);
    EXPECT_FALSE(inner_ran);
    // ...another job is not held up...
    bool other_job = false;
    auto retention = store_->runExclusive("staleness", [&] {
      auto r = other->runExclusive("retention", [&] { other_job = true; });
      EXPECT_TRUE(r.ok() && *r);
    });
    EXPECT_TRUE(retention.ok() && *retention);
    EXPECT_TRUE(other_job);
  } else {
    EXPECT_TRUE(*inner);  // SQLite: one server per file, nothing to wait for
    EXPECT_TRUE(inner_ran);
  }
  // ...and runs it once the first is done.
  bool later = false;
  auto after = other->runExclusive("staleness", [&] { later = true; });
  ASSERT_TRUE(after.ok());
  EXPECT_TRUE(*after);
  EXPECT_TRUE(later);
}

TEST_P(ClusterJobsTest, AJobOfAServerThatDiesGoesToTheOthers) {
  if (GetParam() != "postgresql") GTEST_SKIP() << "one server per SQLite database";
  auto dying = second();
  ASSERT_NE(dying, nullptr);
  std::promise<void> inside, finish;
  std::shared_future<void> finished = finish.get_future().share();
  std::thread holder([&] {
    auto r = dying->runExclusive("retention", [&] {
      inside.set_value();
      finished.wait();
    });
    EXPECT_TRUE(r.ok() && *r);  // it ran, though its connection was cut while it did
  });
  inside.get_future().wait();
  bool ran = false;
  auto while_held = store_->runExclusive("retention", [&] { ran = true; });
  ASSERT_TRUE(while_held.ok());
  EXPECT_FALSE(*while_held);
  // The dying server's connection ends (what kill -9 or a lost network does to it): PostgreSQL
  // ends its session, and the session's advisory locks with it.
  exec(
      "SELECT pg_terminate_backend(l.pid) FROM pg_locks l, (SELECT hashtextextended('hearth.' "
      "|| current_schema() || '.job.retention', 0) AS k) j WHERE l.locktype = 'advisory' AND "
      "l.granted AND l.classid::bigint = ((j.k >> 32) & 4294967295) AND l.objid::bigint = (j.k "
      "& 4294967295)");
  bool taken_over = false;
  for (int i = 0; i < 50 && !taken_over; ++i) {
    auto r = store_->runExclusive("retention", [&] { ran = true; });
    ASSERT_TRUE(r.ok()) << r.status().toString();
    taken_over = *r;
    if (!taken_over) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(taken_over) << "the survivor never got the job";
  EXPECT_TRUE(ran);
  finish.set_value();
  holder.join();
  // The server whose connection was cut takes part again: its lock connection is made anew.
  auto again = dying->runExclusive("retention", [] {});
  ASSERT_TRUE(again.ok()) << again.status().toString();
  EXPECT_TRUE(*again);
}

// Two servers start at the same moment (or their minute comes round together): each runs its
// staleness round at once. Silent devices get one stale event each, not one per server.
TEST_P(ClusterJobsTest, TwoServersMarkingStaleAtOnceRaiseOneEventPerDevice) {
  if (GetParam() != "postgresql") GTEST_SKIP() << "one server per SQLite database";
  auto other = second();
  ASSERT_NE(other, nullptr);
  std::ostringstream log_text;
  Logger log(log_text, LogLevel::kInfo, LogFormat::Journal());
  ServeOptions options;
  constexpr int kRounds = 8, kDevices = 40;
  for (int round = 0; round < kRounds; ++round) {
    auto ids = enrollSilent("r" + std::to_string(round), kDevices);
    std::unique_ptr<MaintenanceThreads> a, b;
    std::thread start_a([&] { a = std::make_unique<MaintenanceThreads>(*store_, log, options); });
    std::thread start_b([&] { b = std::make_unique<MaintenanceThreads>(*other, log, options); });
    start_a.join();
    start_b.join();
    // Each runs its first round at once; wait until both did (or one skipped it).
    bool all = false;
    for (int i = 0; i < 100 && !all; ++i) {
      auto stale = staleEvents();
      all = true;
      for (const auto& id : ids) all = all && stale.count(id) > 0;
      if (!all) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ASSERT_TRUE(all) << log_text.str();
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // a slower second round
    a->stop();
    b->stop();
    auto stale = staleEvents();
    for (const auto& id : ids) {
      ASSERT_EQ(stale[id], 1) << id << " (round " << round << ")\n" << log_text.str();
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, ClusterJobsTest, ::testing::Values("sqlite", "postgresql"));

}  // namespace
}  // namespace hearth::server
