// Enrolment control and IT accounts against the real hearth-server on loopback: every kind of
// enrolment secret and its limits, the approval queue, the enrolment-spike and cloned-disk
// alerts, owner changes, token scopes on every write path, tokens hashed at rest, and the
// append-only audit log (API and command line). SQLite and, when HEARTH_TEST_PG_URI is set,
// PostgreSQL.
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "hearth/json.h"
#include "hearth/server/state.h"
#include "hearth/server/store.h"
#include "support/curl_cli.h"
#include "support/files.h"
#include "support/pg_schema.h"
#include "support/programs.h"
#include "support/server_process.h"
#include "support/temp_dir.h"

namespace hearth {
namespace {

using testing::RunProcess;

const std::string kAgent = hearth::testing::AgentProgram();
const std::string kOpenssl = "/usr/bin/openssl";
constexpr const char* kMachineA =
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
constexpr const char* kMachineB =
    "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";

using Http = testing::CurlAnswer;

using testing::ReadFile;
using testing::Trimmed;

std::string field(const Http& h, const std::string& name) {
  auto v = json::parse(h.body);
  if (!v.ok() || !v->isObject() || v->find(name) == nullptr || !v->find(name)->isString()) {
    return "";
  }
  return v->find(name)->asString();
}

class ServerAdminTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "postgresql") {
      pg_ = std::make_unique<testing::PostgresSchema>("admin");
      if (pg_->uri().empty()) GTEST_SKIP() << "HEARTH_TEST_PG_URI not set: no PostgreSQL server";
      database_ = pg_->uri();
    }
    state_ = dir_.path() + "/state";
    server_ = std::make_unique<testing::TestServer>(state_, database_);
    auto r = server_->init();
    ASSERT_EQ(r.exit_code, 0) << r.err;
    admin_token_ = server_->adminToken();
    secret_ = server_->enrollSecret();
    start({});
  }

  void start(const std::vector<std::string>& options) {
    server_->stop();
    std::string log = dir_.path() + "/server" + std::to_string(++starts_) + ".log";
    ASSERT_TRUE(server_->serve(log, {.extra = options})) << ReadFile(log);
    devices_ = server_->address("devices");
    admin_ = server_->address("admin");
  }

  // hearth-server with this test's state dir and database.
  testing::ProcessOutput cli(std::vector<std::string> args) { return server_->cli(args); }

  std::string database() const { return database_.empty() ? state_ + "/hearth.db" : database_; }

  Http curl(const std::string& url, std::vector<std::string> extra = {}) {
    return testing::Curl(url, {.ca_file = state_ + "/ca.pem", .extra = std::move(extra)});
  }

  Http admin(const std::string& path, std::vector<std::string> extra = {},
             const std::string& token = "") {
    extra.insert(extra.end(),
                 {"-H", "Authorization: Bearer " + (token.empty() ? admin_token_ : token)});
    return curl("https://" + admin_ + path, extra);
  }

  Http adminPost(const std::string& path, const std::string& body = "",
                 const std::string& token = "") {
    std::vector<std::string> extra = {"-X", "POST"};
    if (!body.empty()) {
      extra.insert(extra.end(), {"-H", "Content-Type: application/json", "--data-binary", body});
    }
    return admin(path, extra, token);
  }

  json::Value adminJson(const std::string& path) {
    Http h = admin(path);
    EXPECT_EQ(h.status, 200) << path << ": " << h.body;
    auto v = json::parse(h.body);
    EXPECT_TRUE(v.ok()) << h.body;
    return v.ok() ? std::move(v).value() : json::Value::object();
  }

  struct Device {
    std::string id, key, cert;
    int status = 0;
    Http answer;
  };

  Device enroll(const std::string& secret, const std::string& hostname,
                const std::string& owner = "") {
    std::string base = dir_.path() + "/dev" + std::to_string(++devices_made_);
    auto gen = RunProcess({kOpenssl, "req", "-new", "-newkey", "ec", "-pkeyopt",
                           "ec_paramgen_curve:P-256", "-nodes", "-keyout", base + ".key", "-out",
                           base + ".csr", "-subj", "/CN=hearth-test-device"});
    EXPECT_EQ(gen.exit_code, 0) << gen.err;
    json::Value req = json::Value::object();
    req.set("enroll_secret", secret);
    req.set("csr", ReadFile(base + ".csr"));
    req.set("hostname", hostname);
    if (!owner.empty()) req.set("owner", owner);
    std::string req_path = base + ".json";
    std::ofstream(req_path) << json::write(req);
    Device d;
    d.answer = curl("https://" + devices_ + "/api/v1/enroll",
                    {"-H", "Content-Type: application/json", "--data-binary", "@" + req_path});
    d.status = d.answer.status;
    if (d.status != 201) return d;
    auto resp = json::parse(d.answer.body);
    EXPECT_TRUE(resp.ok()) << d.answer.body;
    d.id = resp->find("device_id")->asString();
    d.key = base + ".key";
    d.cert = base + ".pem";
    std::ofstream(d.cert) << resp->find("certificate")->asString();
    return d;
  }

  Http report(const Device& d, int sequence, const std::string& machine_id,
              const std::string& verdict = "pass") {
    std::string body = R"({"report_id":"00000000-0000-4000-8000-)" + uuidTail() +
                       R"(","sequence":)" + std::to_string(sequence) +
                       R"(,"sent_at":"2026-11-26T10:00:05Z","agent_version":"0.1.0",)" +
                       R"("machine_id":")" + machine_id + R"(",)" + R"("result":{"compliant":)" +
                       (verdict == "pass" ? "true" : "false") +
                       R"(,"level":"standard","policy_version":1,"evaluated_at":)" +
                       R"("2026-11-26T10:00:00Z","host":{"hostname":"pc"},"checks":[{"id":)" +
                       R"("disk_encryption","verdict":")" + verdict +
                       R"(","required":true,"summary":"s","evidence":{},"remediation":"r",)" +
                       R"("duration_ms":1}]}})";
    std::string path = dir_.path() + "/report.json";
    std::ofstream(path) << body;
    return curl("https://" + devices_ + "/api/v1/reports",
                {"--cert", d.cert, "--key", d.key, "-H", "Content-Type: application/json",
                 "--data-binary", "@" + path});
  }

  std::string uuidTail() {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%012d", ++reports_made_);
    return buf;
  }

  // Feed events of one type.
  std::vector<json::Value> events(const std::string& type) {
    std::vector<json::Value> out;
    json::Value feed = adminJson("/api/v1/feed?limit=1000");
    for (const auto& e : feed.find("events")->asArray()) {
      if (e.find("type")->asString() == type) out.push_back(e);
    }
    return out;
  }

  json::Value deviceFromList(const std::string& id) {
    json::Value list = adminJson("/api/v1/devices");
    for (const auto& d : list.find("devices")->asArray()) {
      if (d.find("device_id")->asString() == id) return d;
    }
    ADD_FAILURE() << "device " << id << " not listed";
    return json::Value::object();
  }

  std::string newSecret(std::vector<std::string> options) {
    options.insert(options.begin(), {"secret", "create"});
    auto r = cli(options);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return Trimmed(r.out);
  }

  std::string newToken(const std::string& name, const std::string& scope) {
    auto r = cli({"token", "create", "--name", name, "--scope", scope});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return Trimmed(r.out);
  }

  std::unique_ptr<testing::PostgresSchema> pg_;
  std::string database_;
  testing::TempDir dir_;
  std::unique_ptr<testing::TestServer> server_;
  std::string state_, devices_, admin_, admin_token_, secret_;
  int starts_ = 0, devices_made_ = 0, reports_made_ = 0;
};

