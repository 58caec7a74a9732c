// The real hearth-server binary on loopback (port 0), driven by clients nobody here wrote: the
// openssl command-line tool makes the device key and CSR, curl talks (m)TLS. Every test runs on
// SQLite and, when scripts/test started one, on PostgreSQL.
#include <atomic>
#include <chrono>
#include <fstream>
#include <mutex>
#include <netinet/in.h>
#include <set>
#include <sstream>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

#include <gtest/gtest.h>

#include "hearth/json.h"
#include "hearth/protocol/crypto.h"
#include "hearth/protocol/wire.h"
#include "hearth/time.h"
#include "support/curl_cli.h"
#include "support/files.h"
#include "support/pg_schema.h"
#include "support/programs.h"
#include "support/server_process.h"
#include "support/temp_dir.h"
#include "support/tls_socket.h"

namespace hearth {
namespace {

using testing::RunProcess;

const std::string kServer = hearth::testing::ServerProgram();
const std::string kOpenssl = "/usr/bin/openssl";

using Http = testing::CurlAnswer;

using testing::PollUntil;
using testing::ReadFile;
using testing::Trimmed;

class ServerApiTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "postgresql") {
      pg_ = std::make_unique<testing::PostgresSchema>("api");
      if (pg_->uri().empty()) GTEST_SKIP() << "HEARTH_TEST_PG_URI not set: no PostgreSQL server";
      database_ = pg_->uri();
    }
    state_ = dir_.path() + "/state";
    server_ = std::make_unique<testing::TestServer>(state_, database_);
    auto r = server_->init();
    ASSERT_EQ(r.exit_code, 0) << r.err;
    startServer();
    admin_token_ = server_->adminToken();
    secret_ = server_->enrollSecret();
  }

  void startServer() {
    ASSERT_TRUE(server_->serve(dir_.path() + "/server.log"))
        << ReadFile(dir_.path() + "/server.log");
    devices_ = server_->address("devices");
    admin_ = server_->address("admin");
  }

  // curl with the server CA pinned; extra args before the URL.
  Http curl(const std::string& url, std::vector<std::string> extra = {}) {
    last_ = testing::Curl(url, {.ca_file = state_ + "/ca.pem", .extra = std::move(extra)});
    return last_;
  }

  // The last curl()'s answer (for the helpers that return less, like enroll()).
  Http lastAnswer() const { return last_; }

  // The "code" of an error body ("" when there is none).
  static std::string code(const Http& h) {
    auto v = json::parse(h.body);
    if (!v.ok() || v->find("code") == nullptr || !v->find("code")->isString()) return "";
    return v->find("code")->asString();
  }

  // The value of one sample line of the admin listener's /metrics (-1 when absent).
  long metric(const std::string& sample) {
    Http m = curl("https://" + admin_ + "/metrics");
    std::istringstream in(m.body);
    std::string line;
    while (std::getline(in, line)) {
      if (line.starts_with(sample + " ")) return std::stol(line.substr(sample.size() + 1));
    }
    return -1;
  }

  // Restarts the server with extra serve options.
  void restartWith(const std::vector<std::string>& options) {
    server_->stop();
    ASSERT_TRUE(server_->serve(dir_.path() + "/server-b.log", {.extra = options}))
        << ReadFile(dir_.path() + "/server-b.log");
    devices_ = server_->address("devices");
    admin_ = server_->address("admin");
  }

  Http admin(const std::string& path, std::vector<std::string> extra = {},
             const std::string& token = "") {
    extra.insert(extra.end(),
                 {"-H", "Authorization: Bearer " + (token.empty() ? admin_token_ : token)});
    return curl("https://" + admin_ + path, extra);
  }

  struct Device {
    std::string id, key, cert;
  };

  // Enrols a new device with a key and CSR made by the openssl tool.
  Device enroll(const std::string& secret, const std::string& hostname, int* status = nullptr) {
    static int n = 0;
    std::string base = dir_.path() + "/dev" + std::to_string(++n);
    auto gen = RunProcess({kOpenssl, "req", "-new", "-newkey", "ec", "-pkeyopt",
                           "ec_paramgen_curve:P-256", "-nodes", "-keyout", base + ".key", "-out",
                           base + ".csr", "-subj", "/CN=hearth-test-device"});
    EXPECT_EQ(gen.exit_code, 0) << gen.err;
    json::Value req = json::Value::object();
    req.set("enroll_secret", secret);
    req.set("csr", ReadFile(base + ".csr"));
    req.set("hostname", hostname);
    std::string req_path = dir_.path() + "/enroll.json";
    std::ofstream(req_path) << json::write(req);
    Http h = curl("https://" + devices_ + "/api/v1/enroll",
                  {"-H", "Content-Type: application/json", "--data-binary", "@" + req_path});
    if (status != nullptr) *status = h.status;
    Device d;
    if (h.status != 201) return d;
    auto resp = json::parse(h.body);
    EXPECT_TRUE(resp.ok()) << h.body;
    d.id = resp->find("device_id")->asString();
    d.key = base + ".key";
    d.cert = base + ".pem";
    std::ofstream(d.cert) << resp->find("certificate")->asString();
    return d;
  }

  std::string report(const std::string& report_id, int sequence, bool compliant,
                     const std::string& verdict, const std::string& extra_field = "") {
    return R"({"report_id":")" + report_id + R"(","sequence":)" + std::to_string(sequence) +
           R"(,"sent_at":"2026-11-26T10:00:05Z","agent_version":"0.1.0",)" + extra_field +
           R"("machine_id":"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",)" +
           R"("result":{"compliant":)" + (compliant ? "true" : "false") +
           R"(,"level":"standard","policy_version":1,"evaluated_at":"2026-11-26T10:00:00Z",)" +
           R"("host":{"hostname":"pc"},"checks":[{"id":"disk_encryption","verdict":")" + verdict +
           R"(","required":true,"summary":"s","evidence":{},"remediation":"r","duration_ms":1}]}})";
  }

  Http post(const Device& d, const std::string& body, std::vector<std::string> extra = {}) {
    std::string path = dir_.path() + "/report.json";
    std::ofstream(path, std::ios::binary) << body;
    extra.insert(extra.end(), {"--cert", d.cert, "--key", d.key, "-H",
                               "Content-Type: application/json", "--data-binary", "@" + path});
    return curl("https://" + devices_ + "/api/v1/reports", extra);
  }

  int deviceCount() {
    Http h = admin("/api/v1/devices");
    auto v = json::parse(h.body);
    return v.ok() ? static_cast<int>(v->find("devices")->size()) : -1;
  }

  testing::TempDir dir_;
  std::unique_ptr<testing::PostgresSchema> pg_;
  std::string database_;
  std::string state_;
  std::unique_ptr<testing::TestServer> server_;
  std::string devices_, admin_, admin_token_, secret_;
  Http last_;
};

