// Issue 14 acceptance with only curl and the server's clock moved by libfaketime between restarts
// (the device reports with curl each time): a device failing vpn for 8 days is listed by
// ?failing_for=7 with its failing_since; a grace of 3 days shows it at_risk on day 2 and
// noncompliant on day 4 (before it reports, with its device_noncompliant event); an exemption
// until tomorrow makes it compliant today, and exemption_expired appears after it lapses.
#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <unistd.h>
#include <vector>

#include <gtest/gtest.h>

#include "delivery_harness.h"
#include "hearth/json.h"
#include "hearth/protocol/crypto.h"
#include "hearth/time.h"
#include "support/curl_cli.h"
#include "support/files.h"
#include "support/https_client.h"
#include "support/server_process.h"
#include "support/temp_dir.h"

namespace hearth {
namespace {

using std::chrono::hours;
using testing::PollUntil;
using testing::ReadFile;

const std::string kFaketime = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";

constexpr const char* kPolicy =
    R"({"level":"standard","version":1,"checks":{"vpn":{"required":true,"grace_days":3,)"
    R"("company_addresses":["10.0.0.1"]}}})";

std::string str(const json::Value& o, const char* key) {
  const json::Value* v = o.isObject() ? o.find(key) : nullptr;
  return v != nullptr && v->isString() ? v->asString() : "";
}

class ComplianceWorkflowTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::access(kFaketime.c_str(), R_OK) != 0) {
      GTEST_SKIP() << kFaketime << " is missing (Debian package faketime; scripts/install-deps)";
    }
    delivery_harness::RemoveStaleFaketimeObjects();
    server_ = std::make_unique<testing::TestServer>(dir_.path() + "/state");
    auto init = server_->init({"--policy", dir_.write("policy.json", kPolicy)});
    ASSERT_EQ(init.exit_code, 0) << init.err;
  }

  void TearDown() override {
    server_.reset();
    delivery_harness::RemoveStaleFaketimeObjects();
  }

  // (Re)starts the server with its clock `days` ahead, on the same addresses.
  void serveAt(int days) {
    std::string log = dir_.path() + "/server-day" + std::to_string(days) + ".log";
    ASSERT_TRUE(server_->serve(log, {.listen = devices_.empty() ? "127.0.0.1:0" : devices_,
                                     .admin_listen = admin_.empty() ? "127.0.0.1:0" : admin_,
                                     .prefix = {"/usr/bin/env", "LD_PRELOAD=" + kFaketime,
                                                "FAKETIME=+" + std::to_string(days) + "d",
                                                "FAKETIME_DONT_FAKE_MONOTONIC=1"}}))
        << ReadFile(log);
    devices_ = server_->address("devices");
    admin_ = server_->address("admin");
  }

  struct Device {
    std::string id, cert, key;
    int64_t sequence = 0;
  };

  Device enrol(const std::string& hostname) {
    auto d = testing::EnrolDevice("https://" + devices_, server_->caFile(), server_->enrollSecret(),
                                  hostname);
    EXPECT_TRUE(d.ok()) << d.error;
    std::string id;
    json::Value page = admin("/api/v1/devices");
    for (const auto& listed : page.find("devices")->asArray()) {
      if (str(listed, "hostname") == hostname) id = str(listed, "device_id");
    }
    EXPECT_FALSE(id.empty()) << json::write(page);
    return {id, d.cert_pem, d.key_pem};
  }

  // The device reports vpn `verdict` with curl; the HTTP status.
  int report(Device& d, const std::string& verdict) {
    std::string body =
        R"({"report_id":")" + *protocol::RandomUuid() + R"(","sequence":)" +
        std::to_string(++d.sequence) +
        R"(,"sent_at":"2026-12-01T10:00:05Z","agent_version":"0.1.0","machine_id":")" +
        protocol::Sha256Hex(d.id) + R"(","result":{"compliant":)" +
        (verdict == "pass" ? "true" : "false") +
        R"(,"level":"standard","policy_version":1,"evaluated_at":"2026-12-01T10:00:00Z",)"
        R"("checks":[{"id":"vpn","verdict":")" +
        verdict +
        R"(","required":true,"summary":"s","evidence":{},"remediation":"r","duration_ms":1}]}})";
    return testing::CurlAs("https://" + devices_ + "/api/v1/reports", server_->caFile(), d.cert,
                           d.key, &body)
        .status;
  }

  json::Value admin(const std::string& path, const std::vector<std::string>& extra = {}) {
    return testing::CurlAdminJson(admin_, server_->caFile(), server_->adminToken(), path, extra);
  }

  json::Value device(const Device& d) { return admin("/api/v1/devices/" + d.id); }

  std::vector<std::string> listed(const std::string& query) {
    std::vector<std::string> out;
    json::Value page = admin("/api/v1/devices?" + query);
    const json::Value* list = page.isObject() ? page.find("devices") : nullptr;
    if (list == nullptr) return out;
    for (const auto& d : list->asArray()) out.push_back(str(d, "device_id"));
    return out;
  }

  // The feed's events of `type` for device `id`.
  std::vector<json::Value> events(const std::string& type, const std::string& id) {
    std::vector<json::Value> out;
    json::Value feed = admin("/api/v1/feed?after=0&limit=1000");
    const json::Value* list = feed.isObject() ? feed.find("events") : nullptr;
    if (list == nullptr) return out;
    for (const auto& e : list->asArray()) {
      if (str(e, "type") == type && str(e, "device_id") == id) out.push_back(e);
    }
    return out;
  }

  const json::Value* vpn(const json::Value& device) {
    const json::Value* checks = device.isObject() ? device.find("checks") : nullptr;
    if (checks == nullptr) return nullptr;
    for (const auto& c : checks->asArray()) {
      if (str(c, "id") == "vpn") return &c;
    }
    return nullptr;
  }

  testing::TempDir dir_;
  std::unique_ptr<testing::TestServer> server_;
  std::string devices_, admin_;
};

