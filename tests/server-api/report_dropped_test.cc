// The report envelope's optional "dropped" (reports the agent's spool lost to overflow) from the
// wire to the device's reports_dropped: parsed strictly, summed once per stored report, kept by
// the v2 migration for databases made before it, on SQLite and (with HEARTH_TEST_PG_URI) on
// PostgreSQL. And the integrity check behind `hearth-server check-db`. And (same fixture) a
// sequence number a device reuses for another report: refused, with the number to use instead.
#include <set>

#include <gtest/gtest.h>

#include "hearth/protocol/wire.h"
#include "hearth/result.h"
#include "hearth/server/store.h"
#include "hearth/time.h"
#include "support/store_backend.h"

namespace hearth::server {
namespace {

TimePoint T(const char* s) { return *parseRfc3339(s); }

std::string envelope(const std::string& extra) {
  return R"({"report_id":"3f2b8c1e-5d6a-4b7c-8d9e-0a1b2c3d4e5f","sequence":1,)"
         R"("sent_at":"2026-11-26T10:00:05Z","agent_version":"0.1.0",)"
         R"("machine_id":"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",)" +
         extra +
         R"("result":{"compliant":true,"level":"standard","policy_version":1,)"
         R"("evaluated_at":"2026-11-26T10:00:00Z","checks":[]}})";
}

TEST(ReportDroppedWireTest, OptionalWholeNumberThatRoundTrips) {
  auto none = protocol::ReportEnvelope::parse(envelope(""));
  ASSERT_TRUE(none.ok()) << none.status().toString();
  EXPECT_FALSE(none->dropped.has_value());
  EXPECT_EQ(json::write(none->toJson()).find("dropped"), std::string::npos);

  auto some = protocol::ReportEnvelope::parse(envelope(R"("dropped":7,)"));
  ASSERT_TRUE(some.ok()) << some.status().toString();
  EXPECT_EQ(some->dropped.value_or(-1), 7);
  auto again = protocol::ReportEnvelope::parse(json::write(some->toJson()));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->dropped.value_or(-1), 7);

  for (const char* bad : {R"("dropped":-1,)", R"("dropped":"3",)", R"("dropped":1.5,)",
                          R"("dropped":null,)", R"("dropped":1000000001,)"}) {
    auto r = protocol::ReportEnvelope::parse(envelope(bad));
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.status().message().find("\"dropped\""), std::string::npos) << r.status().message();
  }
}

class ReportDroppedStoreTest : public testing::StoreBackendTest {
 protected:
  ReportDroppedStoreTest() : StoreBackendTest("dropped") {}

  void enroll(const std::string& id) {
    SecretRecord spec;
    spec.level = "standard";
    spec.created_at = T("2026-11-26T08:00:00Z");
    if (!secret_made_) {
      ASSERT_TRUE(store_->createSecret("hash", spec).ok());
    }
    secret_made_ = true;
    DeviceRecord d;
    d.device_id = id;
    d.hostname = "host-" + id;
    d.cert_serial = "01";
    d.enrolled_at = T("2026-11-26T09:00:00Z");
    ASSERT_TRUE(store_->enrollDevice("hash", d, T("2026-11-26T09:00:00Z")).ok());
  }

  NewReport report(const std::string& device, const std::string& id, int64_t seq, int64_t dropped) {
    auto env = protocol::ReportEnvelope::parse(envelope(""));
    NewReport r;
    r.device_id = device;
    r.report_id = id;
    r.sequence = seq;
    r.sent_at = "2026-11-26T10:00:05Z";
    r.agent_version = "0.1.0";
    r.machine_id = env->machine_id;
    r.result = env->result;
    r.received_at = T("2026-11-26T10:00:06Z");
    r.dropped = dropped;
    return r;
  }

  int64_t dropped(const std::string& device) {
    auto d = store_->getDevice(device);
    EXPECT_TRUE(d.ok()) << d.status().toString();
    return d.ok() ? d->reports_dropped : -1;
  }

  bool secret_made_ = false;
};

TEST_P(ReportDroppedStoreTest, SummedOncePerStoredReportAndShownInTheList) {
  enroll("dev-a");
  enroll("dev-b");
  EXPECT_EQ(dropped("dev-a"), 0);
  auto first =
      store_->ingestReports({report("dev-a", "00000000-0000-4000-8000-000000000001", 5, 3),
                             report("dev-b", "00000000-0000-4000-8000-000000000002", 1, 0)});
  ASSERT_TRUE(first.ok()) << first.status().toString();
  // A later report, an older one arriving late (it still counts), and a repeat (it does not).
  auto more =
      store_->ingestReports({report("dev-a", "00000000-0000-4000-8000-000000000003", 6, 2),
                             report("dev-a", "00000000-0000-4000-8000-000000000004", 4, 1),
                             report("dev-a", "00000000-0000-4000-8000-000000000001", 5, 3)});
  ASSERT_TRUE(more.ok()) << more.status().toString();
  EXPECT_EQ((*more)[2].outcome, IngestOutcome::kDuplicate);
  EXPECT_EQ(dropped("dev-a"), 6);
  EXPECT_EQ(dropped("dev-b"), 0);

  DeviceFilter f;
  f.now = T("2026-11-26T11:00:00Z");
  auto list = store_->listDevices(f);
  ASSERT_TRUE(list.ok()) << list.status().toString();
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].reports_dropped, 6);
}

