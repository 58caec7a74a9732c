// Key rotation with several servers on one PostgreSQL database (issue 18): the policy-signing key
// and the server certificate are rotated on one server, the other takes the rotated files with
// `hearth-server join --from DIR --again`, and the servers are restarted one after the other
// (docs/server.md "Several servers behind HAProxy", step 5). Real agents, each pinned to the
// server's TLS key and talking to one of the two servers, follow both rotations: they learn the
// next keys from whichever server they reach, verify the policy signed with the new key, accept
// the new server certificate, and no report is lost while a server is down for its restart.
// Skipped without HEARTH_TEST_PG_URI.
#include <map>
#include <memory>
#include <string>
#include <unistd.h>
#include <vector>

#include <gtest/gtest.h>

#include "hearth/json.h"
#include "hearth/protocol/crypto.h"
#include "support/curl_cli.h"
#include "support/files.h"
#include "support/pg_schema.h"
#include "support/programs.h"
#include "support/server_process.h"
#include "support/temp_dir.h"

namespace hearth::testing {
namespace {

constexpr const char* kPolicy =
    R"({"level":"standard","version":1,"checks":{"disk_encryption":{"required":true}}})";

class ClusterRotationTest : public ::testing::Test {
 protected:
  struct Agent {
    std::string dir;
    TestServer* server;  // the server it talks to (enrolled there)
    int cycles = 0;      // reports made (`run --once` spools one each time)
  };

  void SetUp() override {
    pg_ = std::make_unique<PostgresSchema>("cluster_rotation");
    if (pg_->uri().empty()) GTEST_SKIP() << "HEARTH_TEST_PG_URI not set: no PostgreSQL server";
    a_ = std::make_unique<TestServer>(dir_.path() + "/a", pg_->uri());
    b_ = std::make_unique<TestServer>(dir_.path() + "/b", pg_->uri());
    auto init = a_->init({"--policy", dir_.write("policy.json", kPolicy)});
    ASSERT_EQ(init.exit_code, 0) << init.err;
    auto joined = b_->cli({"join", "--from", a_->stateDir()});
    ASSERT_EQ(joined.exit_code, 0) << joined.err;
    dir_.write("agent.conf", "# test configuration\nproxy = none\n");
    serve(*a_);
    serve(*b_);
  }

  void TearDown() override {
    if (a_) a_->stop();
    if (b_) b_->stop();
  }

  // Starts `server` on the addresses it had (the agents enrolled with them).
  void serve(TestServer& server) {
    std::string& devices = addresses_[&server].first;
    std::string& admin = addresses_[&server].second;
    std::string log = server.stateDir() + ".log";
    ASSERT_TRUE(server.serve(log, {.listen = devices.empty() ? "127.0.0.1:0" : devices,
                                   .admin_listen = admin.empty() ? "127.0.0.1:0" : admin}))
        << ReadFile(log);
    devices = server.address("devices");
    admin = server.address("admin");
  }

  ProcessOutput agent(const Agent& a, std::vector<std::string> args) {
    args.insert(args.begin(), AgentProgram());
    args.insert(args.end(), {"--state-dir", a.dir, "--config", dir_.path() + "/agent.conf"});
    return RunProcess(args);
  }

