// Several servers on one database (issue 18): a consumer following the feed with its cursor sees
// every event, in order, although two servers' transactions overlap and commit in another order
// than they appended their events. One transaction (another server, standing still between
// appending an event and its commit) holds an event uncommitted while a second Store instance
// commits a later one; on SQLite (one writer) the second waits for the first.
#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <Poco/Data/PostgreSQL/Connector.h>
#include <Poco/Data/SQLite/Connector.h>
#include <Poco/Data/Session.h>
#include <gtest/gtest.h>

#include "hearth/server/store.h"
#include "hearth/time.h"
#include "support/store_backend.h"

namespace hearth::server {
namespace {

using namespace Poco::Data::Keywords;  // NOLINT(google-build-using-namespace)

TimePoint T(const char* s) { return *parseRfc3339(s); }

class ClusterFeedTest : public testing::StoreBackendTest {
 protected:
  ClusterFeedTest() : StoreBackendTest("cluster_feed") {}

  void SetUp() override {
    StoreBackendTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    SecretRecord spec;
    spec.level = "standard";
    ASSERT_TRUE(store_->createSecret("hash", spec).ok());
    WebhookRecord w;
    w.url = "http://127.0.0.1:9/hook";
    w.secret = "0123456789abcdef-secret";
    w.events = {"enrolled"};
    w.created_at = T("2026-12-01T00:00:00Z");
    auto made = store_->createWebhook(w);
    ASSERT_TRUE(made.ok()) << made.status().toString();
    webhook_ = made->id;
  }

  // A session of its own on the database: the other server's connection.
  std::unique_ptr<Poco::Data::Session> rawSession() {
    if (GetParam() == "postgresql") {
      Poco::Data::PostgreSQL::Connector::registerConnector();
      return std::make_unique<Poco::Data::Session>("PostgreSQL", *PostgresUriToConninfo(uri_));
    }
    Poco::Data::SQLite::Connector::registerConnector();
    return std::make_unique<Poco::Data::Session>("SQLite", uri_);
  }

  Status enroll(Store& store, const std::string& id, const std::string& secret = "hash") {
    DeviceRecord d;
    d.device_id = id;
    d.hostname = id;
    d.cert_serial = id;
    d.enrolled_at = T("2026-12-07T10:00:00Z");
    return store.enrollDevice(secret, d, d.enrolled_at).status();
  }

  // What a consumer following the feed with its cursor has read so far; `cursor_` is its next.
  void follow() {
    while (true) {
      auto page = store_->feed(cursor_, 2);  // small pages: the cursor is used between them
      ASSERT_TRUE(page.ok()) << page.status().toString();
      if (page->empty()) return;
      for (const auto& e : *page) {
        EXPECT_GT(e.cursor, cursor_) << "the feed went back";
        cursor_ = e.cursor;
        read_.push_back(e);
      }
    }
  }

  int64_t webhook_ = 0;
  int64_t cursor_ = 0;
  std::vector<FeedEvent> read_;
};

TEST_P(ClusterFeedTest, AnEventCommittedAfterALaterOneIsNotSkipped) {
  auto other = OpenStore(uri_);
  ASSERT_TRUE(other.ok()) << other.status().toString();
  ASSERT_TRUE(enroll(**other, "first").ok());
  follow();
  ASSERT_EQ(read_.size(), 1U);

  // A server appends an event and has not committed yet (its transaction is slow: a batch of
  // reports, a network hiccup to the database)...
  auto held = rawSession();
  held->begin();
  *held << "INSERT INTO events(at, device_id, type) VALUES ('2026-12-07T10:00:01Z', 'held', "
           "'enrolled')",
      now;
  // ...while another server commits a later one, and the consumer reads it.
  auto later = std::async(std::launch::async, [&] { return enroll(**other, "later"); });
  if (GetParam() == "postgresql") {
    ASSERT_EQ(later.wait_for(std::chrono::seconds(10)), std::future_status::ready);
    ASSERT_TRUE(later.get().ok());
  }
  follow();
  // The slow server commits; the consumer goes on from its cursor.
  held->commit();
  if (GetParam() == "sqlite") {
    ASSERT_TRUE(later.get().ok());  // it waited for the writer
  }
  follow();

  std::vector<std::string> devices;
  for (const auto& e : read_) devices.push_back(e.device_id);
  ASSERT_EQ(devices.size(), 3U) << "the consumer missed an event";
  EXPECT_EQ(std::set<std::string>(devices.begin(), devices.end()),
            (std::set<std::string>{"first", "held", "later"}));
  // Nothing more comes: each was read once.
  follow();
  EXPECT_EQ(read_.size(), 3U);

  // The outbox: one delivery per event, naming the cursor the feed serves it under, delivered
  // (by id) in the feed's order.
  auto log = store_->listDeliveries(webhook_, 0, 100);
  ASSERT_TRUE(log.ok()) << log.status().toString();
  ASSERT_EQ(log->size(), 3U);
  std::vector<int64_t> delivered;  // newest first in the log
  for (auto it = log->rbegin(); it != log->rend(); ++it) {
    ASSERT_TRUE(it->event_cursor.has_value());
    delivered.push_back(*it->event_cursor);
  }
  std::vector<int64_t> fed;
  for (const auto& e : read_) fed.push_back(e.cursor);
  EXPECT_EQ(delivered, fed);
}

// Many overlapping writers on two servers: a consumer polling all the while ends with every
// event exactly once, its cursors only going up.
TEST_P(ClusterFeedTest, AConsumerPollingTwoBusyServersMissesNothing) {
  if (GetParam() != "postgresql") GTEST_SKIP() << "one server per SQLite database";
  auto other = OpenStore(uri_);
  ASSERT_TRUE(other.ok()) << other.status().toString();
  constexpr int kEach = 60;
  SecretRecord spec;  // a secret each: enrolments through one secret wait for each other
  spec.level = "standard";
  ASSERT_TRUE(store_->createSecret("hash-b", spec).ok());
  auto writer = [&](Store& store, const std::string& prefix) {
    for (int i = 0; i < kEach; ++i) {
      Status s = enroll(store, prefix + std::to_string(i), prefix == "a" ? "hash" : "hash-b");
      if (!s.ok()) return s;
    }
    return OkStatus();
  };
  auto a = std::async(std::launch::async, writer, std::ref(*store_), "a");
  auto b = std::async(std::launch::async, writer, std::ref(**other), "b");
  while (a.wait_for(std::chrono::milliseconds(1)) != std::future_status::ready ||
         b.wait_for(std::chrono::milliseconds(1)) != std::future_status::ready) {
    follow();
  }
  ASSERT_TRUE(a.get().ok());
  ASSERT_TRUE(b.get().ok());
  follow();
  std::set<int64_t> cursors;
  std::set<std::string> enrolled;
  for (const auto& e : read_) {
    EXPECT_TRUE(cursors.insert(e.cursor).second) << "cursor " << e.cursor << " read twice";
    if (e.type == "enrolled") {
      EXPECT_TRUE(enrolled.insert(e.device_id).second) << e.device_id;
    }
  }
  EXPECT_EQ(enrolled.size(), 2U * kEach);
}

INSTANTIATE_TEST_SUITE_P(Backends, ClusterFeedTest, ::testing::Values("sqlite", "postgresql"));

}  // namespace
}  // namespace hearth::server