TEST_P(ReportDroppedStoreTest, MigrationTwoKeepsADatabaseFromVersionOne) {
  EXPECT_EQ(*store_->schemaVersion(), testing::kNewestSchema);
  enroll("dev-old");
  store_.reset();
  // Back to what version 1 left: no reports_dropped column, no record of migration 2 (the later
  // ones stay recorded: migrations are applied by set).
  exec("ALTER TABLE devices DROP COLUMN reports_dropped");
  exec("DELETE FROM schema_migrations WHERE version = 2");
  open();
  EXPECT_EQ(*store_->schemaVersion(),
            testing::kNewestSchema);  // 2 applied again; 3 to the newest (still recorded) kept
  EXPECT_EQ(dropped("dev-old"), 0);
  ASSERT_TRUE(
      store_->ingestReports({report("dev-old", "00000000-0000-4000-8000-0000000000f1", 1, 4)})
          .ok());
  EXPECT_EQ(dropped("dev-old"), 4);
}

TEST_P(ReportDroppedStoreTest, IntegrityCheckSaysOk) {
  enroll("dev-a");
  auto r = store_->checkIntegrity();
  ASSERT_TRUE(r.ok()) << r.status().toString();
  EXPECT_EQ(*r, "ok");
}

INSTANTIATE_TEST_SUITE_P(Backends, ReportDroppedStoreTest,
                         ::testing::Values("sqlite", "postgresql"));

// Issue 13, defect 4: an agent that lost its sequence counter sends report 2 again under a new
// report_id. Before, both were stored (and the device's state froze on the old one).
using SequenceReusedStoreTest = ReportDroppedStoreTest;

TEST_P(SequenceReusedStoreTest, AnotherReportUnderAStoredSequenceIsRefusedWithTheNextNumber) {
  enroll("dev-a");
  enroll("dev-b");
  ASSERT_TRUE(store_
                  ->ingestReports({report("dev-a", "00000000-0000-4000-8000-000000000001", 1, 0),
                                   report("dev-a", "00000000-0000-4000-8000-000000000002", 2, 0),
                                   report("dev-a", "00000000-0000-4000-8000-000000000005", 5, 0),
                                   report("dev-b", "00000000-0000-4000-8000-0000000000b1", 2, 0)})
                  .ok());
  auto again = store_->ingestReports(
      {report("dev-a", "00000000-0000-4000-8000-0000000000a2", 2, 1),    // reused: refused
       report("dev-a", "00000000-0000-4000-8000-000000000002", 2, 0),    // the same report
       report("dev-a", "00000000-0000-4000-8000-0000000000a6", 6, 0),    // a new number
       report("dev-b", "00000000-0000-4000-8000-0000000000b3", 3, 0)});  // another device
  ASSERT_TRUE(again.ok()) << again.status().toString();
  ASSERT_EQ(again->size(), 4u);
  EXPECT_EQ((*again)[0].outcome, IngestOutcome::kSequenceReused);
  EXPECT_EQ((*again)[0].next_sequence, 6) << "one more than the highest held (5)";
  EXPECT_EQ((*again)[1].outcome, IngestOutcome::kDuplicate);
  EXPECT_EQ((*again)[2].outcome, IngestOutcome::kStored);
  EXPECT_EQ((*again)[3].outcome, IngestOutcome::kStored);
  EXPECT_EQ(dropped("dev-a"), 0) << "nothing of the refused report was counted";

  // Within one batch too, the second report under a number is refused; the next number follows
  // what the batch stored (6) and the device's last_sequence.
  auto batch =
      store_->ingestReports({report("dev-a", "00000000-0000-4000-8000-0000000000a7", 7, 0),
                             report("dev-a", "00000000-0000-4000-8000-0000000000a8", 7, 0)});
  ASSERT_TRUE(batch.ok()) << batch.status().toString();
  EXPECT_EQ((*batch)[0].outcome, IngestOutcome::kStored);
  EXPECT_EQ((*batch)[1].outcome, IngestOutcome::kSequenceReused);
  EXPECT_EQ((*batch)[1].next_sequence, 8);

  // Renumbered as asked, the same report_id is stored.
  auto renumbered =
      store_->ingestReports({report("dev-a", "00000000-0000-4000-8000-0000000000a8", 8, 0)});
  ASSERT_TRUE(renumbered.ok());
  EXPECT_EQ((*renumbered)[0].outcome, IngestOutcome::kStored);
  auto history = store_->deviceHistory("dev-a", 100);
  ASSERT_TRUE(history.ok()) << history.status().toString();
  std::set<int64_t> sequences;
  for (const auto& r : *history) sequences.insert(r.sequence);
  EXPECT_EQ(sequences.size(), history->size()) << "a sequence stored twice";
  EXPECT_EQ(history->size(), 6u);
}

INSTANTIATE_TEST_SUITE_P(Backends, SequenceReusedStoreTest,
                         ::testing::Values("sqlite", "postgresql"));

}  // namespace
}  // namespace hearth::server
