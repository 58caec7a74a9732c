// Backup while the real server ingests, restore into a fresh state directory, start the restored
// server elsewhere: every report acknowledged before the backup's snapshot is there, the devices
// (mTLS clients and a real hearth-agent with its own state) keep reporting to it, real agents
// re-send what the old server acknowledged after the snapshot (so nothing acknowledged is
// missing), and a wrong passphrase restores nothing. Runs on SQLite and, when HEARTH_TEST_PG_URI is
// set, PostgreSQL.
#include <atomic>
#include <chrono>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

#include <Poco/Data/PostgreSQL/Connector.h>
#include <Poco/Data/SQLite/Connector.h>
#include <Poco/Data/Session.h>
#include <gtest/gtest.h>

#include "hearth/json.h"
#include "hearth/protocol/crypto.h"
#include "hearth/server/store.h"
#include "support/curl_cli.h"
#include "support/files.h"
#include "support/https_client.h"
#include "support/programs.h"
#include "support/report_body.h"
#include "support/server_process.h"
#include "support/temp_dir.h"

namespace hearth {
namespace {

using testing::RunProcess;
using Clock = std::chrono::system_clock;

const std::string kServer = hearth::testing::ServerProgram();
const std::string kAgent = hearth::testing::AgentProgram();

constexpr const char* kPolicy =
    R"({"level":"standard","version":1,"checks":{"disk_encryption":{"required":true}}})";

using testing::PollUntil;
using testing::ReadFile;
using testing::Trimmed;

// A device as a plain mTLS client (libcurl, keep-alive).
struct Client {
  std::string key, cert;
  int64_t next_sequence = 1;
};

testing::HttpsClient clientFor(const std::string& ca, const Client& c) {
  return testing::HttpsClient({.ca_file = ca, .cert_file = c.cert, .key_file = c.key});
}

// POSTs `body` to `url` as `c`; the HTTP status (0 when there was no answer).
long post(const std::string& url, const std::string& ca, const Client& c, const std::string& body) {
  testing::HttpsReply reply = clientFor(ca, c).postJson(url, body);
  return reply.completed() ? reply.status : 0;
}

class BackupRestoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    Poco::Data::SQLite::Connector::registerConnector();
    Poco::Data::PostgreSQL::Connector::registerConnector();
    if (GetParam() == "postgresql") {
      const char* uri = std::getenv("HEARTH_TEST_PG_URI");
      if (uri == nullptr || *uri == '\0') GTEST_SKIP() << "HEARTH_TEST_PG_URI not set";
      base_uri_ = uri;
      // Two fresh databases: the server's, and an empty one to restore into.
      std::string tag = std::to_string(::getpid());
      db_a_ = createDatabase("hearth_bk_a_" + tag);
      db_b_ = createDatabase("hearth_bk_b_" + tag);
    }
    state_ = dir_.path() + "/server";
    agent_ = dir_.path() + "/agent";
    dir_.write("agent.conf", "proxy = none\n");
    config_ = dir_.write("server.conf", "# the test server's configuration\nstale_after = 24\n");
    pass_ = dir_.write("passphrase", "a long passphrase for the test\n");
    std::string policy = dir_.write("policy.json", kPolicy);
    auto r = testing::TestServer(state_, db_a_).init({"--policy", policy, "--config", config_});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  void TearDown() override {
    for (const auto& db : {db_a_, db_b_}) {
      if (db.empty()) continue;
      try {
        Poco::Data::Session s("PostgreSQL", *server::PostgresUriToConninfo(base_uri_));
        s << "DROP DATABASE IF EXISTS " + db.substr(db.rfind('/') + 1) + " WITH (FORCE)",
            Poco::Data::Keywords::now;
      } catch (const Poco::Exception&) {
      }
    }
  }

  // A new database on the test server; its URI.
  std::string createDatabase(const std::string& name) {
    Poco::Data::PostgreSQL::Connector::registerConnector();
    Poco::Data::Session s("PostgreSQL", *server::PostgresUriToConninfo(base_uri_));
    s << "DROP DATABASE IF EXISTS " + name + " WITH (FORCE)", Poco::Data::Keywords::now;
    s << "CREATE DATABASE " + name, Poco::Data::Keywords::now;
    std::string uri = base_uri_;
    size_t q = uri.find('?');
    std::string query = q == std::string::npos ? "" : uri.substr(q);
    uri = uri.substr(0, q);
    size_t slash = uri.find('/', uri.find("://") + 3);
    return (slash == std::string::npos ? uri : uri.substr(0, slash)) + "/" + name + query;
  }

