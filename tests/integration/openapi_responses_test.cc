// Keeps server-api/openapi.json complete (issue 12, defect 10): real requests to every operation
// of the document on a real hearth-server, its success and its error cases, and each answer's
// status must be documented for that operation and its JSON body must match the documented
// schema (tests/support/json_schema.h). A route that answers a status the document does not list
// fails this test (before: 401 on device detail and history, 400 on every list's bad `limit`,
// `status` or `after`, 404 on a level without policy, 413 and 408 on owner were not listed).
// Every operation must have an operationId and at least one success and one error case here.
#include <chrono>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "hearth/json.h"
#include "hearth/protocol/crypto.h"
#include "hearth/protocol/wire.h"
#include "hearth/time.h"
#include "support/curl_cli.h"
#include "support/files.h"
#include "support/https_client.h"
#include "support/json_schema.h"
#include "support/server_process.h"
#include "support/temp_dir.h"

namespace hearth {
namespace {

using testing::HttpsClient;
using testing::HttpsReply;

std::string reportBody(const std::string& id, int64_t sequence) {
  return R"({"report_id":")" + id + R"(","sequence":)" + std::to_string(sequence) +
         R"(,"sent_at":"2026-11-26T10:00:05Z","agent_version":"0.1.0",)"
         R"("machine_id":"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",)"
         R"("result":{"compliant":true,"level":"standard","policy_version":1,)"
         R"("evaluated_at":"2026-11-26T10:00:00Z","checks":[{"id":"vpn","verdict":"pass",)"
         R"("required":true,"summary":"ok"}]}})";
}

// kSession: the IT console's session cookie (signed in with the admin token at POST /login).
enum class As { kNobody, kDevice, kAdmin, kReader, kSession };

struct Case {
  std::string operation;  // operationId
  std::string method;     // "get" or "post"
  std::string path;       // with the query
  As as;
  std::string body = "";  // a POST's JSON body
};

class OpenApiResponsesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(server_.init().exit_code, 0);
    ASSERT_TRUE(
        server_.serve(dir_.path() + "/server.log",
                      {.extra = {"--enroll-burst", "1000", "--enroll-address-burst", "1000"}}))
        << testing::ReadFile(dir_.path() + "/server.log");
    auto doc =
        json::parse(testing::ReadFile(std::string(HEARTH_SOURCE_DIR) + "/server-api/openapi.json"),
                    {.max_depth = 64});
    ASSERT_TRUE(doc.ok()) << doc.status().toString();
    doc_ = std::move(doc).value();
    devices_ = "https://" + server_.address("devices");
    admin_ = "https://" + server_.address("admin");
    auto reader = server_.cli({"token", "create", "--name", "reader", "--scope", "read"});
    ASSERT_EQ(reader.exit_code, 0) << reader.err;
    reader_token_ = testing::Trimmed(reader.out);
    device_ = enrol(server_.enrollSecret(), "pc-openapi");
    auto login = testing::Curl(admin_ + "/login",
                               {.ca_file = server_.caFile(),
                                .extra = {"--data-urlencode", "token=" + server_.adminToken()}});
    ASSERT_EQ(login.status, 303) << login.body;
    size_t at = login.headers.find("hearth_session=");
    ASSERT_NE(at, std::string::npos) << login.headers;
    session_ = login.headers.substr(at, 15 + 64);
  }

  struct Enrolled {
    std::string id, cert, key;
  };

  Enrolled enrol(const std::string& secret, const std::string& host) {
    auto d = testing::EnrolDevice(devices_, server_.caFile(), secret, host);
    EXPECT_TRUE(d.ok()) << d.error;
    auto info = protocol::ParseCertificate(d.cert_pem);
    EXPECT_TRUE(info.ok());
    return {info.ok() ? info->common_name : "", dir_.write(host + ".pem", d.cert_pem),
            dir_.write(host + ".key", d.key_pem)};
  }