// Single-use, limited, per-person, rollout, expired, revoked, unknown: each limit holds, and each
// refusal says why in a sentence with a stable code and reason.
TEST_P(ServerAdminTest, EverySecretKindKeepsItsLimits) {
  // Single-use: exactly one device; the second attempt is refused, clearly.
  std::string single = newSecret({"--uses", "1"});
  Device first = enroll(single, "pc-single-1");
  EXPECT_EQ(first.status, 201) << first.answer.body;
  Device second = enroll(single, "pc-single-2");
  EXPECT_EQ(second.status, 403);
  EXPECT_EQ(field(second.answer, "code"), "enroll_secret_refused") << second.answer.body;
  EXPECT_EQ(field(second.answer, "reason"), "secret_used_up") << second.answer.body;
  EXPECT_NE(field(second.answer, "error").find("one PC only and is used up"), std::string::npos)
      << second.answer.body;
  EXPECT_NE(field(second.answer, "error").find("ask IT"), std::string::npos);

  // Limited: N uses.
  std::string limited = newSecret({"--uses", "3"});
  for (int i = 0; i < 3; ++i) EXPECT_EQ(enroll(limited, "pc-lim-" + std::to_string(i)).status, 201);
  Device fourth = enroll(limited, "pc-lim-3");
  EXPECT_EQ(fourth.status, 403);
  EXPECT_EQ(field(fourth.answer, "reason"), "secret_used_up");
  EXPECT_NE(field(fourth.answer, "error").find("used up (3 enrolments)"), std::string::npos)
      << fourth.answer.body;

  // Per-person: the device belongs to the secret's owner, whatever the request claims.
  std::string personal = newSecret({"--owner", "alice@example.com", "--uses", "2"});
  Device alice = enroll(personal, "pc-alice", "mallory@example.com");
  ASSERT_EQ(alice.status, 201);
  EXPECT_EQ(deviceFromList(alice.id).find("owner")->asString(), "alice@example.com");

  // Rollout: shared, unlimited.
  for (int i = 0; i < 4; ++i)
    EXPECT_EQ(enroll(secret_, "pc-roll-" + std::to_string(i)).status, 201);

  // Expired: made through the store with a lifetime already over.
  {
    auto store = server::OpenStore(database());
    ASSERT_TRUE(store.ok()) << store.status().toString();
    server::SecretRecord spec;
    spec.level = "standard";
    spec.created_at = std::chrono::system_clock::now() - std::chrono::hours(48);
    spec.expires_at = std::chrono::system_clock::now() - std::chrono::hours(1);
    ASSERT_TRUE((*store)->createSecret(server::HashSecret("hes_expired"), spec).ok());
  }
  Device expired = enroll("hes_expired", "pc-expired");
  EXPECT_EQ(expired.status, 403);
  EXPECT_EQ(field(expired.answer, "reason"), "secret_expired");
  EXPECT_NE(field(expired.answer, "error").find("expired on"), std::string::npos);

  // Revoked.
  std::string revoked = newSecret({});
  auto list = cli({"secret", "list"});
  ASSERT_EQ(list.exit_code, 0);
  EXPECT_NE(list.out.find("KIND"), std::string::npos) << list.out;
  for (const char* kind : {"single-use", "limited", "per-person", "rollout"}) {
    EXPECT_NE(list.out.find(std::string("  ") + kind), std::string::npos) << kind << list.out;
  }
  std::string last_id = list.out.substr(list.out.rfind('\n', list.out.size() - 2) + 1);
  last_id = last_id.substr(0, last_id.find(' '));
  ASSERT_EQ(cli({"secret", "revoke", last_id}).exit_code, 0);
  Device after_revoke = enroll(revoked, "pc-revoked");
  EXPECT_EQ(after_revoke.status, 403);
  EXPECT_EQ(field(after_revoke.answer, "reason"), "secret_revoked") << after_revoke.answer.body;
  EXPECT_NE(field(after_revoke.answer, "error").find("was revoked"), std::string::npos);

  // Unknown.
  Device unknown = enroll("hes_nonsense", "pc-unknown");
  EXPECT_EQ(unknown.status, 403);
  EXPECT_EQ(field(unknown.answer, "reason"), "secret_unknown");

  // Exactly the devices that were let in exist.
  EXPECT_EQ(adminJson("/api/v1/devices").find("devices")->size(), 1u + 3u + 1u + 4u);
}

