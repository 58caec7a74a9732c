// FaultServerTest: the server under fault and its clients (see the header).
#include "server_fault_fixture.h"

#include <cstdlib>
#include <thread>

#include "hearth/json.h"
#include "hearth/protocol/crypto.h"
#include "hearth/text.h"
#include "support/files.h"
#include "support/https_client.h"
#include "support/programs.h"

namespace hearth::testing {

namespace {

// HEARTH_TEST_SERVER_BINARY runs the suite against another build (e.g. main's, to see a defect
// reproduce).
const std::string kServer = std::getenv("HEARTH_TEST_SERVER_BINARY") != nullptr
                                ? std::getenv("HEARTH_TEST_SERVER_BINARY")
                                : hearth::testing::ServerProgram();

struct Request {
  std::string url, ca, cert, key, token;
  const std::string* body = nullptr;  // POST when set
};

Request to(const std::string& url, const std::string& ca) {
  Request r;
  r.url = url;
  r.ca = ca;
  return r;
}

// One request on a connection of its own (so requests from several threads may run at once).
HttpAnswer perform(const Request& r) {
  HttpsClient client(
      {.ca_file = r.ca, .cert_file = r.cert, .key_file = r.key, .timeout_seconds = 30});
  std::vector<std::string> headers;
  if (!r.token.empty()) headers.push_back("Authorization: Bearer " + r.token);
  auto start = std::chrono::steady_clock::now();
  HttpsReply reply =
      r.body != nullptr ? client.postJson(r.url, *r.body, headers) : client.get(r.url, headers);
  HttpAnswer a;
  a.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  a.status = reply.completed() ? reply.status : 0;
  a.body = std::move(reply.body);
  return a;
}

}  // namespace

const std::string& FaultServerTest::serverBinary() { return kServer; }

void FaultServerTest::SetUp() {
  if (postgres()) {
    pg_ = std::make_unique<PostgresSchema>("fault");
    if (pg_->uri().empty()) GTEST_SKIP() << "HEARTH_TEST_PG_URI not set: no PostgreSQL server";
    database_ = pg_->uri();
  }
  state_ = dir_.path() + "/state";
  auto r = init();
  ASSERT_EQ(r.exit_code, 0) << r.err;
}

void FaultServerTest::TearDown() {
  if (server_) server_->stop();
}

ProcessOutput FaultServerTest::init() {
  std::vector<std::string> argv = {kServer, "init", "--state-dir", state_};
  if (!database_.empty()) argv.insert(argv.end(), {"--database", database_});
  return RunProcess(argv);
}

bool FaultServerTest::start(const std::vector<std::string>& extra) {
  if (server_) server_->stop();
  std::vector<std::string> argv = {kServer,    "serve",       "--state-dir",    state_,
                                   "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"};
  if (!database_.empty()) argv.insert(argv.end(), {"--database", database_});
  argv.insert(argv.end(), extra.begin(), extra.end());
  server_ = std::make_unique<ServerProcess>(
      argv, dir_.path() + "/server-" + std::to_string(++log_count_) + ".log");
  EXPECT_TRUE(server_->started()) << serverLog();
  if (!server_->started()) return false;
  devices_ = server_->address("devices");
  admin_ = server_->address("admin");
  return true;
}

ProcessOutput FaultServerTest::cli(std::vector<std::string> args) {
  args.insert(args.begin(), kServer);
  args.insert(args.end(), {"--state-dir", state_});
  if (!database_.empty()) args.insert(args.end(), {"--database", database_});
  return RunProcess(args);
}

std::string FaultServerTest::serverLog() const {
  return server_ ? testing::ReadFile(server_->log_path()) : "";
}

std::string FaultServerTest::fileText(const std::string& path) { return testing::ReadFile(path); }

FaultDevice FaultServerTest::enroll(const std::string& hostname, HttpAnswer* answer) {
  auto key = protocol::Key::generateP256();
  EXPECT_TRUE(key.ok());
  auto csr = protocol::MakeCsr(*key, "fault-test");
  json::Value req = json::Value::object();
  req.set("enroll_secret", text::trim(testing::ReadFile(state_ + "/enroll-secret")));
  req.set("csr", *csr);
  req.set("hostname", hostname);
  std::string body = json::write(req);
  Request r = to("https://" + devices_ + "/api/v1/enroll", state_ + "/ca.pem");
  r.body = &body;
  HttpAnswer a = perform(r);
  if (answer != nullptr) *answer = a;
  FaultDevice d;
  auto v = json::parse(a.body);
  if (a.status != 201 || !v.ok() || v->find("certificate") == nullptr) return d;
  d.id = v->find("device_id")->asString();
  d.key = dir_.write("dev-" + d.id + ".key", *key->privatePem());
  d.cert = dir_.write("dev-" + d.id + ".pem", v->find("certificate")->asString());
  return d;
}

std::string FaultServerTest::reportId(const std::string& label) {
  std::string h = protocol::Sha256Hex(label);
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-4" + h.substr(13, 3) + "-8" + h.substr(17, 3) +
         "-" + h.substr(20, 12);
}

HttpAnswer FaultServerTest::report(const FaultDevice& d, const std::string& label, int64_t sequence,
                                   const std::string& evidence) {
  std::string body =
      R"({"report_id":")" + reportId(label) + R"(","sequence":)" + std::to_string(sequence) +
      R"(,"sent_at":"2026-11-26T10:00:05Z","agent_version":"0.1.0",)"
      R"("machine_id":"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",)"
      R"("result":{"compliant":true,"level":"standard","policy_version":1,)"
      R"("evaluated_at":"2026-11-26T10:00:00Z","host":{"hostname":"pc"},"checks":[)"
      R"({"id":"disk_encryption","verdict":"pass","required":true,"summary":"s",)"
      R"("evidence":)" +
      evidence + R"(,"remediation":"r","duration_ms":1}]}})";
  Request r = to("https://" + devices_ + "/api/v1/reports", state_ + "/ca.pem");
  r.cert = d.cert;
  r.key = d.key;
  r.body = &body;
  return perform(r);
}

HttpAnswer FaultServerTest::admin(const std::string& path) {
  Request r = to("https://" + admin_ + path, state_ + "/ca.pem");
  r.token = text::trim(testing::ReadFile(state_ + "/admin-token"));
  return perform(r);
}

HttpAnswer FaultServerTest::healthz() {
  return perform(to("https://" + admin_ + "/healthz", state_ + "/ca.pem"));
}

bool FaultServerTest::waitFor(const std::function<bool()>& fn, std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (true) {
    if (fn()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

std::vector<std::string> FaultServerTest::historyIds(const std::string& device_id) {
  std::vector<std::string> ids;
  std::string before;
  while (true) {  // every page (a page holds at most 4 MiB of results)
    auto v =
        json::parse(admin("/api/v1/devices/" + device_id + "/history?limit=1000" + before).body,
                    {.max_depth = 64, .max_bytes = 64 << 20});
    if (!v.ok() || v->find("reports") == nullptr) return ids;
    for (const auto& r : v->find("reports")->asArray())
      ids.push_back(r.find("report_id")->asString());
    const json::Value* next = v->find("next");
    if (next == nullptr || !next->isString()) return ids;
    before = "&before=" + next->asString();
  }
}

std::vector<std::string> FaultServerTest::auditActions() {
  std::vector<std::string> actions;
  auto v = json::parse(admin("/api/v1/audit?limit=1000").body);
  if (!v.ok() || v->find("entries") == nullptr) return actions;
  for (const auto& e : v->find("entries")->asArray()) {
    actions.push_back(e.find("action")->asString());
  }
  return actions;
}

}  // namespace hearth::testing