  HttpsReply send(const Case& c) {
    bool device_listener =
        c.path.starts_with("/api/v1/enroll") || c.path.starts_with("/api/v1/policy") ||
        c.path.starts_with("/api/v1/reports") || c.path.starts_with("/api/v1/renew");
    testing::HttpsOptions options{.ca_file = server_.caFile()};
    if (c.as == As::kDevice) {
      options.cert_file = device_.cert;
      options.key_file = device_.key;
    }
    HttpsClient client(options);
    std::vector<std::string> headers;
    if (c.as == As::kAdmin) headers.push_back("Authorization: Bearer " + server_.adminToken());
    if (c.as == As::kReader) headers.push_back("Authorization: Bearer " + reader_token_);
    if (c.as == As::kSession) headers.push_back("Cookie: " + session_);
    std::string url = (device_listener ? devices_ : admin_) + c.path;
    if (c.method == "post") return client.postJson(url, c.body, headers);
    return c.method == "delete" ? client.del(url, headers) : client.get(url, headers);
  }

  // The operation's path item and method in the document for `operation_id`.
  const json::Value* operation(const std::string& operation_id) const {
    for (const auto& [path, item] : doc_.find("paths")->asObject()) {
      for (const auto& [method, op] : item.asObject()) {
        const json::Value* id = op.find("operationId");
        if (id != nullptr && id->asString() == operation_id) return &op;
      }
    }
    return nullptr;
  }

  testing::TempDir dir_;
  testing::TestServer server_{dir_.path() + "/state"};
  json::Value doc_;
  std::string devices_, admin_, reader_token_;
  std::string session_;  // "hearth_session=ID"
  Enrolled device_;
};

// A second version of the standard level's policy: screen lock only.
constexpr const char* kPolicyV2 =
    R"({"level":"standard","version":2,"checks":{"screen_lock":{"required":true}}})";