TEST_P(ServerApiTest, EnrolReportAndReadItBackWithOpensslAndCurl) {
  Device d = enroll(secret_, "laptop-1");
  ASSERT_FALSE(d.id.empty());
  // The certificate is named by the server and chains to the device CA, client-auth only.
  auto verify = RunProcess(
      {kOpenssl, "verify", "-purpose", "sslclient", "-CAfile", state_ + "/device-ca.pem", d.cert});
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;

  // The signed policy verifies against the key handed out at enrolment.
  Http pol = curl("https://" + devices_ + "/api/v1/policy", {"--cert", d.cert, "--key", d.key});
  ASSERT_EQ(pol.status, 200) << pol.body;
  auto sp = json::parse(pol.body);
  ASSERT_TRUE(sp.ok());
  auto body = protocol::Base64Decode(sp->find("policy")->asString());
  ASSERT_TRUE(body.ok());
  auto pub = protocol::Key::fromPem(ReadFile(state_ + "/policy-signing.pub"), true);
  ASSERT_TRUE(pub.ok());
  EXPECT_TRUE(protocol::VerifyEd25519(*pub, *body, sp->find("signature")->asString()).ok());
  EXPECT_NE(body->find("\"level\": \"standard\""), std::string::npos);

  std::string rid = "3f2b8c1e-5d6a-4b7c-8d9e-0a1b2c3d4e5f";
  Http first = post(d, report(rid, 1, false, "fail"));
  EXPECT_EQ(first.status, 202) << first.body;
  Http again = post(d, report(rid, 1, false, "fail"));
  EXPECT_EQ(again.status, 200) << again.body;
  EXPECT_NE(again.body.find("duplicate"), std::string::npos);
  // Each acknowledgement says what the server held before the report (agents re-send what a
  // server restored from an older backup lacks): nothing before report 1, nor below it.
  EXPECT_EQ(json::parse(first.body)->find("previous_sequence")->asInt(), 0) << first.body;
  EXPECT_EQ(json::parse(again.body)->find("previous_sequence")->asInt(), 0) << again.body;

  Http list = admin("/api/v1/devices?status=noncompliant");
  ASSERT_EQ(list.status, 200) << list.body;
  auto devices = json::parse(list.body);
  ASSERT_TRUE(devices.ok());
  ASSERT_EQ(devices->find("devices")->size(), 1u);
  const json::Value& dev = devices->find("devices")->asArray()[0];
  EXPECT_EQ(dev.find("device_id")->asString(), d.id);
  EXPECT_EQ(dev.find("hostname")->asString(), "laptop-1");
  EXPECT_EQ(dev.find("checks")->asArray()[0].find("verdict")->asString(), "fail");

  Http history = admin("/api/v1/devices/" + d.id + "/history");
  auto h = json::parse(history.body);
  ASSERT_TRUE(h.ok()) << history.body;
  EXPECT_EQ(h->find("reports")->size(), 1u);  // stored once

  Http feed = admin("/api/v1/feed");
  auto f = json::parse(feed.body);
  ASSERT_TRUE(f.ok()) << feed.body;
  // enrolled, disk_encryption's verdict_changed, and the device_noncompliant it caused (no grace).
  ASSERT_EQ(f->find("events")->size(), 3u);
  EXPECT_EQ(f->find("events")->asArray()[0].find("type")->asString(), "enrolled");
  EXPECT_EQ(f->find("events")->asArray()[2].find("type")->asString(), "device_noncompliant");
  const json::Value& changed = f->find("events")->asArray()[1];
  EXPECT_EQ(changed.find("type")->asString(), "verdict_changed");
  EXPECT_EQ(changed.find("check")->asString(), "disk_encryption");
  EXPECT_EQ(changed.find("to")->asString(), "fail");
  Http more = admin("/api/v1/feed?after=" + f->find("next")->asString());
  EXPECT_EQ(json::parse(more.body)->find("events")->size(), 0u);

  Http one = admin("/api/v1/devices/" + d.id);
  EXPECT_NE(one.body.find("\"attestation\":\"reported by the device\""), std::string::npos);
  EXPECT_EQ(admin("/healthz").status, 200);
  Http metrics = curl("https://" + admin_ + "/metrics");
  EXPECT_NE(metrics.body.find("hearth_reports_total{outcome=\"stored\"} 1"), std::string::npos);
  EXPECT_NE(metrics.body.find("hearth_devices{status=\"noncompliant\"} 1"), std::string::npos);

  // Report 3 (2 never arrived): the server held 1 before it.
  Http third = post(d, report("3f2b8c1e-5d6a-4b7c-8d9e-0a1b2c3d4e63", 3, false, "fail"));
  ASSERT_EQ(third.status, 202) << third.body;
  EXPECT_EQ(json::parse(third.body)->find("previous_sequence")->asInt(), 1) << third.body;
}