  std::unique_ptr<testing::TestServer> serve(const std::string& state, const std::string& db,
                                             const std::string& log) {
    auto p = std::make_unique<testing::TestServer>(state, db);
    EXPECT_TRUE(p->serve(dir_.path() + "/" + log, {.extra = {"--config", config_}}))
        << ReadFile(dir_.path() + "/" + log);
    return p;
  }

  testing::ProcessOutput agent(std::vector<std::string> args) {
    args.insert(args.begin(), kAgent);
    args.insert(args.end(), {"--state-dir", agent_, "--config", dir_.path() + "/agent.conf"});
    return RunProcess(args);
  }

  Client enrollClient(const std::string& devices, int i) {
    auto d = testing::EnrolDevice("https://" + devices, state_ + "/ca.pem",
                                  Trimmed(ReadFile(state_ + "/enroll-secret")),
                                  "pc-" + std::to_string(i), "backup-test");
    EXPECT_TRUE(d.ok()) << d.error;
    if (!d.ok()) return {};
    return Client{dir_.write("c" + std::to_string(i) + ".key", d.key_pem),
                  dir_.write("c" + std::to_string(i) + ".pem", d.cert_pem)};
  }

  json::Value adminGet(const std::string& state, const std::string& admin,
                       const std::string& path) {
    return testing::CurlAdminJson(admin, state + "/ca.pem",
                                  Trimmed(ReadFile(state + "/admin-token")), path);
  }

  std::set<std::string> storedReportIds(const std::string& state, const std::string& db) {
    std::vector<std::string> ids;
    if (db.empty()) {
      Poco::Data::SQLite::Connector::registerConnector();
      Poco::Data::Session s("SQLite", state + "/hearth.db");
      s << "SELECT report_id FROM reports", Poco::Data::Keywords::into(ids),
          Poco::Data::Keywords::now;
    } else {
      Poco::Data::Session s("PostgreSQL", *server::PostgresUriToConninfo(db));
      s << "SELECT report_id FROM reports", Poco::Data::Keywords::into(ids),
          Poco::Data::Keywords::now;
    }
    return {ids.begin(), ids.end()};
  }

  std::vector<std::string> withDb(std::vector<std::string> argv, const std::string& db) {
    if (!db.empty()) argv.insert(argv.end(), {"--database", db});
    return argv;
  }

  // A device that reported once and was retired; the server is stopped again. Returns its id.
  std::string retireOne() {
    auto server = serve(state_, db_a_, "server-a.log");
    if (!server->started()) return "";
    std::string devices = server->address("devices"), admin = server->address("admin");
    Client c = enrollClient(devices, 0);
    EXPECT_EQ(post("https://" + devices + "/api/v1/reports", state_ + "/ca.pem", c,
                   hearth::testing::MinimalReportBody(*protocol::RandomUuid(), 1)),
              202);
    json::Value list = adminGet(state_, admin, "/api/v1/devices");
    std::string id = list.find("devices")->asArray()[0].find("device_id")->asString();
    std::string token = Trimmed(ReadFile(state_ + "/admin-token"));
    auto retire = testing::Curl("https://" + admin + "/api/v1/devices/" + id + "/retire",
                                {.ca_file = state_ + "/ca.pem",
                                 .extra = {"-H", "Authorization: Bearer " + token, "-X", "POST"}});
    EXPECT_EQ(retire.status, 200) << retire.err;
    server->stop();
    return id;
  }

  // Moves every retirement into the past, as time would.
  void backdateRetirement() {
    const char* q = "UPDATE devices SET retired_at = '2026-01-01T00:00:00Z'";
    if (db_a_.empty()) {
      Poco::Data::Session s("SQLite", state_ + "/hearth.db");
      s << q, Poco::Data::Keywords::now;
    } else {
      Poco::Data::Session s("PostgreSQL", *server::PostgresUriToConninfo(db_a_));
      s << q, Poco::Data::Keywords::now;
    }
  }