// The agent shows the person enrolling what the server said.
TEST_P(ServerAdminTest, AgentEnrolPrintsTheServersRefusal) {
  if (GetParam() != "sqlite") GTEST_SKIP() << "backend-independent";
  std::string single = newSecret({"--uses", "1"});
  ASSERT_EQ(enroll(single, "pc-first").status, 201);
  std::string secret_file = dir_.write("secret", single + "\n");
  ::chmod(secret_file.c_str(), 0600);
  dir_.write("agent.conf", "proxy = none\n");
  auto r = RunProcess({kAgent, "enroll", "--server", "https://" + devices_, "--secret-file",
                       secret_file, "--ca-file", state_ + "/ca.pem", "--state-dir",
                       dir_.path() + "/agent", "--config", dir_.path() + "/agent.conf"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("HTTP 403"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("was for one PC only and is used up; ask IT for a new "
                       "enrolment secret"),
            std::string::npos)
      << r.err;
}

// Devices of an approval secret wait as "pending": reports kept, not counted; IT approves or
// rejects through the API and the command line.
TEST_P(ServerAdminTest, ApprovalQueueKeepsReportsAndWaitsForIt) {
  std::string queued = newSecret({"--approval", "--uses", "5"});
  Device a = enroll(queued, "pc-wait-a");
  ASSERT_EQ(a.status, 201) << a.answer.body;
  auto answer = json::parse(a.answer.body);
  EXPECT_TRUE(answer->find("pending_approval")->asBool());
  Device b = enroll(queued, "pc-wait-b");
  ASSERT_EQ(b.status, 201);
  Device normal = enroll(secret_, "pc-normal");
  EXPECT_FALSE(json::parse(normal.answer.body)->find("pending_approval")->asBool());

  // Its report is stored (nothing lost), but it counts nowhere yet.
  EXPECT_EQ(report(a, 1, kMachineA, "pass").status, 202);
  EXPECT_EQ(report(normal, 1, kMachineB, "pass").status, 202);
  json::Value listed = deviceFromList(a.id);
  EXPECT_EQ(listed.find("status")->asString(), "pending");
  EXPECT_TRUE(listed.find("pending_approval")->asBool());
  EXPECT_EQ(adminJson("/api/v1/devices/" + a.id + "/history").find("reports")->size(), 1u);
  EXPECT_EQ(adminJson("/api/v1/devices?status=compliant").find("devices")->size(), 1u);
  EXPECT_EQ(adminJson("/api/v1/devices?status=unknown").find("devices")->size(), 0u);
  EXPECT_EQ(adminJson("/api/v1/devices?status=pending").find("devices")->size(), 2u);
  Http metrics = curl("https://" + admin_ + "/metrics");
  EXPECT_NE(metrics.body.find("hearth_devices{status=\"pending\"} 2"), std::string::npos);
  EXPECT_NE(metrics.body.find("hearth_devices{status=\"compliant\"} 1"), std::string::npos);
  EXPECT_EQ(events("pending").size(), 2u);
  auto pending = cli({"device", "list", "--pending"});
  EXPECT_EQ(pending.exit_code, 0) << pending.err;
  EXPECT_NE(pending.out.find(a.id), std::string::npos);
  EXPECT_NE(pending.out.find(b.id), std::string::npos);
  EXPECT_EQ(pending.out.find(normal.id), std::string::npos);
  auto pending_json = cli({"device", "list", "--pending", "--json"});
  auto pj = json::parse(pending_json.out);
  ASSERT_TRUE(pj.ok()) << pending_json.out;
  ASSERT_EQ(pj->find("devices")->size(), 2u);
  EXPECT_TRUE(pj->find("devices")->asArray()[0].find("pending_approval")->asBool());
  EXPECT_EQ(pj->find("devices")->asArray()[0].find("status")->asString(), "pending");

  // Approve through the API: it counts from now on, with its stored result.
  Http approved = adminPost("/api/v1/devices/" + a.id + "/approve");
  EXPECT_EQ(approved.status, 200) << approved.body;
  EXPECT_EQ(deviceFromList(a.id).find("status")->asString(), "compliant");
  EXPECT_FALSE(deviceFromList(a.id).find("pending_approval")->asBool());
  EXPECT_EQ(adminJson("/api/v1/devices?status=compliant").find("devices")->size(), 2u);
  EXPECT_EQ(events("approved").size(), 1u);
  Http again = adminPost("/api/v1/devices/" + a.id + "/approve");
  EXPECT_EQ(again.status, 404);  // not waiting any more
  EXPECT_EQ(adminPost("/api/v1/devices/" + normal.id + "/approve").status, 404);

  // Reject through the command line: retired, its certificate refused.
  auto rejected = cli({"device", "reject", b.id});
  EXPECT_EQ(rejected.exit_code, 0) << rejected.err;
  EXPECT_EQ(events("rejected").size(), 1u);
  Http refused = report(b, 1, kMachineA);
  EXPECT_EQ(refused.status, 403);
  EXPECT_EQ(field(refused, "code"), "retired");
  auto none = cli({"device", "list", "--pending"});
  EXPECT_EQ(none.out.find(b.id), std::string::npos);
  EXPECT_EQ(cli({"device", "approve", b.id}).exit_code, 2);  // nothing waiting: said, exit 2
}

// More enrolments from one secret within the window than the threshold: one alert per window.
TEST_P(ServerAdminTest, EnrolmentSpikeRaisesOneAlertPerWindow) {
  // The count from server.conf, the window from the command line; bad values are refused.
  auto bad = cli({"serve", "--enroll-spike-count", "0"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("--enroll-spike-count \"0\": expected a whole number"), std::string::npos)
      << bad.err;
  std::string conf = dir_.write("server.conf", "enroll_spike_count = 3\n");
  start({"--config", conf, "--enroll-spike-minutes", "10"});
  std::string other = newSecret({});
  for (int i = 0; i < 3; ++i) ASSERT_EQ(enroll(secret_, "pc-" + std::to_string(i)).status, 201);
  EXPECT_EQ(events("enrolment_spike").size(), 0u);  // at the threshold: not yet
  for (int i = 3; i < 7; ++i) ASSERT_EQ(enroll(secret_, "pc-" + std::to_string(i)).status, 201);
  for (int i = 0; i < 3; ++i) ASSERT_EQ(enroll(other, "pc-o" + std::to_string(i)).status, 201);
  auto spikes = events("enrolment_spike");
  ASSERT_EQ(spikes.size(), 1u);  // once per window, not once per enrolment
  EXPECT_EQ(spikes[0].find("secret_id")->asInt(), 1);
  EXPECT_EQ(spikes[0].find("count")->asInt(), 4);
  EXPECT_EQ(spikes[0].find("window_seconds")->asInt(), 600);
  // The other secret: 3 enrolments, not above the threshold.
}

// Two devices reporting one machine_id (a cloned disk): both flagged, one feed event per pair.
TEST_P(ServerAdminTest, ClonedMachineIdIsFlaggedOncePerPair) {
  Device a = enroll(secret_, "pc-original");
  Device b = enroll(secret_, "pc-clone");
  Device c = enroll(secret_, "pc-other");
  for (int seq = 1; seq <= 3; ++seq) {
    ASSERT_EQ(report(a, seq, kMachineA).status, 202);
    ASSERT_EQ(report(b, seq, kMachineA).status, 202);
    ASSERT_EQ(report(c, seq, kMachineB).status, 202);
  }
  EXPECT_TRUE(deviceFromList(a.id).find("duplicate_machine_id")->asBool());
  EXPECT_TRUE(deviceFromList(b.id).find("duplicate_machine_id")->asBool());
  EXPECT_FALSE(deviceFromList(c.id).find("duplicate_machine_id")->asBool());
  EXPECT_TRUE(adminJson("/api/v1/devices/" + b.id).find("duplicate_machine_id")->asBool());
  EXPECT_EQ(deviceFromList(a.id).find("reported_by")->asString(), "device");
  auto dup = events("duplicate_machine_id");
  ASSERT_EQ(dup.size(), 1u);
  EXPECT_EQ(dup[0].find("device_id")->asString(), b.id);
  EXPECT_EQ(dup[0].find("other_device_id")->asString(), a.id);
  Http csv = admin("/api/v1/devices.csv");
  ASSERT_EQ(csv.status, 200);
  EXPECT_NE(csv.body.find(",pending_approval,duplicate_machine_id,reported_by\r\n"),
            std::string::npos);
  std::istringstream lines(csv.body);
  std::string line;
  int flagged = 0;
  while (std::getline(lines, line)) {
    if (line.find(",true,device\r") != std::string::npos) ++flagged;
  }
  EXPECT_EQ(flagged, 2) << csv.body;
  auto cli_list = cli({"device", "list"});
  EXPECT_NE(cli_list.out.find("duplicate-machine-id"), std::string::npos) << cli_list.out;

  // Retiring the clone clears the flag on the original.
  ASSERT_EQ(adminPost("/api/v1/devices/" + b.id + "/retire").status, 200);
  EXPECT_FALSE(deviceFromList(a.id).find("duplicate_machine_id")->asBool());
  EXPECT_EQ(events("duplicate_machine_id").size(), 1u);
}

// A read-only token is refused (403, JSON) on every write path of the admin listener: all those
// in openapi.json and any other method on any path; expired and revoked tokens get 401.
TEST_P(ServerAdminTest, ReadOnlyTokenCannotChangeAnything) {
  Device d = enroll(secret_, "pc-ro");
  ASSERT_EQ(report(d, 1, kMachineA).status, 202);
  std::string queued = newSecret({"--approval"});
  Device waiting = enroll(queued, "pc-ro-wait");
  std::string ro = newToken("auditor", "read");

  // Every non-GET admin operation documented, plus the ones this test knows of.
  auto doc = json::parse(ReadFile(std::string(HEARTH_SOURCE_DIR) + "/server-api/openapi.json"),
                         {.max_depth = 64});
  ASSERT_TRUE(doc.ok());
  std::set<std::pair<std::string, std::string>> writes = {{"/api/v1/devices/{id}/retire", "POST"},
                                                          {"/api/v1/devices/{id}/approve", "POST"},
                                                          {"/api/v1/devices/{id}/reject", "POST"},
                                                          {"/api/v1/devices/{id}/owner", "POST"}};
  size_t documented = 0;
  for (const auto& [path, item] : doc->find("paths")->asObject()) {
    for (const auto& [method, op] : item.asObject()) {
      if (op.find("x-listener")->asString() != "admin" || method == "get") continue;
      std::string upper = method;
      std::transform(upper.begin(), upper.end(), upper.begin(), ::toupper);
      writes.insert({path, upper});
      ++documented;
    }
  }
  EXPECT_GE(documented, 4u) << "openapi.json lists the admin write paths";
  // Methods a client might try on the readable paths too.
  for (const char* path : {"/api/v1/devices", "/api/v1/devices/{id}", "/api/v1/feed",
                           "/api/v1/devices.csv", "/api/v1/audit"}) {
    for (const char* method : {"POST", "PUT", "DELETE", "PATCH"}) writes.insert({path, method});
  }
  for (const auto& [path, method] : writes) {
    for (const std::string& id : {d.id, waiting.id}) {
      std::string url_path = path;
      if (size_t p = url_path.find("{id}"); p != std::string::npos) url_path.replace(p, 4, id);
      Http h = admin(url_path,
                     {"-X", method, "-H", "Content-Type: application/json", "--data-binary",
                      R"({"owner":"mallory"})"},
                     ro);
      EXPECT_EQ(h.status, 403) << method << " " << url_path << ": " << h.body;
      EXPECT_EQ(field(h, "code"), "read_only_token") << method << " " << url_path << h.body;
      EXPECT_NE(field(h, "error").find("scope admin"), std::string::npos) << h.body;
    }
  }
  // The audit log is for admins too.
  EXPECT_EQ(admin("/api/v1/audit", {}, ro).status, 403);
  // Nothing changed; reads work.
  json::Value still = deviceFromList(d.id);
  EXPECT_EQ(still.find("status")->asString(), "compliant");
  EXPECT_TRUE(still.find("owner")->isNull());
  EXPECT_TRUE(deviceFromList(waiting.id).find("pending_approval")->asBool());
  for (const char* path : {"/api/v1/devices", "/api/v1/feed", "/api/v1/devices.csv"}) {
    EXPECT_EQ(admin(path, {}, ro).status, 200) << path;
  }
  EXPECT_EQ(admin("/api/v1/devices/" + d.id, {}, ro).status, 200);
  EXPECT_EQ(admin("/api/v1/devices/" + d.id + "/history", {}, ro).status, 200);

  // Expired (made through the store with a lifetime already over) and revoked tokens: 401.
  {
    auto store = server::OpenStore(database());
    ASSERT_TRUE(store.ok()) << store.status().toString();
    server::TokenRecord spec;
    spec.name = "old contractor";
    spec.scope = "admin";
    spec.created_at = std::chrono::system_clock::now() - std::chrono::hours(48);
    spec.expires_at = std::chrono::system_clock::now() - std::chrono::minutes(1);
    ASSERT_TRUE((*store)->createToken(server::HashSecret("hat_expired"), spec).ok());
  }
  Http expired = admin("/api/v1/devices", {}, "hat_expired");
  EXPECT_EQ(expired.status, 401);
  EXPECT_EQ(field(expired, "code"), "unauthorized");
  EXPECT_EQ(adminPost("/api/v1/devices/" + d.id + "/retire", "", "hat_expired").status, 401);
  std::string leaving = newToken("leaving", "admin");
  EXPECT_EQ(admin("/api/v1/devices", {}, leaving).status, 200);
  auto tokens = cli({"token", "list"});
  std::string id = tokens.out.substr(tokens.out.find("  leaving") - 1, 1);
  ASSERT_EQ(cli({"token", "revoke", id}).exit_code, 0);
  Http revoked = admin("/api/v1/devices", {}, leaving);
  EXPECT_EQ(revoked.status, 401);
  EXPECT_EQ(field(revoked, "code"), "unauthorized");
}

// Tokens and secrets are stored only as hashes: the raw values are nowhere in the database files.
TEST_P(ServerAdminTest, TokensAndSecretsAreHashedAtRest) {
  std::string token = newToken("siem", "read");
  std::string secret = newSecret({"--uses", "1"});
  ASSERT_EQ(admin("/api/v1/devices", {}, token).status, 200);
  std::string bytes;
  if (GetParam() == "sqlite") {
    bytes = ReadFile(state_ + "/hearth.db") + ReadFile(state_ + "/hearth.db-wal");
  } else {
    if (::access("/usr/bin/psql", X_OK) != 0) GTEST_SKIP() << "no psql to read the tables";
    // Every column of the two tables, as text.
    auto dump = RunProcess({"/usr/bin/psql", database_, "-At", "-v", "ON_ERROR_STOP=1", "-c",
                            "SELECT t::text FROM admin_tokens t UNION ALL "
                            "SELECT s::text FROM enroll_secrets s"});
    ASSERT_EQ(dump.exit_code, 0) << dump.err;
    bytes = dump.out + std::string(4096, ' ');
  }
  ASSERT_GT(bytes.size(), 4096u);
  for (const std::string& raw : {token, secret, admin_token_, secret_}) {
    ASSERT_EQ(raw.size(), 52u) << raw;
    EXPECT_EQ(bytes.find(raw), std::string::npos) << "raw value in the database";
    EXPECT_EQ(bytes.find(raw.substr(4)), std::string::npos) << "raw value in the database";
    EXPECT_NE(bytes.find(server::HashSecret(raw)), std::string::npos) << "its hash is there";
  }
}

// Every admin action lands in the append-only audit log, readable through the API and the CLI.
TEST_P(ServerAdminTest, AuditLogRecordsEveryAdminAction) {
  Device d = enroll(secret_, "pc-audit");
  std::string queued = newSecret({"--approval", "--uses", "2"});
  Device w1 = enroll(queued, "pc-audit-w1");
  Device w2 = enroll(queued, "pc-audit-w2");
  // Command line: token create/revoke, secret create/revoke, policy set, device owner/approve.
  newToken("temp", "read");
  ASSERT_EQ(cli({"token", "revoke", "2"}).exit_code, 0);
  ASSERT_EQ(cli({"secret", "revoke", "2"}).exit_code, 0);
  std::string policy =
      dir_.write("p.json", R"({"level":"standard","version":2,"checks":{"disk_encryption":{}}})");
  ASSERT_EQ(cli({"policy", "set", "--file", policy}).exit_code, 0);
  ASSERT_EQ(cli({"device", "owner", d.id, "carol@example.com"}).exit_code, 0);
  ASSERT_EQ(cli({"device", "approve", w2.id}).exit_code, 0);
  // API: approve, reject, owner, CSV export, retire.
  ASSERT_EQ(adminPost("/api/v1/devices/" + w1.id + "/reject").status, 200);
  Http owner = adminPost("/api/v1/devices/" + d.id + "/owner", R"({"owner":"dave@example.com"})");
  ASSERT_EQ(owner.status, 200) << owner.body;
  EXPECT_EQ(deviceFromList(d.id).find("owner")->asString(), "dave@example.com");
  Http bad_owner = adminPost("/api/v1/devices/" + d.id + "/owner", R"({"owner":42})");
  EXPECT_EQ(bad_owner.status, 400);
  EXPECT_EQ(adminPost("/api/v1/devices/nonexistent/owner", R"({"owner":"x"})").status, 404);
  ASSERT_EQ(admin("/api/v1/devices.csv?status=compliant").status, 200);
  ASSERT_EQ(adminPost("/api/v1/devices/" + d.id + "/retire").status, 200);
  // A failed action is not an action: nothing recorded for it.
  EXPECT_EQ(adminPost("/api/v1/devices/" + d.id + "/retire").status, 404);

  const std::string me = Trimmed(RunProcess({"/usr/bin/id", "-un"}).out);
  struct Expected {
    std::string actor, action, target;
  };
  std::vector<Expected> expected = {
      {"cli:" + me, "server.init", "state-dir:" + state_},
      {"cli:" + me, "secret.create", "secret:2"},
      {"cli:" + me, "token.create", "token:2"},
      {"cli:" + me, "token.revoke", "token:2"},
      {"cli:" + me, "secret.revoke", "secret:2"},
      {"cli:" + me, "policy.set", "level:standard"},
      {"cli:" + me, "device.owner", "device:" + d.id},
      {"cli:" + me, "device.approve", "device:" + w2.id},
      {"initial admin", "device.reject", "device:" + w1.id},
      {"initial admin", "device.owner", "device:" + d.id},
      {"initial admin", "export.csv", "devices"},
      {"initial admin", "device.retire", "device:" + d.id},
  };
  auto check = [&](const json::Value& entries, const std::string& where) {
    ASSERT_EQ(entries.size(), expected.size()) << where << ": " << json::write(entries);
    for (size_t i = 0; i < expected.size(); ++i) {
      const json::Value& e = entries.asArray()[i];
      EXPECT_EQ(e.find("actor")->asString(), expected[i].actor) << where << " " << i;
      EXPECT_EQ(e.find("action")->asString(), expected[i].action) << where << " " << i;
      EXPECT_EQ(e.find("target")->asString(), expected[i].target) << where << " " << i;
      EXPECT_FALSE(e.find("at")->asString().empty());
    }
  };
  json::Value api = adminJson("/api/v1/audit");
  check(*api.find("entries"), "GET /api/v1/audit");
  const json::Value& entries = api.find("entries")->asArray();
  EXPECT_EQ(entries.asArray()[9].find("detail")->find("owner")->asString(), "dave@example.com");
  EXPECT_EQ(entries.asArray()[10].find("detail")->find("status")->asString(), "compliant");
  EXPECT_EQ(entries.asArray()[2].find("detail")->find("scope")->asString(), "read");
  // Paging.
  json::Value page = adminJson("/api/v1/audit?limit=4");
  EXPECT_EQ(page.find("entries")->size(), 4u);
  json::Value rest = adminJson("/api/v1/audit?after=" + page.find("next")->asString());
  EXPECT_EQ(rest.find("entries")->size(), expected.size() - 4);
  EXPECT_EQ(rest.find("entries")->asArray()[0].find("action")->asString(), "secret.revoke");

  auto listed = cli({"audit", "list", "--json"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  auto cli_json = json::parse(listed.out);
  ASSERT_TRUE(cli_json.ok()) << listed.out;
  check(*cli_json->find("entries"), "audit list --json");
  auto paged = cli({"audit", "list", "--json", "--after", "2", "--limit", "3"});
  auto pj = json::parse(paged.out);
  ASSERT_TRUE(pj.ok()) << paged.out << paged.err;
  ASSERT_EQ(pj->find("entries")->size(), 3u);
  EXPECT_EQ(pj->find("entries")->asArray()[0].find("cursor")->asString(), "3");
  auto table = cli({"audit", "list"});
  EXPECT_NE(table.out.find("cli:" + me + "  policy.set  level:standard"), std::string::npos)
      << table.out;
  EXPECT_NE(table.out.find("initial admin  device.retire  device:" + d.id), std::string::npos);

  // Append-only where the database can be reached directly too (SQLite here).
  if (GetParam() == "sqlite" && ::access("/usr/bin/sqlite3", X_OK) == 0) {
    auto del = RunProcess({"/usr/bin/sqlite3", state_ + "/hearth.db", "DELETE FROM audit_log"});
    EXPECT_NE(del.exit_code, 0);
    EXPECT_NE(del.err.find("append-only"), std::string::npos) << del.err;
    auto upd = RunProcess(
        {"/usr/bin/sqlite3", state_ + "/hearth.db", "UPDATE audit_log SET actor = 'nobody'"});
    EXPECT_NE(upd.exit_code, 0);
    EXPECT_EQ(adminJson("/api/v1/audit").find("entries")->size(), expected.size());
  }
  if (GetParam() == "postgresql" && ::access("/usr/bin/psql", X_OK) == 0) {
    for (const char* sql :
         {"DELETE FROM audit_log", "UPDATE audit_log SET actor = 'nobody'", "TRUNCATE audit_log"}) {
      auto r = RunProcess({"/usr/bin/psql", database_, "-v", "ON_ERROR_STOP=1", "-c", sql});
      EXPECT_NE(r.exit_code, 0) << sql;
      EXPECT_NE(r.err.find("append-only"), std::string::npos) << sql << ": " << r.err;
    }
    EXPECT_EQ(adminJson("/api/v1/audit").find("entries")->size(), expected.size());
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, ServerAdminTest, ::testing::Values("sqlite", "postgresql"));

}  // namespace
}  // namespace hearth