TEST_P(ServerApiTest, DeviceStringsAreDataInCsv) {
  Device d = enroll(secret_, "=HYPERLINK(\"http://x\",\"y\")");
  ASSERT_FALSE(d.id.empty());
  Http csv = admin("/api/v1/devices.csv");
  ASSERT_EQ(csv.status, 200);
  EXPECT_NE(csv.body.find("\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\""), std::string::npos)
      << csv.body;
}

TEST_P(ServerApiTest, NegativeMatrixIsRefusedAndWritesNothing) {
  Device d = enroll(secret_, "pc-a");
  ASSERT_FALSE(d.id.empty());
  std::string rid = "00000000-0000-4000-8000-000000000001";

  // No client certificate.
  Http none = curl("https://" + devices_ + "/api/v1/reports",
                   {"--data-binary", report(rid, 1, true, "pass")});
  EXPECT_EQ(none.status, 401) << none.body;
  EXPECT_EQ(code(none), "unauthorized");

  // A self-signed certificate naming the device: the TLS handshake fails.
  std::string rogue = dir_.path() + "/rogue";
  ASSERT_EQ(RunProcess({kOpenssl, "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-keyout", rogue + ".key", "-out",
                        rogue + ".pem", "-subj", "/CN=" + d.id, "-days", "1"})
                .exit_code,
            0);
  Http self_signed =
      post(Device{d.id, rogue + ".key", rogue + ".pem"}, report(rid, 1, true, "pass"));
  EXPECT_NE(self_signed.exit_code, 0);
  EXPECT_NE(self_signed.status, 202);

  // A certificate from another CA (with the device's name).
  std::string other = dir_.path() + "/other";
  ASSERT_EQ(RunProcess({kOpenssl, "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-keyout", other + "-ca.key", "-out",
                        other + "-ca.pem", "-subj", "/CN=Other CA", "-days", "1"})
                .exit_code,
            0);
  ASSERT_EQ(RunProcess({kOpenssl, "req", "-new", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-keyout", other + ".key", "-out",
                        other + ".csr", "-subj", "/CN=" + d.id})
                .exit_code,
            0);
  ASSERT_EQ(RunProcess({kOpenssl, "x509", "-req", "-in", other + ".csr", "-CA", other + "-ca.pem",
                        "-CAkey", other + "-ca.key", "-CAcreateserial", "-out", other + ".pem",
                        "-days", "1"})
                .exit_code,
            0);
  Http foreign = post(Device{d.id, other + ".key", other + ".pem"}, report(rid, 1, true, "pass"));
  EXPECT_NE(foreign.exit_code, 0);
  EXPECT_NE(foreign.status, 202);

  // A body naming another device.
  Http other_device = post(d, report(rid, 1, true, "pass", R"("device_id":"someone-else",)"));
  EXPECT_EQ(other_device.status, 403) << other_device.body;
  EXPECT_EQ(code(other_device), "device_mismatch");

  // Bad admin token; a read-only token may read but not retire.
  Http bad_token = admin("/api/v1/devices", {}, "hat_wrong");
  EXPECT_EQ(bad_token.status, 401);
  EXPECT_EQ(code(bad_token), "unauthorized");
  EXPECT_EQ(curl("https://" + admin_ + "/api/v1/devices").status, 401);
  auto ro = server_->cli({"token", "create", "--name", "auditor", "--scope", "read"});
  ASSERT_EQ(ro.exit_code, 0) << ro.err;
  std::string read_token = Trimmed(ro.out);
  EXPECT_EQ(admin("/api/v1/devices", {}, read_token).status, 200);
  Http read_only = admin("/api/v1/devices/" + d.id + "/retire", {"-X", "POST"}, read_token);
  EXPECT_EQ(read_only.status, 403);
  EXPECT_EQ(code(read_only), "read_only_token");

  // Single-use secret: one device, then refused with a clear message; revoked secret refused.
  auto single = server_->cli({"secret", "create", "--uses", "1", "--owner", "bob"});
  ASSERT_EQ(single.exit_code, 0) << single.err;
  std::string single_secret = Trimmed(single.out);
  int status = 0;
  EXPECT_FALSE(enroll(single_secret, "pc-b", &status).id.empty());
  EXPECT_EQ(status, 201);
  Device refused = enroll(single_secret, "pc-c", &status);
  EXPECT_TRUE(refused.id.empty());
  EXPECT_EQ(status, 403);
  EXPECT_EQ(code(lastAnswer()), "enroll_secret_refused");
  auto revoke = server_->cli({"secret", "revoke", "1"});  // the initial rollout secret
  ASSERT_EQ(revoke.exit_code, 0) << revoke.err;
  enroll(secret_, "pc-d", &status);
  EXPECT_EQ(status, 403);
  enroll("hes_not_a_secret", "pc-e", &status);
  EXPECT_EQ(status, 403);

  // Nothing written by the refused requests: two devices, no reports.
  EXPECT_EQ(deviceCount(), 2);
  Http history = admin("/api/v1/devices/" + d.id + "/history");
  EXPECT_EQ(json::parse(history.body)->find("reports")->size(), 0u);

  // A retired device's certificate is refused from then on.
  EXPECT_EQ(post(d, report(rid, 1, true, "pass")).status, 202);
  EXPECT_EQ(admin("/api/v1/devices/" + d.id + "/retire", {"-X", "POST"}).status, 200);
  Http retired = post(d, report("00000000-0000-4000-8000-000000000002", 2, true, "pass"));
  EXPECT_EQ(retired.status, 403) << retired.body;
  EXPECT_EQ(code(retired), "retired");  // what the agent looks for to stop reporting
  Http retired_policy =
      curl("https://" + devices_ + "/api/v1/policy", {"--cert", d.cert, "--key", d.key});
  EXPECT_EQ(retired_policy.status, 403);
  EXPECT_EQ(code(retired_policy), "retired");
}

