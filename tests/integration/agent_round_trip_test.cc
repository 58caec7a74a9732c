// hearth-agent against a real hearth-server on loopback: enrolment (CA file or key pin), the
// offline spool delivered exactly once and in order, the privacy promise checkable by the person
// at the PC (show-report as an ordinary user prints what the server stored).
#include <fstream>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "hearth/agent/server_view.h"
#include "hearth/json.h"
#include "hearth/protocol/crypto.h"
#include "hearth/time.h"
#include "support/curl_cli.h"
#include "support/files.h"
#include "support/programs.h"
#include "support/server_process.h"
#include "support/temp_dir.h"

namespace hearth {
namespace {

using testing::RunProcess;

const std::string kAgent = hearth::testing::AgentProgram();

using testing::ReadFile;

// A policy with only the disk check: fast, and judged the same on every machine here.
constexpr const char* kPolicy =
    R"({"level":"standard","version":1,"checks":{"disk_encryption":{"required":true}}})";

class AgentRoundTripTest : public ::testing::Test {
 protected:
  void SetUp() override {
    state_ = dir_.path() + "/server";
    agent_ = dir_.path() + "/agent";
    std::string policy = dir_.write("policy.json", kPolicy);
    server_ = std::make_unique<testing::TestServer>(state_);
    auto init = server_->init({"--policy", policy});
    ASSERT_EQ(init.exit_code, 0) << init.err;
    start("127.0.0.1:0");
  }

  void start(const std::string& listen) {
    ASSERT_TRUE(server_->serve(dir_.path() + "/server.log", {.listen = listen}))
        << ReadFile(dir_.path() + "/server.log");
    devices_ = server_->address("devices");
    admin_ = server_->address("admin");
  }

  testing::ProcessOutput agent(std::vector<std::string> args) {
    args.insert(args.begin(), kAgent);
    args.insert(args.end(), {"--state-dir", agent_, "--config", dir_.path() + "/agent.conf"});
    return RunProcess(args);
  }

  json::Value adminGet(const std::string& path) {
    return testing::CurlAdminJson(admin_, state_ + "/ca.pem", server_->adminToken(), path);
  }

  void SetUpConfig() { dir_.write("agent.conf", "# test configuration\nproxy = none\n"); }