TEST_F(ComplianceWorkflowTest, FailingSinceGraceDeadlineAndExemptionAcrossRestartsUnderFaketime) {
  serveAt(0);
  Device a = enrol("pc-grace");
  Device b = enrol("pc-week");
  ASSERT_EQ(report(a, "fail"), 202);
  ASSERT_EQ(report(b, "fail"), 202);
  json::Value day0 = device(a);
  EXPECT_EQ(str(day0, "status"), "at_risk");
  std::string since = str(day0, "failing_since");
  ASSERT_FALSE(since.empty());
  ASSERT_NE(vpn(day0), nullptr);
  EXPECT_EQ(str(*vpn(day0), "since"), since);
  auto fix_by = parseRfc3339(str(*vpn(day0), "fix_by"));
  ASSERT_TRUE(fix_by.ok()) << json::write(day0);
  EXPECT_EQ(*fix_by - *parseRfc3339(since), hours(72));
  std::string week_since = str(device(b), "failing_since");

  // Day 2: still within grace.
  serveAt(2);
  ASSERT_EQ(report(a, "fail"), 202);
  EXPECT_EQ(str(device(a), "status"), "at_risk");
  EXPECT_EQ(str(device(a), "failing_since"), since);
  auto at_risk = listed("status=at_risk");
  EXPECT_NE(std::find(at_risk.begin(), at_risk.end(), a.id), at_risk.end());
  EXPECT_TRUE(events("device_noncompliant", a.id).empty());

  // Day 4: past the deadline before any report, with its event (the maintenance round).
  serveAt(4);
  EXPECT_EQ(str(device(a), "status"), "noncompliant");
  auto noncompliant = listed("status=noncompliant");
  EXPECT_NE(std::find(noncompliant.begin(), noncompliant.end(), a.id), noncompliant.end());
  ASSERT_TRUE(PollUntil([&] { return !events("device_noncompliant", a.id).empty(); },
                        std::chrono::seconds(20), std::chrono::milliseconds(200)));
  auto event = events("device_noncompliant", a.id)[0];
  EXPECT_EQ(str(event, "hostname"), "pc-grace");
  EXPECT_EQ(str(event, "at"), formatRfc3339(*fix_by));
  ASSERT_EQ(report(a, "fail"), 202);
  EXPECT_EQ(events("device_noncompliant", a.id).size(), 1u);

  // An exemption until tomorrow: compliant today.
  std::string tomorrow = formatRfc3339(std::chrono::system_clock::now() + hours(24 * 5));
  json::Value made = admin("/api/v1/exemptions",
                           {"-X", "POST", "-H", "Content-Type: application/json", "--data-binary",
                            R"({"device_id":")" + a.id + R"(","check":"vpn","until":")" + tomorrow +
                                R"(","reason":"VPN client reinstalled tomorrow"})"});
  ASSERT_NE(made.find("exemption_id"), nullptr) << json::write(made);
  json::Value exempted = device(a);
  EXPECT_EQ(str(exempted, "status"), "compliant");
  EXPECT_EQ(str(*vpn(exempted), "exempt_until"), tomorrow);
  EXPECT_EQ(events("device_compliant", a.id).size(), 1u);

  // Day 6: the exemption lapsed on its own: exemption_expired, and non-compliant again.
  serveAt(6);
  ASSERT_TRUE(PollUntil([&] { return !events("exemption_expired", a.id).empty(); },
                        std::chrono::seconds(20), std::chrono::milliseconds(200)));
  EXPECT_EQ(str(events("exemption_expired", a.id)[0], "check"), "vpn");
  EXPECT_EQ(str(device(a), "status"), "noncompliant");

  // Day 8: the device failing since day 0 is in failing_for=7 with its failing_since.
  serveAt(8);
  ASSERT_EQ(report(b, "fail"), 202);
  json::Value week = admin("/api/v1/devices?failing_for=7&sort=failing_since");
  bool found = false;
  for (const auto& d : week.find("devices")->asArray()) {
    if (str(d, "device_id") != b.id) continue;
    found = true;
    EXPECT_EQ(str(d, "failing_since"), week_since);
  }
  EXPECT_TRUE(found) << json::write(week);
  auto nine = listed("failing_for=9");
  EXPECT_EQ(std::find(nine.begin(), nine.end(), b.id), nine.end());
  // The exempted device failed again from day 6 only.
  auto seven = listed("failing_for=7");
  EXPECT_EQ(std::find(seven.begin(), seven.end(), a.id), seven.end());
}