TEST_P(ServerApiTest, BadInputIsRefusedQuicklyAndTheServerKeepsServing) {
  Device d = enroll(secret_, "pc-a");
  ASSERT_FALSE(d.id.empty());
  std::string deep = std::string(100000, '[') + std::string(100000, ']');
  std::string big(10 << 20, 'a');
  std::string valid = report("00000000-0000-4000-8000-000000000009", 1, true, "pass");
  struct Case {
    std::string name, body;
    std::vector<std::string> extra;
    int expected;
    std::string code;
    double max_seconds = 2.0;  // liveness bound; the latency figures are in the bench
  } cases[] = {
      {"truncated", valid.substr(0, valid.size() / 2), {}, 400, "bad_request"},
      {"deep", deep, {}, 400, "bad_request"},
      {"10 MB", "{\"x\":\"" + big + "\"}", {}, 413, "too_large"},
      {"invalid UTF-8", "{\"report_id\":\"\xff\xfe\"}", {}, 400, "bad_request"},
      {"wrong types",
       report("00000000-0000-4000-8000-000000000009", 1, true, "pass")
           .replace(valid.find("\"sequence\":1"), 12, "\"sequence\":\"1\""),
       {},
       400,
       "bad_request"},
      {"Content-Length shorter than the body",
       valid,
       {"-H", "Content-Length: 40"},
       400,
       "bad_request"},
      // Only a deadline tells a body that never comes from a slow one: 2 s without a byte.
      {"Content-Length longer than the body",
       valid,
       {"-H", "Content-Length: " + std::to_string(valid.size() + 100)},
       408,
       "timeout",
       4.0},
  };
  for (const auto& c : cases) {
    Http h = post(d, c.body, c.extra);
    EXPECT_EQ(h.status, c.expected) << c.name << ": " << h.body;
    EXPECT_EQ(code(h), c.code) << c.name << ": " << h.body;
    EXPECT_LT(h.seconds, c.max_seconds) << c.name;
    EXPECT_EQ(admin("/healthz").status, 200) << "after " << c.name;
  }
  Http history = admin("/api/v1/devices/" + d.id + "/history");
  EXPECT_EQ(json::parse(history.body)->find("reports")->size(), 0u);
  EXPECT_EQ(post(d, valid).status, 202);  // still serving
}