  testing::TempDir dir_;
  std::string state_, agent_, devices_, admin_;
  std::unique_ptr<testing::TestServer> server_;
};

TEST_F(AgentRoundTripTest, OfflineReportsAreDeliveredOnceInOrder) {
  SetUpConfig();
  auto e = agent({"enroll", "--server", "https://" + devices_, "--secret-file",
                  state_ + "/enroll-secret", "--ca-file", state_ + "/ca.pem", "--owner", "alice"});
  ASSERT_EQ(e.exit_code, 0) << e.err;
  // Idempotent.
  auto again = agent({"enroll", "--server", "https://" + devices_, "--secret-file",
                      state_ + "/enroll-secret", "--ca-file", state_ + "/ca.pem"});
  EXPECT_EQ(again.exit_code, 0) << again.err;
  struct stat st {};
  ASSERT_EQ(::stat((agent_ + "/device.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  std::string listen = devices_;
  server_->stop();
  for (int i = 0; i < 3; ++i) {
    auto r = agent({"run", "--once"});
    EXPECT_EQ(r.exit_code, 0) << r.err;  // an unreachable server is not an error of the run
  }
  auto status = agent({"status", "--json"});
  auto sj = json::parse(status.out);
  ASSERT_TRUE(sj.ok()) << status.out;
  EXPECT_EQ(sj->find("spool_depth")->asInt(), 3);

  start(listen);  // the same address the agent enrolled with
  auto deliver = agent({"run", "--once"});
  ASSERT_EQ(deliver.exit_code, 0) << deliver.err;
  EXPECT_NE(deliver.out.find("4 delivered; 0 waiting"), std::string::npos) << deliver.out;

  auto devices = adminGet("/api/v1/devices");
  ASSERT_EQ(devices.find("devices")->size(), 1u);
  std::string id = devices.find("devices")->asArray()[0].find("device_id")->asString();
  EXPECT_EQ(devices.find("devices")->asArray()[0].find("owner")->asString(), "alice");
  auto history = adminGet("/api/v1/devices/" + id + "/history");
  const auto& reports = history.find("reports")->asArray();
  ASSERT_EQ(reports.size(), 4u);  // exactly once each
  for (size_t i = 0; i < reports.size(); ++i) {
    EXPECT_EQ(reports[i].find("sequence")->asInt(), static_cast<int64_t>(4 - i));
  }
  EXPECT_EQ(adminGet("/api/v1/devices/" + id).find("reports_missing")->asInt(), 0);

  // The person at the PC, without root, sees exactly what the server stored (/var/lib/hearth
  // is world-traversable; the test's temporary directory is made so too).
  ::chmod(dir_.path().c_str(), 0755);
  auto shown = RunProcess(
      {"/usr/sbin/runuser", "-u", "nobody", "--", kAgent, "show-report", "--state-dir", agent_});
  if (::geteuid() == 0) {
    ASSERT_EQ(shown.exit_code, 0) << shown.err;
  } else {
    shown = agent({"show-report"});
  }
  auto sent = json::parse(shown.out);
  ASSERT_TRUE(sent.ok()) << shown.out;
  EXPECT_EQ(sent->find("report_id")->asString(), reports[0].find("report_id")->asString());
  EXPECT_EQ(*sent->find("result"), *reports[0].find("result"));
  EXPECT_EQ(ReadFile(agent_ + "/last-report.json"), shown.out);  // byte for byte
  auto human = agent({"status"});
  EXPECT_NE(human.out.find("Reports waiting to be sent: 0"), std::string::npos) << human.out;
  EXPECT_NE(human.out.find("  Disk encryption: "), std::string::npos) << human.out;  // by its name
}

// The person at the PC sees what the company's server made of the last report (issue 14): the
// device's status and, per check, an exemption IT granted (or a deadline), kept in status.json
// from the acknowledgement and still shown while the server is away.
TEST_F(AgentRoundTripTest, StatusShowsTheCompanysViewFromTheLastAcknowledgement) {
  SetUpConfig();
  auto e = agent({"enroll", "--server", "https://" + devices_, "--secret-file",
                  state_ + "/enroll-secret", "--ca-file", state_ + "/ca.pem"});
  ASSERT_EQ(e.exit_code, 0) << e.err;
  ASSERT_EQ(agent({"run", "--once"}).exit_code, 0);
  auto devices = adminGet("/api/v1/devices");
  ASSERT_EQ(devices.find("devices")->size(), 1u);
  std::string id = devices.find("devices")->asArray()[0].find("device_id")->asString();
  auto until = std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now() +
                                                                  std::chrono::hours(24 * 10));
  json::Value made = testing::CurlAdminJson(
      admin_, state_ + "/ca.pem", server_->adminToken(), "/api/v1/exemptions",
      {"-X", "POST", "-H", "Content-Type: application/json", "--data-binary",
       R"({"device_id":")" + id + R"(","check":"disk_encryption","until":")" +
           formatRfc3339(until) + R"(","reason":"new disk on order"})"});
  ASSERT_NE(made.find("exemption_id"), nullptr) << json::write(made);

  ASSERT_EQ(agent({"run", "--once"}).exit_code, 0);
  auto check = [&](const std::string& when) {
    auto status = json::parse(agent({"status", "--json"}).out);
    ASSERT_TRUE(status.ok()) << when;
    const json::Value* view = status->find("server_view");
    ASSERT_NE(view, nullptr) << when << ": " << json::write(*status);
    EXPECT_EQ(view->find("device_status")->asString(), "compliant") << when;
    ASSERT_EQ(view->find("checks")->size(), 1u) << when;
    const json::Value& c = view->find("checks")->asArray()[0];
    EXPECT_EQ(c.find("id")->asString(), "disk_encryption") << when;
    EXPECT_EQ(c.find("exempt_until")->asString(), formatRfc3339(until)) << when;
    // (Its deadline, grace 0: since the first failing report, past, is shown beside it.)
    auto human = agent({"status"});
    size_t view_at = human.out.find(
        "The company's view after the last report: meets the agreed level\n  Disk encryption: ");
    ASSERT_NE(view_at, std::string::npos) << when << ":\n" << human.out;
    std::string line = human.out.substr(view_at, human.out.find('\n', view_at + 70) - view_at);
    EXPECT_NE(line.find("exempted by IT until " +
                        agent::PersonTime(until, std::chrono::system_clock::now())),
              std::string::npos)
        << when << ":\n"
        << human.out;
  };
  check("after the acknowledgement");
  // Kept while the server is away: the next run's report stays spooled, the view stays.
  server_->stop();
  ASSERT_EQ(agent({"run", "--once"}).exit_code, 0);
  check("with the server away");
}

// Issue 16 item 1 ("one truth"): on an enrolled PC, `check` judges against the company's policy
// in force (the one the agent verified and saved) with the agent's state, so its verdicts are the
// ones IT sees; it judged against the local file before, and disagreed. --policy is a trial and
// says so; a saved policy that does not verify is refused, never used.
TEST_F(AgentRoundTripTest, CheckOnAnEnrolledPcJudgesAgainstTheCompanysPolicyInForce) {
  const std::string local =
      dir_.write("local-policy.json",
                 R"({"level":"home","version":7,"checks":{"disk_encryption":{"required":true},)"
                 R"("screen_lock":{"required":false}}})");
  dir_.write("agent.conf", "proxy = none\npolicy = " + local + "\n");
  auto levelOf = [](const testing::ProcessOutput& r) {
    auto doc = json::parse(r.out);
    EXPECT_TRUE(doc.ok()) << r.out << r.err;
    return doc.ok() ? doc->find("level")->asString() + " v" +
                          std::to_string(doc->find("policy_version")->asInt()) + " " +
                          std::to_string(doc->find("checks")->size())
                    : std::string();
  };
  ASSERT_EQ(::mkdir(agent_.c_str(), 0755), 0);
  EXPECT_EQ(levelOf(agent({"check", "--json"})), "home v7 2");  // not enrolled: the local file

  auto e = agent({"enroll", "--server", "https://" + devices_, "--secret-file",
                  state_ + "/enroll-secret", "--ca-file", state_ + "/ca.pem"});
  ASSERT_EQ(e.exit_code, 0) << e.err;
  // Enrolment fetched the company's policy (below); without it, the local file, and said so.
  const std::string saved_policy = ReadFile(agent_ + "/policy.signed.json");
  ASSERT_EQ(::unlink((agent_ + "/policy.signed.json").c_str()), 0);
  auto waiting = agent({"check"});
  EXPECT_NE(
      waiting.out.find("The company's policy has not reached this PC yet: judged against " + local),
      std::string::npos)
      << waiting.out;

  ASSERT_EQ(agent({"run", "--once"}).exit_code, 0);
  ASSERT_EQ(ReadFile(agent_ + "/policy.signed.json"), saved_policy);  // fetched again
  auto r = agent({"check", "--json"});
  EXPECT_EQ(levelOf(r), "standard v1 1");
  EXPECT_TRUE(r.err.empty()) << r.err;
  // The same verdict the server stored from the agent's report.
  auto devices = adminGet("/api/v1/devices");
  ASSERT_EQ(devices.find("devices")->size(), 1u);
  const json::Value& server_check =
      devices.find("devices")->asArray()[0].find("checks")->asArray()[0];
  auto doc = json::parse(r.out);
  ASSERT_TRUE(doc.ok());
  const json::Value& local_check = doc->find("checks")->asArray()[0];
  EXPECT_EQ(local_check.find("id")->asString(), server_check.find("id")->asString());
  EXPECT_EQ(local_check.find("verdict")->asString(), server_check.find("verdict")->asString());
  auto text = agent({"check"});
  EXPECT_NE(text.out.find("for level \"standard\" (policy version 1)"), std::string::npos)
      << text.out;
  EXPECT_EQ(text.out.find("Trial"), std::string::npos) << text.out;

  auto trial = agent({"check", "--policy", local});
  EXPECT_NE(trial.out.find("for level \"home\" (policy version 7)"), std::string::npos);
  EXPECT_NE(
      trial.out.find("Trial: judged against " + local + ", not the company's policy in force."),
      std::string::npos)
      << trial.out;
  auto trial_json = agent({"check", "--json", "--policy", local});
  EXPECT_EQ(levelOf(trial_json), "home v7 2");
  EXPECT_NE(trial_json.err.find("Trial: judged against " + local), std::string::npos);

  // A person without root: the same policy in force (its signature checked as that person) and
  // the same verdict; nothing in the agent's state changes.
  ASSERT_EQ(::chmod(dir_.path().c_str(), 0755), 0);
  struct stat before {};
  ASSERT_EQ(::stat(agent_.c_str(), &before), 0);
  auto person = RunProcess({"/usr/bin/setpriv", "--reuid=nobody", "--regid=nogroup",
                            "--clear-groups", kAgent, "check", "--json", "--state-dir", agent_,
                            "--config", dir_.path() + "/agent.conf"});
  EXPECT_EQ(levelOf(person), "standard v1 1") << person.err;
  EXPECT_EQ(person.exit_code, r.exit_code);
  struct stat after {};
  ASSERT_EQ(::stat(agent_.c_str(), &after), 0);
  EXPECT_EQ(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
  EXPECT_EQ(after.st_mtim.tv_sec, before.st_mtim.tv_sec);

  // Someone edits the saved policy: its signature no longer holds.
  std::string saved = ReadFile(agent_ + "/policy.signed.json");
  size_t at = saved.find("\"signature\"");
  ASSERT_NE(at, std::string::npos) << saved;
  at = saved.find_first_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
                           saved.find(':', at));
  saved[at] = saved[at] == 'A' ? 'B' : 'A';
  dir_.write("agent/policy.signed.json", saved);
  auto tampered = agent({"check"});
  EXPECT_EQ(tampered.exit_code, 2);
  EXPECT_NE(
      tampered.err.find("the company's policy " + agent_ + "/policy.signed.json cannot be used"),
      std::string::npos)
      << tampered.err;
}

TEST_F(AgentRoundTripTest, PinnedEnrolmentAndAWrongPinSendsNothing) {
  SetUpConfig();
  // The pin of the server's TLS key, computed as an administrator would with openssl.
  auto pub =
      RunProcess({"/usr/bin/openssl", "x509", "-in", state_ + "/server.pem", "-pubkey", "-noout"});
  ASSERT_EQ(pub.exit_code, 0);
  auto key = protocol::Key::fromPem(pub.out, true);
  ASSERT_TRUE(key.ok());
  std::string pin = *key->publicKeyPin();

  std::string wrong = "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
  auto refused = agent({"enroll", "--server", "https://" + devices_, "--secret-file",
                        state_ + "/enroll-secret", "--pin", wrong});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.err.find("pinned"), std::string::npos) << refused.err;
  EXPECT_EQ(adminGet("/api/v1/devices").find("devices")->size(), 0u);  // nothing was sent

  auto no_trust = agent(
      {"enroll", "--server", "https://" + devices_, "--secret-file", state_ + "/enroll-secret"});
  EXPECT_EQ(no_trust.exit_code, 2);
  EXPECT_NE(no_trust.err.find("never trusted on first use"), std::string::npos) << no_trust.err;

  auto ok = agent({"enroll", "--server", "https://" + devices_, "--secret-file",
                   state_ + "/enroll-secret", "--pin", pin});
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  auto run = agent({"run", "--once"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.out.find("1 delivered"), std::string::npos) << run.out << run.err;
}

TEST_F(AgentRoundTripTest, BadConfigurationNamesFileAndKey) {
  dir_.write("agent.conf", "proxy = none\nprocy = http://x\n");
  auto r = agent({"status"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("agent.conf:2: procy: unknown key"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace hearth