// The standing review, finding 5: a level change through the API left the device's standing as
// it was until its next report; it is decided at once (and a newly required check gets its
// grace from the move: finding 1).
TEST_F(ComplianceWorkflowTest, ALevelChangeThroughTheApiDecidesTheDeviceAtOnce) {
  ASSERT_EQ(server_
                ->cli({"policy", "set", "--file",
                       dir_.write("lockdown.json",
                                  R"({"level":"lockdown","version":1,"checks":{"vpn":)"
                                  R"({"required":true,"company_addresses":["10.0.0.1"]}}})")})
                .exit_code,
            0);
  serveAt(0);
  Device a = enrol("pc-level");
  ASSERT_EQ(report(a, "fail"), 202);
  EXPECT_EQ(str(device(a), "status"), "at_risk");
  json::Value moved = admin("/api/v1/devices/" + a.id + "/level",
                            {"-X", "POST", "-H", "Content-Type: application/json", "--data-binary",
                             R"({"level":"lockdown"})"});
  EXPECT_EQ(str(moved, "device_id"), a.id) << json::write(moved);
  // No report since: lockdown gives vpn no grace, so the device is noncompliant now, its event
  // with the move.
  json::Value now = device(a);
  EXPECT_EQ(str(now, "level"), "lockdown");
  EXPECT_EQ(str(now, "status"), "noncompliant") << json::write(now);
  EXPECT_EQ(events("device_noncompliant", a.id).size(), 1u);
  // Back to standard (vpn with 3 days' grace, required all along): its grace counts from the
  // first failure again, not from the move, so it is at_risk with the first deadline.
  admin("/api/v1/devices/" + a.id + "/level", {"-X", "POST", "-H", "Content-Type: application/json",
                                               "--data-binary", R"({"level":"standard"})"});
  json::Value back = device(a);
  EXPECT_EQ(str(back, "status"), "at_risk") << json::write(back);
  auto fix_by = parseRfc3339(str(*vpn(back), "fix_by"));
  ASSERT_TRUE(fix_by.ok()) << json::write(back);
  EXPECT_EQ(*fix_by - *parseRfc3339(str(back, "failing_since")), hours(72));
}

}  // namespace
}  // namespace hearth
