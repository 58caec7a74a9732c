// Two hearth-server processes on one PostgreSQL database (a deployment docs/server.md allows),
// one device reporting through both at once: each report is sent to both servers at the same
// moment (an agent whose acknowledgement was lost retries through the other server behind a
// load balancer). Every report is stored once, acknowledged as stored by one server and as a
// duplicate by the other, and the feed holds each verdict change and each device event once,
// in a chain that matches the reports (no event lost, none raised twice by the two servers).
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "hearth/json.h"
#include "hearth/text.h"
#include "server_fault_fixture.h"
#include "support/files.h"
#include "support/https_client.h"

namespace hearth::testing {
namespace {

class FaultTwoServersTest : public FaultServerTest {
 protected:
  // A second server on the same state directory and database.
  bool startSecond() {
    std::vector<std::string> argv = {serverBinary(), "serve",       "--state-dir",    state_,
                                     "--listen",     "127.0.0.1:0", "--admin-listen", "127.0.0.1:0",
                                     "--database",   database_};
    second_ = std::make_unique<ServerProcess>(argv, dir_.path() + "/server-second.log");
    EXPECT_TRUE(second_->started()) << ReadFile(dir_.path() + "/server-second.log");
    return second_->started();
  }
  void TearDown() override {
    if (second_) second_->stop();
    FaultServerTest::TearDown();
  }

  // Report `sequence` of `d` (its one check's verdict `verdict`) posted to `devices` (host:port).
  HttpAnswer reportTo(const std::string& devices, const FaultDevice& d, int64_t sequence,
                      const std::string& verdict) {
    const bool pass = verdict == "pass";
    std::string body =
        R"({"report_id":")" + reportId(d.id + "-" + std::to_string(sequence)) + R"(","sequence":)" +
        std::to_string(sequence) +
        R"(,"sent_at":"2026-11-26T10:00:05Z","agent_version":"0.1.0",)"
        R"("machine_id":"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",)"
        R"("result":{"compliant":)" +
        (pass ? "true" : "false") +
        R"(,"level":"standard","policy_version":1,)"
        R"("evaluated_at":"2026-11-26T10:00:00Z","host":{"hostname":"pc"},"checks":[)"
        R"({"id":"disk_encryption","verdict":")" +
        verdict +
        R"(","required":true,"summary":"s","evidence":{},"remediation":"r","duration_ms":1}]}})";
    HttpsClient client({.ca_file = state_ + "/ca.pem",
                        .cert_file = d.cert,
                        .key_file = d.key,
                        .timeout_seconds = 30});
    HttpsReply reply = client.postJson("https://" + devices + "/api/v1/reports", body);
    HttpAnswer a;
    a.status = reply.completed() ? reply.status : 0;
    a.body = std::move(reply.body);
    return a;
  }

  std::unique_ptr<ServerProcess> second_;
};

// Verdict of report `sequence`: fail for sequences 5-9, 15-19, ...
std::string VerdictOf(int64_t sequence) { return (sequence / 5) % 2 == 1 ? "fail" : "pass"; }

TEST_P(FaultTwoServersTest, OneDeviceReportingThroughBothServersAtOnceIsStoredAndAnnouncedOnce) {
  if (!postgres()) GTEST_SKIP() << "two servers share a database on PostgreSQL only";
  ASSERT_TRUE(start());
  ASSERT_TRUE(startSecond());
  const std::string servers[2] = {devices_, second_->address("devices")};
  FaultDevice d = enroll("shared-pc");
  ASSERT_FALSE(d.id.empty());

  constexpr int64_t kReports = 40;
  for (int64_t seq = 1; seq <= kReports; ++seq) {
    HttpAnswer answers[2];
    std::vector<std::thread> both;
    for (int i = 0; i < 2; ++i) {
      both.emplace_back([&, i] { answers[i] = reportTo(servers[i], d, seq, VerdictOf(seq)); });
    }
    for (auto& t : both) t.join();
    // One stored it (202), the other found it stored (200, a duplicate): never both, never none.
    std::multiset<long> codes = {answers[0].status, answers[1].status};
    ASSERT_EQ(codes, (std::multiset<long>{200, 202}))
        << "report " << seq << ": " << answers[0].status << " " << answers[0].body << " / "
        << answers[1].status << " " << answers[1].body;
  }

  auto history = historyIds(d.id);
  std::set<std::string> stored(history.begin(), history.end());
  EXPECT_EQ(history.size(), static_cast<size_t>(kReports)) << "a report stored twice or lost";
  for (int64_t seq = 1; seq <= kReports; ++seq) {
    EXPECT_EQ(stored.count(reportId(d.id + "-" + std::to_string(seq))), 1u) << "report " << seq;
  }

  // The feed: the verdict changes (the first report's verdict, then one at every fifth report)
  // as a chain, and the device events alternating, each once.
  auto feed = json::parse(admin("/api/v1/feed?limit=1000").body);
  ASSERT_TRUE(feed.ok());
  std::vector<std::string> changes, device_events;
  std::string last = "";
  for (const auto& e : feed->find("events")->asArray()) {
    if (e.find("device_id")->asString() != d.id) continue;
    const std::string type = e.find("type")->asString();
    if (type == "verdict_changed") {
      const json::Value* from = e.find("from");
      std::string from_text = from != nullptr && from->isString() ? from->asString() : "";
      EXPECT_EQ(from_text, last) << json::write(e);
      last = e.find("to")->asString();
      changes.push_back(last);
    } else if (type == "device_noncompliant" || type == "device_compliant") {
      device_events.push_back(type);
    }
  }
  std::vector<std::string> expected_changes = {"pass"};
  for (int64_t seq = 2; seq <= kReports; ++seq) {
    if (VerdictOf(seq) != VerdictOf(seq - 1)) expected_changes.push_back(VerdictOf(seq));
  }
  EXPECT_EQ(changes, expected_changes);
  std::vector<std::string> expected_events;
  for (size_t i = 1; i < expected_changes.size(); ++i) {
    expected_events.push_back(expected_changes[i] == "fail" ? "device_noncompliant"
                                                            : "device_compliant");
  }
  EXPECT_EQ(device_events, expected_events);

  auto device = json::parse(admin("/api/v1/devices/" + d.id).body);
  ASSERT_TRUE(device.ok());
  EXPECT_EQ(device->find("status")->asString(),
            VerdictOf(kReports) == "pass" ? "compliant" : "noncompliant");
  second_->stop();
  server_->stop();
  auto check = cli({"check-db"});
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
}

INSTANTIATE_TEST_SUITE_P(Backends, FaultTwoServersTest, ::testing::Values("postgresql"));

}  // namespace
}  // namespace hearth::testing