  testing::TempDir dir_;
  std::string base_uri_, db_a_, db_b_;
  std::string state_, agent_, config_, pass_;
};

TEST_P(BackupRestoreTest, BackupDuringIngestRestoresEveryAcknowledgedReportAndAgentsGoOn) {
  auto server = serve(state_, db_a_, "server-a.log");
  ASSERT_TRUE(server->started());
  std::string devices = server->address("devices");
  std::string ca = state_ + "/ca.pem";

  // A real agent enrols and delivers one report.
  auto e = agent({"enroll", "--server", "https://" + devices, "--secret-file",
                  state_ + "/enroll-secret", "--ca-file", ca, "--owner", "alice"});
  ASSERT_EQ(e.exit_code, 0) << e.err;
  auto first = agent({"run", "--once"});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  ASSERT_NE(first.out.find("1 delivered"), std::string::npos) << first.out << first.err;

  // Four devices post continuously, each ack recorded with the moment it arrived.
  constexpr int kClients = 4;
  std::vector<Client> clients;
  for (int i = 0; i < kClients; ++i) clients.push_back(enrollClient(devices, i));
  struct Ack {
    std::string id;
    Clock::time_point at;
  };
  std::mutex mu;
  std::vector<Ack> acks;
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (auto& client : clients) {
    threads.emplace_back([&, c = &client] {
      testing::HttpsClient h = clientFor(ca, *c);
      std::vector<Ack> mine;
      while (!stop) {
        std::string id = *protocol::RandomUuid();
        testing::HttpsReply reply =
            h.postJson("https://" + devices + "/api/v1/reports",
                       hearth::testing::MinimalReportBody(id, c->next_sequence));
        long code = reply.completed() ? reply.status : 0;
        if (code == 202 || code == 200) {
          mine.push_back({id, Clock::now()});
          ++c->next_sequence;
        }
      }
      std::lock_guard<std::mutex> lock(mu);
      acks.insert(acks.end(), mine.begin(), mine.end());
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));

  std::string out = dir_.path() + "/server.hbk";
  auto backup_start = Clock::now();
  auto backup = RunProcess(withDb({kServer, "backup", "--state-dir", state_, "--out", out,
                                   "--passphrase-file", pass_, "--config", config_},
                                  db_a_));
  auto backup_end = Clock::now();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  stop = true;
  for (auto& t : threads) t.join();
  ASSERT_EQ(backup.exit_code, 0) << backup.err;
  server->stop();

  // The snapshot's moment, as the backup reports it.
  size_t at = backup.out.find("unix ms ");
  ASSERT_NE(at, std::string::npos) << backup.out;
  Clock::time_point snapshot{std::chrono::milliseconds(std::stoll(backup.out.substr(at + 8)))};
  EXPECT_GE(snapshot, backup_start - std::chrono::seconds(1));
  EXPECT_LE(snapshot, backup_end);
  struct stat st {};
  ASSERT_EQ(::stat(out.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(ReadFile(out).find("BEGIN"), std::string::npos);  // no key in the clear

  // A wrong passphrase restores nothing.
  std::string target = dir_.path() + "/restored";
  std::string wrong = dir_.write("wrong", "a long passphrase for the tesT\n");
  auto refused = RunProcess(withDb(
      {kServer, "restore", "--in", out, "--state-dir", target, "--passphrase-file", wrong}, db_b_));
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.err.find("wrong passphrase"), std::string::npos) << refused.err;
  EXPECT_EQ(::access(target.c_str(), F_OK), -1);
  // On the command line it is refused before anything is read.
  auto on_argv = RunProcess({kServer, "restore", "--in", out, "--state-dir", target, "--passphrase",
                             "a long passphrase for the test"});
  EXPECT_EQ(on_argv.exit_code, 2);
  EXPECT_NE(on_argv.err.find("--passphrase-file"), std::string::npos) << on_argv.err;

  auto restored = RunProcess(withDb(
      {kServer, "restore", "--in", out, "--state-dir", target, "--passphrase-file", pass_}, db_b_));
  ASSERT_EQ(restored.exit_code, 0) << restored.err;
  EXPECT_NE(restored.out.find("integrity ok"), std::string::npos) << restored.out;
  EXPECT_EQ(ReadFile(target + "/server.conf.from-backup"), ReadFile(config_));

  // Every report acknowledged before the snapshot is in the restored database; the backup
  // overlapped real ingest (acknowledgements before, during and after it).
  std::set<std::string> stored = storedReportIds(target, db_b_);
  size_t before = 0, during = 0, missing = 0;
  for (const auto& a : acks) {
    if (a.at < snapshot) {
      ++before;
      if (stored.count(a.id) == 0) ++missing;
    } else if (a.at < backup_end) {
      ++during;
    }
  }
  EXPECT_GT(before, 20u);
  EXPECT_EQ(missing, 0u) << "of " << before << " acknowledged before the snapshot";
  std::cout << "[ info ] acknowledged: " << acks.size() << " (" << before
            << " before the snapshot, " << during
            << " while the backup ran); restored: " << stored.size() << " reports\n";

  // The restored server, elsewhere (a new port), serves the same devices.
  auto second = serve(target, db_b_, "server-b.log");
  ASSERT_TRUE(second->started());
  std::string new_devices = second->address("devices");
  ASSERT_NE(new_devices, devices);
  // A client's next report is accepted; an old acknowledged one is recognised as stored.
  Client& c0 = clients[0];
  EXPECT_EQ(post("https://" + new_devices + "/api/v1/reports", target + "/ca.pem", c0,
                 hearth::testing::MinimalReportBody(*protocol::RandomUuid(), c0.next_sequence)),
            202);
  // The agent's name for the server now points at the new place (as DNS would after a move).
  std::string enrollment = ReadFile(agent_ + "/enrollment.json");
  size_t pos = enrollment.find(devices);
  ASSERT_NE(pos, std::string::npos) << enrollment;
  enrollment.replace(pos, devices.size(), new_devices);
  std::ofstream(agent_ + "/enrollment.json", std::ios::trunc) << enrollment;
  auto again = agent({"run", "--once"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.out.find("1 delivered"), std::string::npos) << again.out << again.err;

  std::string admin = second->address("admin");
  json::Value list = adminGet(target, admin, "/api/v1/devices?limit=100");
  std::string agent_id;
  for (const auto& d : list.find("devices")->asArray()) {
    if (d.find("owner") != nullptr && d.find("owner")->isString() &&
        d.find("owner")->asString() == "alice") {
      agent_id = d.find("device_id")->asString();
    }
  }
  ASSERT_FALSE(agent_id.empty()) << json::write(list);
  json::Value history = adminGet(target, admin, "/api/v1/devices/" + agent_id + "/history");
  EXPECT_EQ(history.find("reports")->size(), 2u);  // the one before the backup, the new one
  auto check = RunProcess(withDb({kServer, "check-db", "--state-dir", target}, db_b_));
  EXPECT_EQ(check.out, "ok\n") << check.err;
}

// The issue's acceptance: `backup` during ingest, then `restore` elsewhere; the restored server
// accepts the agents' reports and no acknowledged report is missing. Real agents report (`run
// --once` in loops) before, while and AFTER the backup runs: what the old server acknowledged after
// the snapshot is not in the backup, and the agents removed it from their spools. Once each agent
// has delivered one more report to the restored server, every report the old server ever
// acknowledged is there, each once, and no device misses a sequence: the agents re-sent their
// kept copies (sent history) because the acknowledgement said the server lacked them.
TEST_P(BackupRestoreTest, AgentsResendWhatTheOldServerAcknowledgedAfterTheSnapshot) {
  auto server = serve(state_, db_a_, "server-a.log");
  ASSERT_TRUE(server->started());
  std::string devices = server->address("devices");
  std::string ca = state_ + "/ca.pem";

  constexpr int kAgents = 3;
  auto agentIn = [&](const std::string& dir, std::vector<std::string> args) {
    args.insert(args.begin(), kAgent);
    args.insert(args.end(), {"--state-dir", dir, "--config", dir_.path() + "/agent.conf"});
    return RunProcess(args);
  };
  std::vector<std::string> agents;
  for (int i = 0; i < kAgents; ++i) {
    agents.push_back(dir_.path() + "/agent-" + std::to_string(i));
    auto e = agentIn(agents.back(), {"enroll", "--server", "https://" + devices, "--secret-file",
                                     state_ + "/enroll-secret", "--ca-file", ca, "--owner",
                                     "owner-" + std::to_string(i)});
    ASSERT_EQ(e.exit_code, 0) << e.err;
  }
  std::atomic<bool> stop{false};
  std::atomic<int> runs{0}, failed{0};
  std::vector<std::thread> loops;
  for (const auto& a : agents) {
    loops.emplace_back([&, a] {
      while (!stop) {
        auto r = agentIn(a, {"run", "--once"});
        if (r.exit_code != 0 || r.out.find("1 delivered") == std::string::npos) ++failed;
        ++runs;
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  std::string out = dir_.path() + "/server.hbk";
  auto backup = RunProcess(withDb({kServer, "backup", "--state-dir", state_, "--out", out,
                                   "--passphrase-file", pass_, "--config", config_},
                                  db_a_));
  ASSERT_EQ(backup.exit_code, 0) << backup.err;
  int runs_at_backup_end = runs;
  // The old server goes on acknowledging for a while after the backup (until it "dies").
  auto until = Clock::now() + std::chrono::seconds(3);
  while (Clock::now() < until || runs < runs_at_backup_end + 2 * kAgents) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  stop = true;
  for (auto& t : loops) t.join();
  EXPECT_EQ(failed, 0) << "every run delivered its report to the old server";
  server->stop();
  // Everything the old server ever acknowledged (it answers only once a report is stored).
  std::set<std::string> acknowledged = storedReportIds(state_, db_a_);

  std::string target = dir_.path() + "/restored";
  auto restored = RunProcess(withDb(
      {kServer, "restore", "--in", out, "--state-dir", target, "--passphrase-file", pass_}, db_b_));
  ASSERT_EQ(restored.exit_code, 0) << restored.err;
  std::set<std::string> in_backup = storedReportIds(target, db_b_);
  size_t lost = 0;
  for (const auto& id : acknowledged) lost += in_backup.count(id) == 0 ? 1 : 0;
  std::cout << "[ info ] " << runs << " agent runs; the old server acknowledged "
            << acknowledged.size() << " reports, " << lost << " of them after the snapshot\n";
  ASSERT_GT(lost, 0u) << "the test must cover reports acknowledged after the snapshot";

  auto second = serve(target, db_b_, "server-b.log");
  ASSERT_TRUE(second->started());
  std::string new_devices = second->address("devices");
  bool said = false;
  for (const auto& a : agents) {
    std::string enrollment = ReadFile(a + "/enrollment.json");
    size_t pos = enrollment.find(devices);
    ASSERT_NE(pos, std::string::npos) << enrollment;
    enrollment.replace(pos, devices.size(), new_devices);
    std::ofstream(a + "/enrollment.json", std::ios::trunc) << enrollment;
    auto again = agentIn(a, {"run", "--once"});
    ASSERT_EQ(again.exit_code, 0) << again.err;
    said = said || (again.out + again.err).find("(restored from a backup?); re-sending") !=
                       std::string::npos;
    EXPECT_EQ((again.out + again.err).find("cannot be re-sent"), std::string::npos)
        << again.out << again.err;
  }
  EXPECT_TRUE(said) << "an agent says what it re-sends";

  // Every acknowledged report is in the restored server, each once.
  std::set<std::string> now = storedReportIds(target, db_b_);
  size_t missing = 0;
  for (const auto& id : acknowledged) missing += now.count(id) == 0 ? 1 : 0;
  EXPECT_EQ(missing, 0u) << "of " << acknowledged.size() << " acknowledged by the old server";
  EXPECT_EQ(now.size(),
            acknowledged.size() + kAgents);  // and one new report per agent
  // Each device: no sequence missing (reports_missing 0), its latest is its newest report.
  std::string admin = second->address("admin");
  json::Value list = adminGet(target, admin, "/api/v1/devices?limit=100");
  int checked = 0;
  for (const auto& d : list.find("devices")->asArray()) {
    std::string id = d.find("device_id")->asString();
    json::Value one = adminGet(target, admin, "/api/v1/devices/" + id);
    const json::Value* m = one.find("reports_missing");
    ASSERT_TRUE(m != nullptr && m->isInt()) << json::write(one);
    EXPECT_EQ(m->asInt(), 0) << json::write(one);
    ++checked;
  }
  EXPECT_EQ(checked, kAgents);
  auto check = RunProcess(withDb({kServer, "check-db", "--state-dir", target}, db_b_));
  EXPECT_EQ(check.out, "ok\n") << check.err;
}

TEST_P(BackupRestoreTest, TamperedBackupIsRefusedAndNothingIsWritten) {
  std::string out = dir_.path() + "/server.hbk";
  auto backup = RunProcess(withDb(
      {kServer, "backup", "--state-dir", state_, "--out", out, "--passphrase-file", pass_}, db_a_));
  ASSERT_EQ(backup.exit_code, 0) << backup.err;
  std::string data = ReadFile(out);
  data[data.size() / 2] = static_cast<char>(data[data.size() / 2] ^ 0x20);
  std::string bad = dir_.write("bad.hbk", data);
  std::string target = dir_.path() + "/restored";
  auto r = RunProcess(withDb(
      {kServer, "restore", "--in", bad, "--state-dir", target, "--passphrase-file", pass_}, db_b_));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("damaged"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("nothing was written"), std::string::npos) << r.err;
  EXPECT_EQ(::access(target.c_str(), F_OK), -1);

  std::string empty = dir_.write("empty-pass", "");
  auto e = RunProcess(withDb(
      {kServer, "backup", "--state-dir", state_, "--out", out + "2", "--passphrase-file", empty},
      db_a_));
  EXPECT_EQ(e.exit_code, 2);
  EXPECT_NE(e.err.find("empty"), std::string::npos) << e.err;
  EXPECT_EQ(::access((out + "2").c_str(), F_OK), -1);
}

TEST_P(BackupRestoreTest, PruneCommandListsAndDeletesARetiredDevice) {
  std::string id = retireOne();
  ASSERT_FALSE(id.empty());
  // Retired just now: a 30-day window keeps it.
  auto keep = RunProcess(withDb({kServer, "prune", "--state-dir", state_, "--dry-run"}, db_a_));
  ASSERT_EQ(keep.exit_code, 0) << keep.err;
  EXPECT_NE(keep.out.find("would delete 0 device(s)"), std::string::npos) << keep.out;
  backdateRetirement();
  auto dry = RunProcess(withDb({kServer, "prune", "--state-dir", state_, "--dry-run"}, db_a_));
  ASSERT_EQ(dry.exit_code, 0) << dry.err;
  EXPECT_NE(dry.out.find("would delete 1 device(s)"), std::string::npos) << dry.out;
  EXPECT_NE(dry.out.find(id), std::string::npos) << dry.out;
  EXPECT_EQ(storedReportIds(state_, db_a_).size(), 1u);  // a dry run deletes nothing
  auto done = RunProcess(withDb({kServer, "prune", "--state-dir", state_}, db_a_));
  ASSERT_EQ(done.exit_code, 0) << done.err;
  EXPECT_NE(done.out.find("deleted 1 device(s)"), std::string::npos) << done.out;
  EXPECT_TRUE(storedReportIds(state_, db_a_).empty());
  auto bad =
      RunProcess(withDb({kServer, "prune", "--state-dir", state_, "--retention-days", "0"}, db_a_));
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("--retention-days"), std::string::npos) << bad.err;
}

TEST_P(BackupRestoreTest, ServeAppliesRetentionWhenItStarts) {
  std::string id = retireOne();
  ASSERT_FALSE(id.empty());
  backdateRetirement();
  auto server = serve(state_, db_a_, "server-c.log");
  ASSERT_TRUE(server->started());
  PollUntil(
      [&] {
        return ReadFile(dir_.path() + "/server-c.log").find("retention: deleted") !=
               std::string::npos;
      },
      std::chrono::seconds(20), std::chrono::milliseconds(50));
  EXPECT_NE(ReadFile(dir_.path() + "/server-c.log").find("1 retired device(s)"), std::string::npos)
      << ReadFile(dir_.path() + "/server-c.log");
  EXPECT_TRUE(storedReportIds(state_, db_a_).empty());
  json::Value list = adminGet(state_, server->address("admin"), "/api/v1/feed");
  for (const auto& e : list.find("events")->asArray()) {
    EXPECT_NE(e.find("device_id")->asString(), id) << "an event of the deleted device is left";
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, BackupRestoreTest, ::testing::Values("sqlite", "postgresql"));

}  // namespace
}  // namespace hearth