  // One check cycle and delivery of the agent's whole spool.
  ProcessOutput runOnce(Agent& a) {
    ++a.cycles;
    auto r = agent(a, {"run", "--once"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r;
  }

  json::Value status(const Agent& a) {
    auto s = agent(a, {"status", "--json"});
    auto v = json::parse(s.out);
    EXPECT_TRUE(v.ok()) << s.out << s.err;
    return v.ok() ? std::move(v).value() : json::Value::object();
  }

  // An agent enrolled through `server`, pinning the server's current TLS key.
  Agent enrol(TestServer& server, const std::string& name) {
    Agent a{dir_.path() + "/" + name, &server};
    std::string pin =
        *protocol::Key::fromPem(ReadFile(server.stateDir() + "/server.key"))->publicKeyPin();
    auto e = agent(a, {"enroll", "--server", "https://" + server.address("devices"),
                       "--secret-file", server.stateDir() + "/enroll-secret", "--pin", pin});
    EXPECT_EQ(e.exit_code, 0) << e.err;
    return a;
  }

  // The rolling restart of the procedure: one server after the other, each down while every
  // agent runs a cycle (the agents of the stopped server keep their report spooled).
  void rollingRestart() {
    for (TestServer* s : {a_.get(), b_.get()}) {
      s->stop();
      for (Agent& a : agents_) {
        runOnce(a);
        if (a.server == s) {
          EXPECT_EQ(status(a).find("spool_depth")->asInt(), 1) << a.dir;
        }
      }
      serve(*s);
    }
  }

  // `join --again` on the second server: it takes the files the rotation changed.
  ProcessOutput joinAgain() {
    auto again = b_->cli({"join", "--from", a_->stateDir(), "--again"});
    EXPECT_EQ(again.exit_code, 0) << again.err;
    return again;
  }

  // Reports the server stored for the agent's device.
  size_t storedReports(const Agent& a) {
    std::string id = status(a).find("device_id")->asString();
    json::Value h = CurlAdminJson(addresses_[a_.get()].second, a_->caFile(), a_->adminToken(),
                                  "/api/v1/devices/" + id + "/history?limit=100");
    const json::Value* reports = h.find("reports");
    return reports != nullptr && reports->isArray() ? reports->asArray().size() : 0;
  }

  TempDir dir_;
  std::unique_ptr<PostgresSchema> pg_;
  std::unique_ptr<TestServer> a_, b_;
  std::map<TestServer*, std::pair<std::string, std::string>> addresses_;
  std::vector<Agent> agents_;
};

TEST_F(ClusterRotationTest, AgentsOfBothServersFollowASigningKeyAndAServerCertRotation) {
  agents_.push_back(enrol(*a_, "agent-of-a"));
  agents_.push_back(enrol(*b_, "agent-of-b"));
  for (Agent& a : agents_) {
    auto r = runOnce(a);
    EXPECT_NE(r.out.find("1 delivered; 0 waiting"), std::string::npos) << r.out << r.err;
  }
  const std::string old_pub = ReadFile(a_->stateDir() + "/policy-signing.pub");

  // --- The policy-signing key. Started on A; B takes the next key; both restart.
  auto start = a_->cli({"rotate", "signing-key", "--overlap-days", "30"});
  ASSERT_EQ(start.exit_code, 0) << start.err;
  const std::string next_pub = ReadFile(a_->stateDir() + "/policy-signing.next.pub");
  ASSERT_NE(next_pub, old_pub);
  joinAgain();
  EXPECT_EQ(ReadFile(b_->stateDir() + "/policy-signing.next.pub"), next_pub);
  rollingRestart();
  // Each agent learns the next key from the server it talks to.
  for (Agent& a : agents_) {
    auto r = runOnce(a);
    EXPECT_NE(r.out.find("0 waiting"), std::string::npos) << a.dir << r.out << r.err;
    EXPECT_EQ(ReadFile(a.dir + "/policy-signing.next.pub"), next_pub) << a.dir << r.err;
  }

  // The next key takes over on A, B follows; a new policy version is signed with it.
  auto finish = a_->cli({"rotate", "signing-key", "--finish"});
  ASSERT_EQ(finish.exit_code, 0) << finish.err;
  auto took = joinAgain();
  EXPECT_NE(took.out.find("policy-signing.next.key"), std::string::npos) << took.out;
  EXPECT_EQ(ReadFile(b_->stateDir() + "/policy-signing.pub"), next_pub);
  rollingRestart();
  std::string v2 = dir_.write(
      "policy-v2.json",
      R"({"level":"standard","version":2,"checks":{"disk_encryption":{"required":false}}})");
  ASSERT_EQ(a_->cli({"policy", "set", "--file", v2}).exit_code, 0);
  for (Agent& a : agents_) {
    runOnce(a);
    json::Value s = status(a);
    EXPECT_EQ(s.find("policy_version")->asInt(), 2) << a.dir;
    EXPECT_TRUE(s.find("policy_problem")->isNull()) << a.dir << json::write(s);
    EXPECT_EQ(ReadFile(a.dir + "/policy-signing.pub"), next_pub) << a.dir;
  }

  // --- The server certificate. The next key is prepared on A; B takes it, so both announce its
  // pin; the agents learn it from their own server.
  auto prepare = a_->cli({"rotate", "server-cert", "--prepare"});
  ASSERT_EQ(prepare.exit_code, 0) << prepare.err;
  const std::string next_pin = prepare.out.substr(0, 52);
  joinAgain();
  rollingRestart();
  for (Agent& a : agents_) {
    auto r = runOnce(a);
    EXPECT_NE(ReadFile(a.dir + "/server-pins.json").find(next_pin), std::string::npos)
        << a.dir << r.err;
  }
  // The switch on A, B takes the new certificate; both restart and present it.
  const std::string old_cert = ReadFile(a_->stateDir() + "/server.pem");
  auto rotated = a_->cli({"rotate", "server-cert"});
  ASSERT_EQ(rotated.exit_code, 0) << rotated.err;
  EXPECT_EQ(rotated.err.find("warning"), std::string::npos) << rotated.err;
  joinAgain();
  const std::string new_cert = ReadFile(b_->stateDir() + "/server.pem");
  EXPECT_EQ(new_cert, ReadFile(a_->stateDir() + "/server.pem"));
  EXPECT_NE(new_cert, old_cert);
  rollingRestart();
  for (Agent& a : agents_) {
    auto r = runOnce(a);
    EXPECT_NE(r.out.find("delivered; 0 waiting"), std::string::npos) << a.dir << r.out << r.err;
    json::Value s = status(a);
    EXPECT_EQ(s.find("spool_depth")->asInt(), 0) << a.dir;
    EXPECT_TRUE(s.find("delivery_error") == nullptr || s.find("delivery_error")->isNull())
        << a.dir << json::write(s);
  }

  // Not one report lost: every cycle of every agent is stored, through either server.
  for (const Agent& a : agents_)
    EXPECT_EQ(storedReports(a), static_cast<size_t>(a.cycles)) << a.dir;
}

// What an operator notices when a server is restarted without `join --again` after the other's
// rotation: it goes on announcing nothing, so its agents never learn the next key.
TEST_F(ClusterRotationTest, AServerThatDidNotTakeTheRotatedFilesAnnouncesNothing) {
  agents_.push_back(enrol(*b_, "agent-of-b"));
  runOnce(agents_[0]);
  ASSERT_EQ(a_->cli({"rotate", "server-cert", "--prepare"}).exit_code, 0);
  a_->stop();
  serve(*a_);
  b_->stop();
  serve(*b_);
  runOnce(agents_[0]);
  std::string pins = ReadFile(agents_[0].dir + "/server-pins.json");
  std::string next_pin =
      *protocol::Key::fromPem(ReadFile(a_->stateDir() + "/server.next.key"))->publicKeyPin();
  EXPECT_EQ(pins.find(next_pin), std::string::npos) << pins;
  // After the procedure it does.
  joinAgain();
  b_->stop();
  serve(*b_);
  runOnce(agents_[0]);
  EXPECT_NE(ReadFile(agents_[0].dir + "/server-pins.json").find(next_pin), std::string::npos);
}

}  // namespace
}  // namespace hearth::testing
