// The test-only fifth check (test_marker.h) end to end: it is known to policies, notifications and
// the privacy filter of this process (main() added it, as the test-only agent and server do), and
// the test-only agent and server carry it through `policy set`, `check --json`, the daemon's
// report and the server's stored result. Nothing outside this folder names it.
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "hearth/agent/notify.h"
#include "hearth/agent/privacy.h"
#include "hearth/check_registry.h"
#include "hearth/files.h"
#include "hearth/json.h"
#include "hearth/policy.h"
#include "support/curl_cli.h"
#include "support/programs.h"
#include "support/server_process.h"
#include "support/temp_dir.h"
#include "test_marker.h"

namespace hearth::testing {
namespace {

const std::string kTestAgent = HEARTH_TEST_MARKER_AGENT;
const std::string kTestServer = HEARTH_TEST_MARKER_SERVER;
const std::string kRealServer = hearth::testing::ServerProgram();

std::string policyWithMarker(int version, const std::string& marker_file) {
  return R"({"level":"standard","version":)" + std::to_string(version) +
         R"(,"checks":{"disk_encryption":{"required":false},)"
         R"("test_marker":{"required":true,"marker_file":")" +
         marker_file + R"("}}})";
}

// The entry of `id` in a result's "checks", or null.
const json::Value* checkIn(const json::Value& result, const std::string& id) {
  const json::Value* checks = result.find("checks");
  if (checks == nullptr || !checks->isArray()) return nullptr;
  for (const auto& c : checks->asArray()) {
    const json::Value* cid = c.find("id");
    if (cid != nullptr && cid->isString() && cid->asString() == id) return &c;
  }
  return nullptr;
}

std::string verdictOf(const json::Value& result, const std::string& id) {
  const json::Value* c = checkIn(result, id);
  const json::Value* v = c != nullptr ? c->find("verdict") : nullptr;
  return v != nullptr && v->isString() ? v->asString() : "(absent)";
}

// --- in this process --------------------------------------------------------------------------

TEST(FifthCheckTest, PoliciesNameItAfterTheBuiltinChecks) {
  auto p = ParsePolicy(policyWithMarker(1, "/run/marker"), "p.json");
  ASSERT_TRUE(p.ok()) << p.status().toString();
  ASSERT_EQ(p->checks.size(), 2u);
  EXPECT_EQ(p->checks[1].id, kTestMarkerCheckId);
  EXPECT_TRUE(p->required(kTestMarkerCheckId));
  const auto* s = p->settings<TestMarkerSettings>(kTestMarkerCheckId);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->marker_file, "/run/marker");

  auto typo = ParsePolicy(R"({"level":"l","version":1,"checks":{"test_marke":{}}})", "p.json");
  EXPECT_EQ(typo.status().message(),
            "p.json: checks.test_marke: unknown key "
            "(expected one of disk_encryption, vpn, "
            "os_patches, screen_lock, test_marker)");
  auto key =
      ParsePolicy(R"({"level":"l","version":1,"checks":{"test_marker":{"file":"/x"}}})", "p.json");
  EXPECT_EQ(key.status().message(),
            "p.json: checks.test_marker.file: unknown key (expected one of required, "
            "grace_days, help_url, marker_file)");
  auto relative = ParsePolicy(
      R"({"level":"l","version":1,"checks":{"test_marker":{"marker_file":"x"}}})", "p.json");
  EXPECT_EQ(relative.status().message(),
            "p.json: checks.test_marker.marker_file: expected an absolute path");
}

TEST(FifthCheckTest, NotificationsUseItsTitleAndThePrivacyFilterItsHook) {
  EXPECT_EQ(agent::NotificationTitle(kTestMarkerCheckId), "Hearth: The test marker is missing");
  auto result = json::parse(R"({"checks":[{"id":"test_marker","verdict":"fail",
    "evidence":{"marker_file":"/home/gina/marker","local_note":"seen only on this PC"}}]})");
  ASSERT_TRUE(result.ok());
  json::Value sent = agent::ApplyPrivacyFilter(*result, {"gina"});
  const json::Value& evidence = *checkIn(sent, kTestMarkerCheckId)->find("evidence");
  EXPECT_EQ(evidence.find("local_note"), nullptr);
  EXPECT_EQ(evidence.find("marker_file")->asString(), "/home/person 1/marker");
}

TEST(FifthCheckTest, EntriesAreAddedBeforeTheRegistryIsFirstRead) {
  ASSERT_NE(Checks().find(kTestMarkerCheckId), nullptr);
  CheckEntry late = TestMarkerCheckEntry(kAgentPart);
  late.spec.id = "late_check";
  Status s = AddCheck(late);
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(Checks().find("late_check"), nullptr);
}

// --- the test-only agent and server -----------------------------------------------------------

class FifthCheckEndToEndTest : public ::testing::Test {
 protected:
  void SetUp() override {
    state_ = dir_.path() + "/server";
    agent_state_ = dir_.path() + "/agent";
    config_ = dir_.write("agent.conf", "proxy = none\n");
    marker_ = dir_.path() + "/marker";
    policy_ = dir_.write("policy.json", policyWithMarker(2, marker_));
  }