TEST_P(ServerApiTest, KillNineLosesNoAcknowledgedReport) {
  Device d = enroll(secret_, "pc-a");
  ASSERT_FALSE(d.id.empty());
  std::vector<std::string> acknowledged;
  std::mutex mu;
  std::atomic<bool> stop{false};
  std::vector<std::thread> clients;
  for (int t = 0; t < 3; ++t) {
    clients.emplace_back([&, t] {
      for (int i = 0; i < 200 && !stop; ++i) {
        char id[40];
        std::snprintf(id, sizeof id, "00000000-0000-4000-8000-%04d%08d", t, i);
        std::string body = report(id, t * 1000 + i + 1, true, "pass");
        std::string path = dir_.path() + "/r" + std::to_string(t) + ".json";
        std::ofstream(path) << body;
        auto r =
            testing::Curl("https://" + devices_ + "/api/v1/reports",
                          {.ca_file = state_ + "/ca.pem",
                           .extra = {"--cert", d.cert, "--key", d.key, "--data-binary", "@" + path},
                           .max_time_seconds = 5});
        if (r.status == 202 || r.status == 200) {
          std::lock_guard<std::mutex> lock(mu);
          acknowledged.push_back(id);
        }
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  server_->kill9();
  stop = true;
  for (auto& c : clients) c.join();
  ASSERT_GT(acknowledged.size(), 0u);
  startServer();
  Http history = admin("/api/v1/devices/" + d.id + "/history?limit=1000");
  auto h = json::parse(history.body);
  ASSERT_TRUE(h.ok()) << history.body;
  std::set<std::string> stored;
  for (const auto& r : h->find("reports")->asArray())
    stored.insert(r.find("report_id")->asString());
  for (const auto& id : acknowledged) EXPECT_EQ(stored.count(id), 1u) << "lost " << id;
  auto check = server_->cli({"check-db"});
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
  EXPECT_EQ(check.out, "ok\n");
}

// Keeps server-api/openapi.json true: every documented operation exists on its listener, answers
// with a documented status, and its JSON carries the documented required fields.
TEST_P(ServerApiTest, OpenApiDocumentMatchesTheServer) {
  if (GetParam() != "sqlite") GTEST_SKIP() << "backend-independent";
  auto doc = json::parse(ReadFile(std::string(HEARTH_SOURCE_DIR) + "/server-api/openapi.json"),
                         {.max_depth = 64});
  ASSERT_TRUE(doc.ok()) << doc.status().toString();
  EXPECT_EQ(doc->find("openapi")->asString(), "3.1.0");
  const json::Value& schemas = *doc->find("components")->find("schemas");
  auto resolve = [&](const json::Value* schema) -> const json::Value* {
    if (schema == nullptr) return nullptr;
    if (const json::Value* ref = schema->find("$ref")) {
      std::string name = ref->asString().substr(ref->asString().rfind('/') + 1);
      return schemas.find(name);
    }
    return schema;
  };

  Device d = enroll(secret_, "pc-openapi");
  ASSERT_FALSE(d.id.empty());
  ASSERT_EQ(post(d, report("00000000-0000-4000-8000-0000000000aa", 1, false, "fail")).status, 202);
  // Two devices waiting for approval: one to approve, one to reject.
  auto approval = server_->cli({"secret", "create", "--approval"});
  ASSERT_EQ(approval.exit_code, 0) << approval.err;
  Device to_approve = enroll(Trimmed(approval.out), "pc-openapi-wait-1");
  Device to_reject = enroll(Trimmed(approval.out), "pc-openapi-wait-2");
  ASSERT_FALSE(to_approve.id.empty());
  ASSERT_FALSE(to_reject.id.empty());

  std::vector<std::pair<std::string, std::string>> operations;
  for (const auto& [path, item] : doc->find("paths")->asObject()) {
    for (const auto& [method, op] : item.asObject()) operations.emplace_back(path, method);
  }
  // Retire and delete last: they change what the other operations see.
  auto last = [](const std::pair<std::string, std::string>& op) {
    return op.first.find("retire") != std::string::npos || op.second == "delete";
  };
  std::stable_sort(operations.begin(), operations.end(),
                   [&](const auto& a, const auto& b) { return !last(a) && last(b); });
  // A webhook for the /api/v1/webhooks/{id} paths (to a closed loopback port: its test answers
  // that it was not delivered).
  const std::string webhook_body =
      R"({"url":"http://127.0.0.1:9/hook","secret":"0123456789abcdef","events":["stale"]})";
  Http made = curl("https://" + admin_ + "/api/v1/webhooks",
                   {"-X", "POST", "-H", "Authorization: Bearer " + admin_token_, "-H",
                    "Content-Type: application/json", "--data-binary", webhook_body});
  ASSERT_EQ(made.status, 201) << made.body;
  std::string webhook_id = std::to_string(json::parse(made.body)->find("webhook_id")->asInt());
  // An exemption for the /api/v1/exemptions/{id} paths, and the bodies and the period the
  // compliance-workflow routes need to succeed.
  const auto now = std::chrono::system_clock::now();
  const std::string exemption_body = R"({"device_id":")" + d.id + R"(","check":"vpn","until":")" +
                                     formatRfc3339(now + std::chrono::hours(48)) +
                                     R"(","reason":"travelling"})";
  Http granted = curl("https://" + admin_ + "/api/v1/exemptions",
                      {"-X", "POST", "-H", "Authorization: Bearer " + admin_token_, "-H",
                       "Content-Type: application/json", "--data-binary", exemption_body});
  ASSERT_EQ(granted.status, 201) << granted.body;
  std::string exemption_id =
      std::to_string(json::parse(granted.body)->find("exemption_id")->asInt());
  // An enrolment secret to revoke (DELETE /api/v1/secrets/{id}).
  Http secret_made = curl("https://" + admin_ + "/api/v1/secrets",
                          {"-X", "POST", "-H", "Authorization: Bearer " + admin_token_, "-H",
                           "Content-Type: application/json", "--data-binary", R"({"uses":1})"});
  ASSERT_EQ(secret_made.status, 201) << secret_made.body;
  std::string secret_id = std::to_string(json::parse(secret_made.body)->find("secret_id")->asInt());
  const std::string period = "?from=" + formatRfc3339(now - std::chrono::hours(24)) +
                             "&to=" + formatRfc3339(now - std::chrono::seconds(1));
  ASSERT_GE(operations.size(), 15u);
  for (const auto& [path, method] : operations) {
    const json::Value& op = *doc->find("paths")->find(path)->find(method);
    std::string url_path = path;
    const std::string& id = path.find("/approve") != std::string::npos       ? to_approve.id
                            : path.find("/reject") != std::string::npos      ? to_reject.id
                            : path.find("/webhooks/") != std::string::npos   ? webhook_id
                            : path.find("/exemptions/") != std::string::npos ? exemption_id
                            : path.find("/secrets/") != std::string::npos    ? secret_id
                                                                             : d.id;
    if (size_t p = url_path.find("{id}"); p != std::string::npos) url_path.replace(p, 4, id);
    bool device_listener = op.find("x-listener")->asString() == "devices";
    std::string url = "https://" + (device_listener ? devices_ : admin_) + url_path;
    std::vector<std::string> extra;
    if (method == "post") extra = {"-X", "POST"};
    if (method == "delete") extra = {"-X", "DELETE"};
    if (path == "/api/v1/webhooks" && method == "post") {
      extra.insert(extra.end(),
                   {"-H", "Content-Type: application/json", "--data-binary", webhook_body});
    }
    if (path == "/api/v1/compliance-report") url += period + "&format=json";  // CSV by default
    if ((path == "/api/v1/policies" || path == "/api/v1/policies/preview") && method == "post") {
      extra.insert(
          extra.end(),
          {"-H", "Content-Type: application/json", "--data-binary",
           R"({"level":"standard","version":7,"checks":{"screen_lock":{"required":true}}})"});
    }
    if (path == "/api/v1/secrets" && method == "post") {
      extra.insert(extra.end(), {"-H", "Content-Type: application/json", "--data-binary",
                                 R"({"expires_days":7,"approval":true})"});
    }
    if (path == "/api/v1/exemptions" && method == "post") {
      extra.insert(extra.end(),
                   {"-H", "Content-Type: application/json", "--data-binary", exemption_body});
    }
    if (path.find("/level") != std::string::npos) {
      extra.insert(extra.end(), {"-H", "Content-Type: application/json", "--data-binary",
                                 R"({"level":"standard"})"});
    }
    if (path.find("/owner") != std::string::npos) {
      extra.insert(extra.end(), {"-H", "Content-Type: application/json", "--data-binary",
                                 R"({"owner":"erin@example.com"})"});
    }
    const json::Value* security = op.find("security");
    bool bearer =
        security != nullptr && security->size() > 0 && security->asArray()[0].find("bearer");
    bool cert = security != nullptr && security->size() > 0 &&
                security->asArray()[0].find("deviceCertificate");
    if (bearer) extra.insert(extra.end(), {"-H", "Authorization: Bearer " + admin_token_});
    // The IT console's session (GET /api/v1/session): signed in with the admin token.
    if (security != nullptr && security->size() > 0 &&
        security->asArray()[0].find("consoleSession")) {
      Http login =
          curl("https://" + admin_ + "/login", {"--data-urlencode", "token=" + admin_token_});
      ASSERT_EQ(login.status, 303) << login.body;
      size_t at = login.headers.find("hearth_session=");
      ASSERT_NE(at, std::string::npos) << login.headers;
      extra.insert(extra.end(), {"-H", "Cookie: " + login.headers.substr(at, 15 + 64)});
    }
    if (cert) extra.insert(extra.end(), {"--cert", d.cert, "--key", d.key});
    Http h;
    if (path == "/api/v1/enroll") {
      int status = 0;
      enroll(secret_, "pc-openapi-2", &status);
      h.status = status;
      h.body = lastAnswer().body;
    } else if (path == "/api/v1/reports") {
      h = post(d, report("00000000-0000-4000-8000-0000000000ab", 2, true, "pass"));
    } else if (path == "/api/v1/renew") {
      // A CSR for a new key (the old certificate stays valid until the new one is used).
      auto key = protocol::Key::generateP256();
      protocol::RenewRequest rr;
      rr.csr = *protocol::MakeCsr(*key, d.id);
      std::string data = dir_.write("renew.json", json::write(rr.toJson()));
      extra.insert(extra.end(),
                   {"-H", "Content-Type: application/json", "--data-binary", "@" + data});
      h = curl(url, extra);
    } else {
      h = curl(url, extra);
    }
    const json::Value* responses = op.find("responses");
    const json::Value* documented = responses->find(std::to_string(h.status));
    ASSERT_NE(documented, nullptr) << method << " " << path << " answered " << h.status
                                   << " which is not documented: " << h.body;
    EXPECT_LT(h.status, 300) << method << " " << path << ": " << h.body;
    const json::Value* content = documented->find("content");
    if (content == nullptr || content->find("application/json") == nullptr) continue;
    const json::Value* schema = resolve(content->find("application/json")->find("schema"));
    ASSERT_NE(schema, nullptr) << path;
    auto body = json::parse(h.body);
    ASSERT_TRUE(body.ok()) << path << ": " << h.body;
    std::vector<const json::Value*> parts = {schema};
    if (const json::Value* all = schema->find("allOf")) {
      for (const auto& s : all->asArray()) parts.push_back(resolve(&s));
    }
    for (const json::Value* part : parts) {
      if (const json::Value* required = part->find("required")) {
        for (const auto& field : required->asArray()) {
          EXPECT_NE(body->find(field.asString()), nullptr)
              << method << " " << path << " lacks documented field " << field.asString();
        }
      }
    }
  }
  // What is not documented does not exist.
  Http undocumented = admin("/api/v1/undocumented");
  EXPECT_EQ(undocumented.status, 404);
  EXPECT_EQ(code(undocumented), "not_found");
  // The codes clients act on are in the document's list.
  std::set<std::string> codes;
  const json::Value& code_schema = *schemas.find("Error")->find("properties")->find("code");
  for (const auto& c : code_schema.find("enum")->asArray()) codes.insert(c.asString());
  for (const char* c : {"retired", "unauthorized", "bad_request", "too_large", "timeout",
                        "overloaded", "rate_limited", "not_found", "device_mismatch",
                        "enroll_secret_refused", "read_only_token"}) {
    EXPECT_EQ(codes.count(c), 1u) << "code " << c << " is not in openapi.json";
  }
  EXPECT_EQ(
      curl("https://" + devices_ + "/api/v1/devices", {"--cert", d.cert, "--key", d.key}).status,
      404);
}

// A slowloris client (many TLS connections trickling a never-ending header) must not starve
// others: each connection gets --request-timeout to finish a request, then it is cut off.
// Without the deadline the legitimate request below timed out after 8 s (tried by hand).
TEST_P(ServerApiTest, SlowClientsCannotStarveOthers) {
  if (GetParam() != "sqlite") GTEST_SKIP() << "backend-independent";
  server_->stop();
  ASSERT_TRUE(server_->serve(dir_.path() + "/server2.log", {.extra = {"--request-timeout", "2"}}));
  devices_ = server_->address("devices");
  std::string port = devices_.substr(devices_.rfind(':') + 1);
  testing::ProcessOutput loris;
  std::thread attacker([&] {
    loris = RunProcess({"/usr/bin/python3",
                        std::string(HEARTH_SOURCE_DIR) + "/tests/integration/slowloris.py",
                        // more connections than worker threads; it stops once all are cut
                        // (the 60 s are a deadline for a busy machine, not a wait)
                        "127.0.0.1", port, "24", "60"});
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  Http h = curl("https://" + devices_ + "/api/v1/policy");  // no client cert: a quick 401
  attacker.join();
  EXPECT_EQ(h.status, 401) << "curl exit " << h.exit_code;
  EXPECT_LT(h.seconds, 5.0);
  int opened = 0, cut = 0;
  std::sscanf(loris.out.c_str(), "open %d\ncut %d", &opened, &cut);
  EXPECT_GT(opened, 16) << loris.out << loris.err;  // more than the server's worker threads
  EXPECT_EQ(cut, opened) << loris.out;              // every slow connection was cut off
}

// A plain TCP connection to 127.0.0.1:port that never starts TLS: it holds a worker thread
// (waiting for the handshake) or a place in the queue. -1 on failure.
// A connection that sends its TLS ClientHello and then stalls: past the listener's gate (which
// holds connections that never start TLS without a worker, issue 12 defect 4), it holds a worker
// thread in its handshake, or a place in the queue.
int holdConnection(int port) {
  int fd = testing::ConnectTcp("127.0.0.1:" + std::to_string(port));
  if (fd < 0) return -1;
  const std::string& hello = testing::ClientHelloBytes();
  if (hello.empty() ||
      ::send(fd, hello.data(), hello.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(hello.size())) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// The value of a response header ("" when absent).
std::string header(const Http& h, const std::string& name) {
  std::istringstream in(h.headers);
  std::string line;
  while (std::getline(in, line)) {
    if (line.size() > name.size() + 1 &&
        strncasecmp(line.c_str(), name.c_str(), name.size()) == 0 && line[name.size()] == ':') {
      std::string v = line.substr(name.size() + 1);
      while (!v.empty() && (v.front() == ' ')) v.erase(0, 1);
      while (!v.empty() && (v.back() == '\r' || v.back() == ' ')) v.pop_back();
      return v;
    }
  }
  return "";
}

// Every worker thread busy and the queue full: a new client gets 503 with Retry-After (sized to
// the backlog: later for each client turned away) and a JSON error from the overflow responder
// (Poco alone closes such a connection without a word); when even that is saturated, connections
// are closed and counted; and the server serves again once the load is gone.
TEST_P(ServerApiTest, OverloadIsAnswered503WithRetryAfterNeverDropped) {
  if (GetParam() != "sqlite") GTEST_SKIP() << "backend-independent";
  restartWith(
      {"--threads", "2", "--queue", "2", "--request-timeout", "30", "--handshake-timeout", "30"});
  int port = std::stoi(devices_.substr(devices_.rfind(':') + 1));
  // Two on the workers (in their TLS handshake), two queued. One at a time: a connection that
  // arrives while a worker thread is still starting finds the queue full (Poco would drop it).
  std::vector<int> held;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  for (int i = 1; i <= 4; ++i) {
    held.push_back(holdConnection(port));
    while (metric("hearth_connections_active{listener=\"devices\"}") +
                   metric("hearth_connections_queued{listener=\"devices\"}") <
               i &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  ASSERT_EQ(metric("hearth_connections_active{listener=\"devices\"}"), 2);
  ASSERT_EQ(metric("hearth_connections_queued{listener=\"devices\"}"), 2);

  Http h = curl("https://" + devices_ + "/api/v1/policy");
  EXPECT_EQ(h.exit_code, 0) << "an answer, not a reset";
  EXPECT_EQ(h.status, 503) << h.body;
  EXPECT_EQ(code(h), "overloaded") << h.body;
  EXPECT_EQ(header(h, "Retry-After"), "5") << h.headers;
  EXPECT_LT(h.seconds, 1.0);
  // IT's listener has threads of its own and tells what happened.
  EXPECT_EQ(metric("hearth_connections_overloaded_total{listener=\"devices\"}"), 1);
  EXPECT_EQ(metric("hearth_connections_rejected_total{listener=\"devices\"}"), 0);
  // Turned away again and again, clients are given later and later return slots (at the rate
  // the workers finish connections; none has finished here, so --threads + --queue over
  // --request-timeout, at least one a second) instead of all the same 5 s.
  std::vector<int> told;
  for (int i = 0; i < 9; ++i) {
    Http again = curl("https://" + devices_ + "/api/v1/policy");
    ASSERT_EQ(again.status, 503) << again.body;
    told.push_back(std::atoi(header(again, "Retry-After").c_str()));
  }
  EXPECT_EQ(told.front(), 5);
  for (size_t i = 1; i < told.size(); ++i) EXPECT_GE(told[i], told[i - 1]);
  EXPECT_GE(told.back(), 9);
  EXPECT_LE(told.back(), 12);

  // More than the overflow responder takes (2 threads, 32 waiting): the rest are closed at once
  // and counted; the acceptor never waits on them.
  for (int i = 0; i < 40; ++i) held.push_back(holdConnection(port));
  PollUntil([&] { return metric("hearth_connections_rejected_total{listener=\"devices\"}") >= 1; },
            std::chrono::seconds(3));
  EXPECT_GE(metric("hearth_connections_rejected_total{listener=\"devices\"}"), 1);

  for (int fd : held) ::close(fd);
  Http after;
  deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  do {
    after = curl("https://" + devices_ + "/api/v1/policy");
  } while (after.status != 401 && std::chrono::steady_clock::now() < deadline);
  EXPECT_EQ(after.status, 401) << "the server serves again: " << after.body;
}

// An enrolment storm from one address is shaped: beyond the burst, 429 with Retry-After and a
// JSON error, before any work is done or anything is written.
TEST_P(ServerApiTest, EnrolmentStormIsAnswered429WithRetryAfter) {
  if (GetParam() != "sqlite") GTEST_SKIP() << "backend-independent";
  restartWith({"--enroll-address-burst", "2", "--enroll-address-rate", "0.2"});
  int status = 0;
  EXPECT_FALSE(enroll(secret_, "pc-1", &status).id.empty());
  EXPECT_FALSE(enroll(secret_, "pc-2", &status).id.empty());
  Device third = enroll(secret_, "pc-3", &status);
  EXPECT_TRUE(third.id.empty());
  EXPECT_EQ(status, 429);
  Http h = lastAnswer();
  EXPECT_EQ(code(h), "rate_limited") << h.body;
  int retry_after = std::atoi(header(h, "Retry-After").c_str());
  EXPECT_GE(retry_after, 1) << h.headers;
  EXPECT_LE(retry_after, 5) << h.headers;  // one enrolment per 5 s from this address
  EXPECT_EQ(deviceCount(), 2);             // nothing written
  EXPECT_EQ(metric("hearth_enroll_rate_limited_total{scope=\"address\"}"), 1);
}

// The envelope's "dropped" (reports the agent's spool lost) adds up per device, once per report.
TEST_P(ServerApiTest, ReportsDroppedBySpoolAreShownPerDevice) {
  Device d = enroll(secret_, "pc-spool");
  ASSERT_FALSE(d.id.empty());
  std::string first = "00000000-0000-4000-8000-0000000000d1";
  std::string second = "00000000-0000-4000-8000-0000000000d2";
  EXPECT_EQ(post(d, report(first, 1, true, "pass", R"("dropped":3,)")).status, 202);
  EXPECT_EQ(post(d, report(second, 5, true, "pass", R"("dropped":2,)")).status, 202);
  EXPECT_EQ(post(d, report(second, 5, true, "pass", R"("dropped":2,)")).status, 200);  // repeat
  Http bad =
      post(d, report("00000000-0000-4000-8000-0000000000d3", 6, true, "pass", R"("dropped":-1,)"));
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(code(bad), "bad_request");

  Http one = admin("/api/v1/devices/" + d.id);
  auto v = json::parse(one.body);
  ASSERT_TRUE(v.ok()) << one.body;
  ASSERT_NE(v->find("reports_dropped"), nullptr) << one.body;
  EXPECT_EQ(v->find("reports_dropped")->asInt(), 5);
  EXPECT_EQ(v->find("reports_missing")->asInt(), 3);  // sequences 2, 3, 4 never arrived
  Http list = admin("/api/v1/devices");
  auto l = json::parse(list.body);
  ASSERT_TRUE(l.ok()) << list.body;
  EXPECT_EQ(l->find("devices")->asArray()[0].find("reports_dropped")->asInt(), 5);
  EXPECT_EQ(metric("hearth_reports_dropped_total"), 5);
}

INSTANTIATE_TEST_SUITE_P(Backends, ServerApiTest, ::testing::Values("sqlite", "postgresql"));

TEST(ServerCliTest, InitRefusesToOverwriteAndCommandsNeedAState) {
  testing::TempDir dir;
  std::string state = dir.path() + "/s";
  EXPECT_EQ(RunProcess({kServer, "init", "--state-dir", state}).exit_code, 0);
  auto again = RunProcess({kServer, "init", "--state-dir", state});
  EXPECT_EQ(again.exit_code, 2);
  EXPECT_NE(again.err.find("refusing to overwrite"), std::string::npos) << again.err;
  auto missing = RunProcess({kServer, "secret", "list", "--state-dir", dir.path() + "/none"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("hearth-server init"), std::string::npos) << missing.err;
  auto bad = RunProcess({kServer, "secret", "create", "--uses", "0", "--state-dir", state});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("--uses"), std::string::npos);
  auto unknown = RunProcess({kServer, "serve", "--lisen", "x"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.err.find("unknown option \"--lisen\""), std::string::npos);
  EXPECT_EQ(RunProcess({kServer, "--version"}).exit_code, 0);
  // Secrets and keys are private.
  struct stat st {};
  ASSERT_EQ(::stat((state + "/admin-token").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat((state + "/device-ca.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat(state.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  // A new policy version for the level, refused when not newer or invalid.
  std::string p =
      dir.write("p.json", R"({"level":"standard","version":2,"checks":{"disk_encryption":{}}})");
  EXPECT_EQ(RunProcess({kServer, "policy", "set", "--file", p, "--state-dir", state}).exit_code, 0);
  auto old = RunProcess({kServer, "policy", "set", "--file", p, "--state-dir", state});
  EXPECT_EQ(old.exit_code, 2);
  EXPECT_NE(old.err.find("already has version 2"), std::string::npos) << old.err;
  std::string broken =
      dir.write("b.json", R"({"level":"standard","version":3,"checks":{"vpn":{"x":1}}})");
  auto b = RunProcess({kServer, "policy", "set", "--file", broken, "--state-dir", state});
  EXPECT_EQ(b.exit_code, 2);
  EXPECT_NE(b.err.find("checks.vpn.x: unknown key"), std::string::npos) << b.err;
}

// `hearth-server check-db`: ok on a sound database, exit 1 (and what is wrong) on a damaged one.
TEST(ServerCliTest, CheckDbSaysOkOrFindsDamage) {
  testing::TempDir dir;
  std::string state = dir.path() + "/s";
  ASSERT_EQ(RunProcess({kServer, "init", "--state-dir", state}).exit_code, 0);
  auto ok = RunProcess({kServer, "check-db", "--state-dir", state});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_EQ(ok.out, "ok\n");
  // Scribble over every page after the first (the schema stays readable).
  {
    std::fstream db(state + "/hearth.db", std::ios::in | std::ios::out | std::ios::binary);
    db.seekg(0, std::ios::end);
    auto size = static_cast<long>(db.tellg());
    ASSERT_GT(size, 8192);
    db.seekp(4096);
    std::string junk(static_cast<size_t>(size - 4096), '\x5a');
    db.write(junk.data(), static_cast<std::streamsize>(junk.size()));
  }
  auto bad = RunProcess({kServer, "check-db", "--state-dir", state});
  EXPECT_EQ(bad.exit_code, 1) << bad.out << bad.err;
  EXPECT_NE(bad.out + bad.err, "ok\n");
  auto missing = RunProcess({kServer, "check-db", "--state-dir", dir.path() + "/none"});
  EXPECT_EQ(missing.exit_code, 2);
}

}  // namespace
}  // namespace hearth