TEST_F(OpenApiResponsesTest, Defect10EveryRouteAnswersOnlyDocumentedStatusesAndSchemas) {
  // Two devices waiting for approval, and one to retire (retiring changes what others see).
  auto approval = server_.cli({"secret", "create", "--approval"});
  ASSERT_EQ(approval.exit_code, 0) << approval.err;
  Enrolled to_approve = enrol(testing::Trimmed(approval.out), "pc-wait-1");
  Enrolled to_reject = enrol(testing::Trimmed(approval.out), "pc-wait-2");
  Enrolled to_retire = enrol(server_.enrollSecret(), "pc-retire");
  const std::string dev = "/api/v1/devices/" + device_.id;
  auto key = protocol::Key::generateP256();
  protocol::RenewRequest renew;
  renew.csr = *protocol::MakeCsr(*key, device_.id);
  auto enroll_body = [&](const std::string& secret) {
    auto k = protocol::Key::generateP256();
    protocol::EnrollRequest r;
    r.enroll_secret = secret;
    r.csr = *protocol::MakeCsr(*k, "x");
    r.hostname = "pc-openapi-2";
    return json::write(r.toJson());
  };

  // Two webhooks (to a closed loopback port: deliveries fail, which the log shows): one to read
  // and test, one to delete last.
  for (int i = 0; i < 2; ++i) {
    auto r = server_.cli({"webhook", "add", "--url", "http://127.0.0.1:9/hook", "--events", "all"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  const std::string hook1 = "/api/v1/webhooks/1", hook2 = "/api/v1/webhooks/2";
  const std::string new_hook =
      R"({"url":"http://127.0.0.1:9/new","secret":"whsec_0123456789abcdef0123456789abcdef",)"
      R"("events":["check_failed"],"format":"slack"})";

  // The period report of the last day, up to a second ago (a period must have ended).
  auto now = std::chrono::system_clock::now();
  const std::string report =
      "/api/v1/compliance-report?from=" + formatRfc3339(now - std::chrono::hours(24)) +
      "&to=" + formatRfc3339(now - std::chrono::seconds(1));

  // An exemption of vpn for `device` until two days from now.
  auto exemption = [](const std::string& device) {
    return R"({"device_id":")" + device + R"(","check":"vpn","until":")" +
           formatRfc3339(std::chrono::system_clock::now() + std::chrono::hours(48)) +
           R"(","reason":"travelling"})";
  };

  const std::vector<Case> cases = {
      {"enrollDevice", "post", "/api/v1/enroll", As::kNobody, enroll_body(server_.enrollSecret())},
      {"enrollDevice", "post", "/api/v1/enroll", As::kNobody, "{\"csr\": 1}"},
      {"enrollDevice", "post", "/api/v1/enroll", As::kNobody, enroll_body("not-a-secret")},
      {"getPolicy", "get", "/api/v1/policy", As::kDevice},
      {"getPolicy", "get", "/api/v1/policy", As::kNobody},
      {"postReport", "post", "/api/v1/reports", As::kDevice,
       reportBody("00000000-0000-4000-8000-0000000000a1", 1)},
      {"postReport", "post", "/api/v1/reports", As::kDevice,
       reportBody("00000000-0000-4000-8000-0000000000a1", 1)},
      {"postReport", "post", "/api/v1/reports", As::kDevice,
       reportBody("00000000-0000-4000-8000-0000000000a2", 1)},
      {"postReport", "post", "/api/v1/reports", As::kDevice, "[1, 2"},
      {"postReport", "post", "/api/v1/reports", As::kNobody,
       reportBody("00000000-0000-4000-8000-0000000000a3", 2)},
      {"renewCertificate", "post", "/api/v1/renew", As::kDevice, json::write(renew.toJson())},
      {"renewCertificate", "post", "/api/v1/renew", As::kDevice, "{}"},
      {"renewCertificate", "post", "/api/v1/renew", As::kNobody, json::write(renew.toJson())},
      {"listDevices", "get", "/api/v1/devices", As::kReader},
      {"listDevices", "get", "/api/v1/devices?status=pending&limit=1", As::kAdmin},
      {"listDevices", "get", "/api/v1/devices", As::kNobody},
      {"listDevices", "get", "/api/v1/devices?limit=0", As::kAdmin},
      {"listDevices", "get", "/api/v1/devices?limit=x", As::kAdmin},
      {"listDevices", "get", "/api/v1/devices?status=green", As::kAdmin},
      {"exportDevicesCsv", "get", "/api/v1/devices.csv?status=compliant", As::kReader},
      {"exportDevicesCsv", "get", "/api/v1/devices.csv", As::kNobody},
      {"exportDevicesCsv", "get", "/api/v1/devices.csv?limit=5000", As::kAdmin},
      {"exportDevicesCsv", "get", "/api/v1/devices.csv?status=x", As::kAdmin},
      {"getDevice", "get", dev, As::kReader},
      {"getDevice", "get", dev, As::kNobody},
      {"getDevice", "get", "/api/v1/devices/no-such-device", As::kAdmin},
      {"getDeviceHistory", "get", dev + "/history", As::kReader},
      {"getDeviceHistory", "get", dev + "/history", As::kNobody},
      {"getDeviceHistory", "get", dev + "/history?limit=1001", As::kAdmin},
      {"getDeviceHistory", "get", "/api/v1/devices/no-such-device/history", As::kAdmin},
      {"setDeviceOwner", "post", dev + "/owner", As::kAdmin, R"({"owner":"erin@example.com"})"},
      {"setDeviceOwner", "post", dev + "/owner", As::kAdmin, R"({"owner":null})"},
      {"setDeviceOwner", "post", dev + "/owner", As::kAdmin, R"({"owner":"a\u0007b"})"},
      {"setDeviceOwner", "post", dev + "/owner", As::kNobody, R"({"owner":"x"})"},
      {"setDeviceOwner", "post", dev + "/owner", As::kReader, R"({"owner":"x"})"},
      {"setDeviceOwner", "post", "/api/v1/devices/no-such-device/owner", As::kAdmin,
       R"({"owner":"x"})"},
      {"approveDevice", "post", "/api/v1/devices/" + to_approve.id + "/approve", As::kAdmin},
      {"approveDevice", "post", "/api/v1/devices/" + to_approve.id + "/approve", As::kNobody},
      {"approveDevice", "post", "/api/v1/devices/" + to_approve.id + "/approve", As::kReader},
      {"approveDevice", "post", "/api/v1/devices/no-such-device/approve", As::kAdmin},
      {"rejectDevice", "post", "/api/v1/devices/" + to_reject.id + "/reject", As::kAdmin},
      {"rejectDevice", "post", "/api/v1/devices/" + to_reject.id + "/reject", As::kNobody},
      {"rejectDevice", "post", "/api/v1/devices/" + to_reject.id + "/reject", As::kReader},
      {"rejectDevice", "post", "/api/v1/devices/no-such-device/reject", As::kAdmin},
      {"retireDevice", "post", "/api/v1/devices/" + to_retire.id + "/retire", As::kAdmin},
      {"retireDevice", "post", "/api/v1/devices/" + to_retire.id + "/retire", As::kNobody},
      {"retireDevice", "post", "/api/v1/devices/" + to_retire.id + "/retire", As::kReader},
      {"retireDevice", "post", "/api/v1/devices/no-such-device/retire", As::kAdmin},
      {"getSession", "get", "/api/v1/session", As::kSession},
      {"getSession", "get", "/api/v1/session", As::kNobody},
      {"getSession", "get", "/api/v1/session", As::kAdmin},
      {"listAudit", "get", "/api/v1/audit?limit=2", As::kAdmin},
      {"listAudit", "get", "/api/v1/audit", As::kSession},
      {"listAudit", "get", "/api/v1/audit", As::kNobody},
      {"listAudit", "get", "/api/v1/audit", As::kReader},
      {"listAudit", "get", "/api/v1/audit?after=-1", As::kAdmin},
      {"listAudit", "get", "/api/v1/audit?after=x", As::kAdmin},
      {"getComplianceReport", "get", report + "&format=json", As::kReader},
      {"getComplianceReport", "get", "/api/v1/compliance-report?from=2026-01-01", As::kAdmin},
      {"getComplianceReport", "get", report, As::kNobody},
      {"getComplianceReport", "get", report + "&format=xml", As::kAdmin},
      {"getComplianceReport", "get", "/api/v1/compliance-report?from=2026-01-01&to=2099-01-01",
       As::kReader},
      {"getFeed", "get", "/api/v1/feed", As::kReader},
      {"getFeed", "get", "/api/v1/feed", As::kNobody},
      {"getFeed", "get", "/api/v1/feed?after=abc", As::kAdmin},
      {"getFeed", "get", "/api/v1/feed?limit=0", As::kAdmin},
      {"getFeed", "get", "/api/v1/feed?newest=5", As::kSession},
      {"getFeed", "get", "/api/v1/feed?newest=0", As::kAdmin},
      {"getFeed", "get", "/api/v1/feed?newest=5&after=1", As::kAdmin},
      {"listAudit", "get", "/api/v1/audit?newest=3", As::kAdmin},
      {"listAudit", "get", "/api/v1/audit?newest=x", As::kAdmin},
      {"getOverview", "get", "/api/v1/overview", As::kReader},
      {"getOverview", "get", "/api/v1/overview?days=7", As::kSession},
      {"getOverview", "get", "/api/v1/overview", As::kNobody},
      {"getOverview", "get", "/api/v1/overview?days=0", As::kAdmin},
      {"getOverview", "get", "/api/v1/overview?weeks=2", As::kAdmin},
      {"listPolicies", "get", "/api/v1/policies", As::kReader},
      {"listPolicies", "get", "/api/v1/policies", As::kNobody},
      {"previewPolicy", "post", "/api/v1/policies/preview", As::kAdmin, kPolicyV2},
      {"previewPolicy", "post", "/api/v1/policies/preview", As::kAdmin,
       R"({"level":"standard","version":2,"checks":{"vpn":{"required":"yes"}}})"},
      {"previewPolicy", "post", "/api/v1/policies/preview", As::kReader, kPolicyV2},
      {"previewPolicy", "post", "/api/v1/policies/preview", As::kNobody, kPolicyV2},
      {"setPolicy", "post", "/api/v1/policies", As::kAdmin, kPolicyV2},
      {"setPolicy", "post", "/api/v1/policies", As::kAdmin, kPolicyV2},
      {"setPolicy", "post", "/api/v1/policies", As::kAdmin, "[1]"},
      {"setPolicy", "post", "/api/v1/policies", As::kReader, kPolicyV2},
      {"setPolicy", "post", "/api/v1/policies", As::kNobody, kPolicyV2},
      {"getDeviceEvents", "get", dev + "/events", As::kReader},
      {"getDeviceEvents", "get", dev + "/events?limit=1&before=1000000", As::kSession},
      {"getDeviceEvents", "get", dev + "/events", As::kNobody},
      {"getDeviceEvents", "get", dev + "/events?before=x", As::kAdmin},
      {"getDeviceEvents", "get", "/api/v1/devices/no-such-device/events", As::kAdmin},
      {"listDevices", "get", "/api/v1/devices?q=ERIN", As::kReader},
      // Secret 3 (init made 1, the approval secret above 2): revoked below.
      {"createSecret", "post", "/api/v1/secrets", As::kAdmin,
       R"({"level":"standard","uses":1,"owner":"erin@example.com","expires_days":7})"},
      {"createSecret", "post", "/api/v1/secrets", As::kSession, R"({"approval":true})"},
      {"createSecret", "post", "/api/v1/secrets", As::kAdmin, R"({"uses":0})"},
      {"createSecret", "post", "/api/v1/secrets", As::kAdmin, R"({"level":"no-policy"})"},
      {"createSecret", "post", "/api/v1/secrets", As::kReader, "{}"},
      {"createSecret", "post", "/api/v1/secrets", As::kNobody, "{}"},
      {"listSecrets", "get", "/api/v1/secrets", As::kReader},
      {"listSecrets", "get", "/api/v1/secrets", As::kNobody},
      {"revokeSecret", "delete", "/api/v1/secrets/3", As::kReader},
      {"revokeSecret", "delete", "/api/v1/secrets/3", As::kAdmin},
      {"revokeSecret", "delete", "/api/v1/secrets/3", As::kAdmin},
      {"revokeSecret", "delete", "/api/v1/secrets/3", As::kNobody},
      {"createWebhook", "post", "/api/v1/webhooks", As::kAdmin, new_hook},
      {"createWebhook", "post", "/api/v1/webhooks", As::kAdmin,
       R"({"url":"http://192.0.2.1/x","secret":"whsec_0123456789abcdef","events":["stale"]})"},
      {"createWebhook", "post", "/api/v1/webhooks", As::kAdmin, R"({"url":1})"},
      {"createWebhook", "post", "/api/v1/webhooks", As::kNobody, new_hook},
      {"createWebhook", "post", "/api/v1/webhooks", As::kReader, new_hook},
      {"listWebhooks", "get", "/api/v1/webhooks", As::kReader},
      {"listWebhooks", "get", "/api/v1/webhooks", As::kNobody},
      {"getWebhook", "get", hook1, As::kReader},
      {"getWebhook", "get", hook1, As::kNobody},
      {"getWebhook", "get", "/api/v1/webhooks/999", As::kAdmin},
      {"testWebhook", "post", hook1 + "/test", As::kAdmin},
      {"testWebhook", "post", hook1 + "/test", As::kNobody},
      {"testWebhook", "post", hook1 + "/test", As::kReader},
      {"testWebhook", "post", "/api/v1/webhooks/999/test", As::kAdmin},
      {"listWebhookDeliveries", "get", hook1 + "/deliveries", As::kReader},
      {"listWebhookDeliveries", "get", hook1 + "/deliveries?before=x", As::kAdmin},
      {"listWebhookDeliveries", "get", hook1 + "/deliveries", As::kNobody},
      {"listWebhookDeliveries", "get", "/api/v1/webhooks/999/deliveries", As::kAdmin},
      {"deleteWebhook", "delete", hook2, As::kNobody},
      {"deleteWebhook", "delete", hook2, As::kReader},
      {"deleteWebhook", "delete", hook2, As::kAdmin},
      {"deleteWebhook", "delete", hook2, As::kAdmin},
      {"listDevices", "get",
       "/api/v1/devices?status=at_risk&failing_for=1&sort=failing_since&check=vpn&owner=erin",
       As::kReader},
      {"listDevices", "get", "/api/v1/devices?status=retired", As::kAdmin},
      {"listDevices", "get", "/api/v1/devices?failing_for=x", As::kAdmin},
      {"listDevices", "get", "/api/v1/devices?sort=hostname", As::kAdmin},
      {"setDeviceLevel", "post", dev + "/level", As::kAdmin, R"({"level":"standard"})"},
      {"setDeviceLevel", "post", dev + "/level", As::kAdmin, R"({"level":"no-policy"})"},
      {"setDeviceLevel", "post", dev + "/level", As::kAdmin, R"({"level":1})"},
      {"setDeviceLevel", "post", dev + "/level", As::kNobody, R"({"level":"standard"})"},
      {"setDeviceLevel", "post", dev + "/level", As::kReader, R"({"level":"standard"})"},
      {"setDeviceLevel", "post", "/api/v1/devices/no-such-device/level", As::kAdmin,
       R"({"level":"standard"})"},
      {"createExemption", "post", "/api/v1/exemptions", As::kAdmin, exemption(device_.id)},
      {"createExemption", "post", "/api/v1/exemptions", As::kAdmin, R"({"check":"vpn"})"},
      {"createExemption", "post", "/api/v1/exemptions", As::kAdmin, exemption("no-such-device")},
      {"createExemption", "post", "/api/v1/exemptions", As::kNobody, exemption(device_.id)},
      {"createExemption", "post", "/api/v1/exemptions", As::kReader, exemption(device_.id)},
      {"listExemptions", "get", "/api/v1/exemptions", As::kReader},
      {"listExemptions", "get", "/api/v1/exemptions?active=true", As::kAdmin},
      {"listExemptions", "get", "/api/v1/exemptions", As::kNobody},
      {"getExemption", "get", "/api/v1/exemptions/1", As::kReader},
      {"getExemption", "get", "/api/v1/exemptions/999", As::kAdmin},
      {"getExemption", "get", "/api/v1/exemptions/1", As::kNobody},
      {"revokeExemption", "delete", "/api/v1/exemptions/1", As::kNobody},
      {"revokeExemption", "delete", "/api/v1/exemptions/1", As::kReader},
      {"revokeExemption", "delete", "/api/v1/exemptions/1", As::kAdmin},
      {"revokeExemption", "delete", "/api/v1/exemptions/1", As::kAdmin},
      {"getHealth", "get", "/healthz", As::kNobody},
      {"getMetrics", "get", "/metrics", As::kNobody},
  };

  std::map<std::string, std::set<int>> seen;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.operation + " " + c.method + " " + c.path);
    const json::Value* op = operation(c.operation);
    ASSERT_NE(op, nullptr) << "no operationId " << c.operation << " in openapi.json";
    HttpsReply reply = send(c);
    ASSERT_TRUE(reply.completed()) << reply.error();
    seen[c.operation].insert(static_cast<int>(reply.status));
    const json::Value* documented = op->find("responses")->find(std::to_string(reply.status));
    if (documented != nullptr && documented->find("$ref") != nullptr) {
      documented = testing::ResolveRef(documented->find("$ref")->asString(), doc_);
    }
    ASSERT_NE(documented, nullptr)
        << "answered " << reply.status << ", which openapi.json does not list: " << reply.body;
    const json::Value* content = documented->find("content");
    if (content == nullptr || content->find("application/json") == nullptr) continue;
    auto body = json::parse(reply.body);
    ASSERT_TRUE(body.ok()) << "documented as JSON: " << reply.body;
    for (const std::string& e :
         testing::ValidateJson(*body, *content->find("application/json")->find("schema"), doc_)) {
      ADD_FAILURE() << reply.status << " " << e << "\n  in " << reply.body;
    }
  }

  // Every operation has an operationId and was seen succeeding and (except the two that need no
  // credentials and take no input) failing; `required` always comes with `properties`.
  for (const auto& [path, item] : doc_.find("paths")->asObject()) {
    for (const auto& [method, op] : item.asObject()) {
      const json::Value* id = op.find("operationId");
      ASSERT_NE(id, nullptr) << method << " " << path << " has no operationId";
      const std::set<int>& statuses = seen[id->asString()];
      EXPECT_TRUE(!statuses.empty() && *statuses.begin() < 300) << id->asString() << ": no 2xx";
      if (path != "/healthz" && path != "/metrics") {
        EXPECT_TRUE(!statuses.empty() && *statuses.rbegin() >= 400)
            << id->asString() << ": no error";
      }
    }
  }
  std::vector<std::string> missing;
  std::function<void(const json::Value&, const std::string&)> walk = [&](const json::Value& v,
                                                                         const std::string& at) {
    if (v.isObject()) {
      if (v.find("required") != nullptr && v.find("required")->isArray() &&
          v.find("properties") == nullptr && v.find("in") == nullptr) {
        missing.push_back(at);
      }
      for (const auto& [k, child] : v.asObject()) walk(child, at + "/" + k);
    } else if (v.isArray()) {
      for (size_t i = 0; i < v.size(); ++i) walk(v.asArray()[i], at + "/" + std::to_string(i));
    }
  };
  walk(doc_, "#");
  EXPECT_TRUE(missing.empty()) << "required without properties at " << missing.front();
}

}  // namespace
}  // namespace hearth