  // `check` takes no --config; the other commands do.
  ProcessOutput agent(std::vector<std::string> args) {
    bool check = args.front() == "check";
    args.insert(args.begin(), kTestAgent);
    args.insert(args.end(), {"--state-dir", agent_state_});
    if (!check) args.insert(args.end(), {"--config", config_});
    return RunProcess(args);
  }

  json::Value adminGet(const std::string& path) {
    auto token = ReadFileBounded(state_ + "/admin-token", 4096);
    EXPECT_TRUE(token.ok());
    std::string bearer = token.ok() ? token->substr(0, token->find('\n')) : "";
    return testing::CurlAdminJson(admin_, state_ + "/ca.pem", bearer, path);
  }

  TempDir dir_;
  std::string state_, agent_state_, config_, marker_, policy_, admin_;
};

TEST_F(FifthCheckEndToEndTest, ATestOnlyCheckGoesFromPolicyToTheServersStoredResult) {
  TestServer server(state_, "", kTestServer);
  auto init = server.init();
  ASSERT_EQ(init.exit_code, 0) << init.err;
  // The real server does not know the check: the policy is refused, naming what it knows.
  auto refused =
      RunProcess({kRealServer, "policy", "set", "--state-dir", state_, "--file", policy_});
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_NE(refused.err.find("checks.test_marker: unknown key (expected one of disk_encryption, "
                             "vpn, os_patches, screen_lock)"),
            std::string::npos)
      << refused.err;
  auto set = RunProcess({kTestServer, "policy", "set", "--state-dir", state_, "--file", policy_});
  ASSERT_EQ(set.exit_code, 0) << set.err;

  ASSERT_TRUE(server.serve(dir_.path() + "/server.log"))
      << ReadFileBounded(dir_.path() + "/server.log", 1 << 20).valueOr("");
  admin_ = server.address("admin");
  auto enrolled =
      agent({"enroll", "--server", "https://" + server.address("devices"), "--secret-file",
             state_ + "/enroll-secret", "--ca-file", state_ + "/ca.pem"});
  ASSERT_EQ(enrolled.exit_code, 0) << enrolled.err;

  // check --json: the fifth check is judged after the built-in ones, with its whole evidence.
  dir_.write("marker", "here\n");
  auto check = agent({"check", "--json", "--policy", policy_});
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;  // compliant: the marker is there
  auto local = json::parse(check.out);
  ASSERT_TRUE(local.ok()) << check.out;
  EXPECT_EQ(verdictOf(*local, "test_marker"), "pass");
  EXPECT_EQ(local->find("checks")->asArray().back().find("id")->asString(), "test_marker");
  EXPECT_NE(checkIn(*local, "test_marker")->find("evidence")->find("local_note"), nullptr);

  // Under --root the marker is looked for inside the tree.
  dir_.write("tree/marker", "");
  auto rooted_policy = dir_.write("rooted.json", policyWithMarker(1, "/marker"));
  auto rooted =
      agent({"check", "--json", "--policy", rooted_policy, "--root", dir_.path() + "/tree"});
  auto rooted_result = json::parse(rooted.out);
  ASSERT_TRUE(rooted_result.ok()) << rooted.out << rooted.err;
  EXPECT_EQ(verdictOf(*rooted_result, "test_marker"), "pass");

  // run --once: the daemon's cycle fetches the signed policy, runs the check, reports it.
  auto once = agent({"run", "--once"});
  ASSERT_EQ(once.exit_code, 0) << once.err;
  EXPECT_NE(once.out.find("1 delivered"), std::string::npos) << once.out << once.err;
  auto shown = agent({"show-report"});
  auto sent = json::parse(shown.out);
  ASSERT_TRUE(sent.ok()) << shown.out << shown.err;
  const json::Value* sent_check = checkIn(*sent->find("result"), "test_marker");
  ASSERT_NE(sent_check, nullptr) << shown.out;
  EXPECT_EQ(sent_check->find("verdict")->asString(), "pass");
  EXPECT_EQ(sent_check->find("evidence")->find("local_note"), nullptr);  // its privacy filter
  EXPECT_EQ(sent->find("result")->find("policy_version")->asInt(), 2);

  // The server stored it: in the device list and in the full latest result.
  auto devices = adminGet("/api/v1/devices");
  ASSERT_EQ(devices.find("devices")->size(), 1u);
  const json::Value& device = devices.find("devices")->asArray()[0];
  EXPECT_EQ(device.find("status")->asString(), "compliant");
  EXPECT_EQ(verdictOf(device, "test_marker"), "pass");
  std::string id = device.find("device_id")->asString();
  json::Value detail = adminGet("/api/v1/devices/" + id);
  EXPECT_NE(json::write(detail).find("\"marker_file\":\"" + marker_), std::string::npos)
      << json::write(detail);
  EXPECT_EQ(json::write(detail).find("local_note"), std::string::npos);

  // The marker goes: the next report says so, and the device is no longer compliant.
  ASSERT_EQ(::unlink(marker_.c_str()), 0);
  auto again = agent({"run", "--once"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  json::Value after = adminGet("/api/v1/devices/" + id);
  EXPECT_EQ(after.find("status")->asString(), "noncompliant") << json::write(after);
  EXPECT_EQ(verdictOf(after, "test_marker"), "fail");
  server.stop();
}

}  // namespace
}  // namespace hearth::testing
