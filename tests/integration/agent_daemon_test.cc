// `hearth-agent run` (the daemon) against a real hearth-server on loopback: it reports at start,
// stops within a second on SIGTERM, reloads on SIGHUP (and survives a broken file), checks on
// SIGUSR1, rides out a server outage (backoff, then delivery exactly once), picks up a policy
// update, stops reporting when retired, runs its uploader unprivileged, and (as root, inside a
// network namespace of its own) re-runs the vpn check when the network changes.
#include <algorithm>
#include <chrono>
#include <dirent.h>
#include <fcntl.h>
#include <fstream>
#include <functional>
#include <random>
#include <signal.h>
#include <sstream>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include <gtest/gtest.h>

#include "hearth/json.h"
#include "support/curl_cli.h"
#include "support/files.h"
#include "support/programs.h"
#include "support/server_process.h"
#include "support/temp_dir.h"

namespace hearth {
namespace {

using namespace std::chrono_literals;
using testing::RunProcess;

const std::string kServer = hearth::testing::ServerProgram();
const std::string kAgent = hearth::testing::AgentProgram();

using testing::PollUntil;
using testing::ReadFile;

constexpr const char* kPolicy =
    R"({"level":"standard","version":1,"checks":{"disk_encryption":{"required":true},)"
    R"("vpn":{"required":true,"company_addresses":["10.20.0.1"]}}})";

// The daemon under test: argv run with stderr to a file, waited for with waitpid.
class Daemon {
 public:
  Daemon(std::vector<std::string> argv, std::string log) : log_(std::move(log)) {
    const pid_t parent = ::getpid();
    pid_ = ::fork();
    if (pid_ == 0) {
      hearth::testing::KillWhenParentDies(parent);
      int fd = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      ::dup2(fd, 2);
      ::dup2(fd, 1);
      std::vector<char*> args;
      for (auto& a : argv) args.push_back(a.data());
      args.push_back(nullptr);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
  }
  ~Daemon() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  pid_t pid() const { return pid_; }
  std::string log() const { return ReadFile(log_); }
  // Waits until the log contains `text` `count` times.
  bool waitFor(const std::string& text, std::chrono::milliseconds timeout = 20s, int count = 1) {
    return PollUntil(
        [&] {
          std::string l = log();
          int n = 0;
          for (size_t at = l.find(text); at != std::string::npos; at = l.find(text, at + 1)) ++n;
          return n >= count;
        },
        timeout, 50ms);
  }
  void signal(int sig) { ::kill(pid_, sig); }
  // SIGTERM; returns how long until it exited, and its exit status.
  std::pair<std::chrono::milliseconds, int> terminate() {
    auto start = std::chrono::steady_clock::now();
    ::kill(pid_, SIGTERM);
    int status = 0;
    for (int i = 0; i < 500; ++i) {
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return {std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::steady_clock::now() - start),
                WIFEXITED(status) ? WEXITSTATUS(status) : -1};
      }
      std::this_thread::sleep_for(2ms);
    }
    return {10s, -1};
  }

 private:
  pid_t pid_ = -1;
  std::string log_;
};

// Children of `parent` by /proc/*/stat: pid → comm.
std::vector<std::pair<pid_t, std::string>> childrenOf(pid_t parent) {
  std::vector<std::pair<pid_t, std::string>> out;
  DIR* d = ::opendir("/proc");
  while (dirent* e = ::readdir(d)) {
    pid_t pid = static_cast<pid_t>(std::atoi(e->d_name));
    if (pid <= 0) continue;
    std::string stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
    size_t close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::string comm = stat.substr(stat.find('(') + 1, close - stat.find('(') - 1);
    std::istringstream rest(stat.substr(close + 2));
    std::string state;
    pid_t ppid = 0;
    rest >> state >> ppid;
    if (ppid == parent) out.emplace_back(pid, comm);
  }
  ::closedir(d);
  return out;
}

class AgentDaemonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    state_ = dir_.path() + "/server";
    agent_ = dir_.path() + "/agent";
    std::string policy = dir_.write("policy.json", kPolicy);
    server_ = std::make_unique<testing::TestServer>(state_);
    auto init = server_->init({"--policy", policy});
    ASSERT_EQ(init.exit_code, 0) << init.err;
    startServer("127.0.0.1:0");
    config_ = dir_.write("agent.conf", baseConfig());
    auto e = RunProcess({kAgent, "enroll", "--server", "https://" + devices_, "--secret-file",
                         state_ + "/enroll-secret", "--ca-file", state_ + "/ca.pem", "--state-dir",
                         agent_, "--config", config_});
    ASSERT_EQ(e.exit_code, 0) << e.err;
    device_id_ = json::parse(ReadFile(agent_ + "/enrollment.json"))->find("device_id")->asString();
  }

  void startServer(const std::string& listen) {
    ASSERT_TRUE(server_->serve(dir_.path() + "/server.log", {.listen = listen}))
        << ReadFile(dir_.path() + "/server.log");
    devices_ = server_->address("devices");
    admin_ = server_->address("admin");
  }

  std::string baseConfig() {
    return "proxy = none\ninterval = 1h\nlog_level = debug\nnetwork_debounce = "
           "1s\n"
           "notify = false\ncontrol_socket = " +
           dir_.path() + "/agent.sock\n";
  }

  std::unique_ptr<Daemon> startDaemon() {
    return std::make_unique<Daemon>(
        std::vector<std::string>{kAgent, "run", "--state-dir", agent_, "--config", config_},
        dir_.path() + "/agent.log");
  }

  json::Value admin(const std::string& path, std::vector<std::string> extra = {}) {
    return testing::CurlAdminJson(admin_, state_ + "/ca.pem", server_->adminToken(), path, extra);
  }

  std::vector<int64_t> storedSequences() {
    std::vector<int64_t> seqs;
    // (limit: the kill -9 test stores more than the default 100)
    json::Value h = admin("/api/v1/devices/" + device_id_ + "/history?limit=1000");
    if (const json::Value* r = h.find("reports"); r != nullptr && r->isArray()) {
      for (const auto& rep : r->asArray()) seqs.push_back(rep.find("sequence")->asInt());
    }
    return seqs;
  }

  json::Value status() {
    auto v = json::parse(ReadFile(agent_ + "/status.json"));
    return v.ok() ? std::move(v).value() : json::Value::object();
  }
  // status.json once `pred` holds (it is written just after the log line a test waits for).
  json::Value statusWhen(const std::function<bool(const json::Value&)>& pred) {
    json::Value s;
    PollUntil(
        [&] {
          s = status();
          return pred(s);
        },
        5s, 50ms);
    return s;
  }
  static std::function<bool(const json::Value&)> depthIs(int64_t n) {
    return [n](const json::Value& s) {
      const json::Value* d = s.find("spool_depth");
      return d != nullptr && d->isInt() && d->asInt() == n;
    };
  }

  testing::TempDir dir_;
  std::string state_, agent_, devices_, admin_, config_, device_id_;
  std::unique_ptr<testing::TestServer> server_;
};

TEST_F(AgentDaemonTest, ReportsAtStartAndStopsWithinASecond) {
  auto d = startDaemon();
  ASSERT_TRUE(d->waitFor("delivered 1 report(s)")) << d->log();
  EXPECT_EQ(storedSequences(), std::vector<int64_t>{1});
  json::Value s = statusWhen([](const json::Value& v) { return v.find("next_check") != nullptr; });
  EXPECT_EQ(s.find("spool_depth")->asInt(), 0);
  EXPECT_TRUE(s.find("next_check")->isString());
  EXPECT_TRUE(s.find("last_delivery")->isString());
  EXPECT_NE(ReadFile(agent_ + "/last-report.json").find("\"sequence\":1"), std::string::npos)
      << "show-report's copy is the delivered envelope";
  // Between cycles nothing that talks to the network exists: the uploader (which runs as an
  // unprivileged account, see UploaderTest) is started per cycle and ends with it.
  bool uploader_gone = PollUntil(
      [&] {
        for (const auto& [pid, comm] : childrenOf(d->pid())) {
          if (comm == "hearth-upload" || comm == "hearth-check") return false;
        }
        return true;
      },
      2s, 20ms);
  EXPECT_TRUE(uploader_gone) << "an uploader or check process outlived the cycle";
  // The daemon itself never maps OpenSSL (about 3.6 MiB of its memory) or libcurl: the uploader, a
  // separate program (hearth-upload), links them (docs/agent-daemon.md "Memory").
  std::string maps = ReadFile("/proc/" + std::to_string(d->pid()) + "/maps");
  ASSERT_FALSE(maps.empty());
  EXPECT_EQ(maps.find("libcrypto"), std::string::npos) << "the daemon mapped libcrypto";
  EXPECT_EQ(maps.find("libssl"), std::string::npos) << "the daemon mapped libssl";
  EXPECT_EQ(maps.find("libcurl"), std::string::npos) << "the daemon loaded libcurl";
  // And the network side carries none of the checks (about 0.5 MiB of its memory): it verifies a
  // policy's signature and version, the root side parses the policy.
  std::string upload = ReadFile(hearth::testing::UploadProgram());
  ASSERT_FALSE(upload.empty());
  EXPECT_EQ(upload.find("disk_encryption"), std::string::npos) << "hearth-upload links the checks";
  auto [took, code] = d->terminate();
  EXPECT_EQ(code, 0);
  EXPECT_LT(took, 1000ms);
}

TEST_F(AgentDaemonTest, ReloadSurvivesABrokenFileAndSignalsTriggerChecks) {
  auto d = startDaemon();
  ASSERT_TRUE(d->waitFor("delivered 1 report(s)")) << d->log();
  dir_.write("agent.conf", "interval = 1h\nintervall = 5m\n");
  d->signal(SIGHUP);
  ASSERT_TRUE(d->waitFor("keeping the current configuration")) << d->log();
  EXPECT_NE(d->log().find("agent.conf:2: intervall: unknown key"), std::string::npos) << d->log();
  dir_.write("agent.conf", baseConfig());
  d->signal(SIGHUP);
  ASSERT_TRUE(d->waitFor("configuration reloaded")) << d->log();
  ASSERT_TRUE(d->waitFor("full check (reload)")) << d->log();
  d->signal(SIGUSR1);
  ASSERT_TRUE(d->waitFor("full check (requested)")) << d->log();
  EXPECT_EQ(d->terminate().second, 0);
  // Nothing changed between the checks: one report, not one per check.
  EXPECT_EQ(storedSequences(), std::vector<int64_t>{1});
}

TEST_F(AgentDaemonTest, AnyLocalUserCanAskForACheckOnceAMinute) {
  auto d = startDaemon();
  ASSERT_TRUE(d->waitFor("delivered 1 report(s)")) << d->log();
  std::vector<std::string> asker = {kAgent, "check-now", "--config", config_};
  if (::geteuid() == 0) {
    // The person at the PC, not root: the socket is for them.
    ASSERT_EQ(::chmod(dir_.path().c_str(), 0755), 0);
    asker.insert(asker.begin(),
                 {"/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"});
  }
  auto first = RunProcess(asker);
  EXPECT_EQ(first.exit_code, 0) << first.out << first.err;
  EXPECT_NE(first.out.find("ok: checking now"), std::string::npos) << first.out;
  ASSERT_TRUE(d->waitFor("full check (requested)")) << d->log();
  EXPECT_NE(d->log().find(::geteuid() == 0 ? "check requested by uid 65534" : "check requested by"),
            std::string::npos)
      << d->log();
  auto second = RunProcess(asker);
  EXPECT_EQ(second.exit_code, 1);
  EXPECT_NE(second.out.find("try again in"), std::string::npos) << second.out;
  EXPECT_EQ(d->terminate().second, 0);
  struct stat st {};
  EXPECT_NE(::stat((dir_.path() + "/agent.sock").c_str(), &st), 0) << "socket removed at exit";
  auto none = RunProcess(asker);
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_NE(none.err.find("the agent is not running"), std::string::npos) << none.err;
}

TEST_F(AgentDaemonTest, ServerOutageIsRiddenOutAndEverythingArrivesOnce) {
  std::string listen = devices_;
  server_->stop();
  auto d = startDaemon();
  ASSERT_TRUE(d->waitFor("delivery failed (network")) << d->log();
  EXPECT_NE(d->log().find("next try in"), std::string::npos);
  EXPECT_EQ(statusWhen(depthIs(1)).find("spool_depth")->asInt(), 1);
  startServer(listen);
  d->signal(SIGUSR1);  // a person asks: try now rather than at the end of the backoff
  ASSERT_TRUE(d->waitFor("delivered 1 report(s); 0 waiting")) << d->log();
  EXPECT_EQ(storedSequences(), std::vector<int64_t>{1});
  json::Value after = statusWhen(depthIs(0));
  EXPECT_EQ(after.find("spool_depth")->asInt(), 0);
  EXPECT_TRUE(after.find("delivery_error")->isNull());
}

TEST_F(AgentDaemonTest, AFullSpoolDropsTheOldestAndTheServerIsToldHowMany) {
  dir_.write("agent.conf", baseConfig() + "spool_max_reports = 10\n");
  std::string listen = devices_;
  server_->stop();
  for (int i = 0; i < 13; ++i) {
    auto r = RunProcess({kAgent, "run", "--once", "--state-dir", agent_, "--config", config_});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  json::Value s = status();
  EXPECT_EQ(s.find("spool_depth")->asInt(), 10);
  EXPECT_EQ(s.find("spool_dropped")->asInt(), 3);
  startServer(listen);
  auto r = RunProcess({kAgent, "run", "--once", "--state-dir", agent_, "--config", config_});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // Report 14 made room by dropping report 4 (a 4th drop, told with the next report).
  EXPECT_NE(r.out.find("10 delivered; 0 waiting"), std::string::npos) << r.out << r.err;
  json::Value device = admin("/api/v1/devices/" + device_id_);
  ASSERT_NE(device.find("reports_dropped"), nullptr) << json::write(device);
  EXPECT_EQ(device.find("reports_dropped")->asInt(), 3);
  EXPECT_EQ(status().find("spool_dropped")->asInt(), 4);
  // The newest reports were kept: 5..14 arrived, in order, each once.
  std::vector<int64_t> seqs = storedSequences();
  ASSERT_EQ(seqs.size(), 10u);
  EXPECT_EQ(seqs.front(), 14);
  EXPECT_EQ(seqs.back(), 5);
}

// A spooled report that can never be read again (here: a directory in its place; on a PC, a bad
// sector) must not block every report behind it for ever: it is moved aside and the rest go.
TEST_F(AgentDaemonTest, AnUnreadableSpooledReportIsMovedAsideAndTheRestAreDelivered) {
  std::string listen = devices_;
  server_->stop();
  for (int i = 0; i < 3; ++i) {
    auto r = RunProcess({kAgent, "run", "--once", "--state-dir", agent_, "--config", config_});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  const std::string two = agent_ + "/spool/00000000000000000002.json";
  ASSERT_EQ(::unlink(two.c_str()), 0);
  ASSERT_EQ(::mkdir(two.c_str(), 0700), 0);
  startServer(listen);
  auto r = RunProcess({kAgent, "run", "--once", "--state-dir", agent_, "--config", config_});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("report 2 in the spool cannot be read"), std::string::npos) << r.err;
  EXPECT_EQ(storedSequences(), (std::vector<int64_t>{4, 3, 1}));
  struct stat st {};
  EXPECT_EQ(::stat((agent_ + "/rejected/2.unreadable").c_str(), &st), 0) << "kept for IT";
  EXPECT_EQ(status().find("spool_depth")->asInt(), 0);
}

// Acceptance: kill -9 of the agent during delivery loses nothing and duplicates nothing.
TEST_F(AgentDaemonTest, KillNineDuringDeliveryLosesAndDuplicatesNothing) {
  std::string listen = devices_;
  server_->stop();
  constexpr int kReports = 60;
  for (int i = 0; i < kReports; ++i) {
    auto r = RunProcess({kAgent, "run", "--once", "--state-dir", agent_, "--config", config_});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  startServer(listen);
  std::mt19937 rng(12345);
  int kills = 0;
  // (status.json is not rewritten by a killed run: count the spool itself.)
  auto spooled = [&] {
    size_t n = 0;
    if (DIR* d = ::opendir((agent_ + "/spool").c_str())) {
      while (dirent* e = ::readdir(d)) {
        std::string name = e->d_name;
        n += name.size() == 25 && name.find(".json") == 20;
      }
      ::closedir(d);
    }
    return n;
  };
  for (int round = 0; round < 60; ++round) {
    size_t left = spooled();
    if (left == 0) break;
    // A delivery run, killed at a random moment: one run in four some milliseconds after its
    // start (before or during the uploads), the others some milliseconds after its first
    // delivery emptied a place in the spool (during the uploads). Counting from that moment,
    // not from the start, keeps the kills inside the uploads however long the start takes (on a
    // busy machine or under ASan the whole window used to pass before the first upload).
    Daemon once({kAgent, "run", "--once", "--state-dir", agent_, "--config", config_},
                dir_.path() + "/once.log");
    if (rng() % 4 != 0) {
      size_t peak = left;  // the run spools its own report first
      PollUntil(
          [&] {
            siginfo_t ended{};  // exited already (left for the waitpid below to reap)
            ::waitid(P_PID, static_cast<id_t>(once.pid()), &ended, WEXITED | WNOHANG | WNOWAIT);
            size_t now = spooled();
            peak = std::max(peak, now);
            return now < peak || ended.si_pid != 0;
          },
          30s, 1ms);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5 + rng() % 60));
    if (::waitpid(once.pid(), nullptr, WNOHANG) == 0) {  // still running: kill it mid-way
      ::kill(once.pid(), SIGKILL);
      ++kills;
    }
  }
  // Whatever is left goes in one clean run.
  auto last = RunProcess({kAgent, "run", "--once", "--state-dir", agent_, "--config", config_});
  ASSERT_EQ(last.exit_code, 0) << last.err;
  EXPECT_GT(kills, 3);
  std::vector<int64_t> seqs = storedSequences();
  std::sort(seqs.begin(), seqs.end());
  // Every report exactly once (the last clean run added one more, sequence kReports + k).
  ASSERT_GE(seqs.size(), static_cast<size_t>(kReports));
  for (size_t i = 0; i < seqs.size(); ++i) {
    EXPECT_EQ(seqs[i], static_cast<int64_t>(i + 1)) << "missing or duplicated around " << i + 1;
  }
  EXPECT_EQ(admin("/api/v1/devices/" + device_id_).find("reports_missing")->asInt(), 0);
  EXPECT_EQ(status().find("spool_depth")->asInt(), 0);
}

TEST_F(AgentDaemonTest, APolicyUpdateReachesTheAgent) {
  auto d = startDaemon();
  ASSERT_TRUE(d->waitFor("delivered 1 report(s)")) << d->log();
  std::string v2 =
      dir_.write("policy2.json",
                 R"({"level":"standard","version":2,"checks":{"disk_encryption":{"required":false,)"
                 R"("help_url":"https://help.example.dk/disk"}},)"
                 R"("description":{"en":"For home workers","da":"For hjemmearbejdere"},)"
                 R"("helpdesk":{"name":"IT support","phone":"70 20 30 40"}})");
  auto set = RunProcess({kServer, "policy", "set", "--state-dir", state_, "--file", v2});
  ASSERT_EQ(set.exit_code, 0) << set.err;
  d->signal(SIGUSR1);
  ASSERT_TRUE(d->waitFor("policy standard version 2 in force")) << d->log();
  ASSERT_TRUE(d->waitFor("delivered 1 report(s)", 20s, 2)) << d->log();  // a new verdict set
  EXPECT_EQ(statusWhen([](const json::Value& v) {
              const json::Value* p = v.find("policy_version");
              return p != nullptr && p->isInt() && p->asInt() == 2;
            })
                .find("policy_version")
                ->asInt(),
            2);
  EXPECT_EQ(storedSequences(), (std::vector<int64_t>{2, 1}));
  // Issue 16 item 3: the company's words travel in the signed policy the server validated and
  // serves; the person reads them in status; the report sent back does not carry them.
  json::Value st = status();
  const json::Value* help = st.find("help");
  ASSERT_NE(help, nullptr) << json::write(st);
  EXPECT_NE(json::write(*help).find("70 20 30 40"), std::string::npos) << json::write(*help);
  auto text = RunProcess({"/usr/bin/env", "LANG=C.UTF-8", kAgent, "status", "--state-dir", agent_,
                          "--config", config_});
  EXPECT_NE(text.out.find("About this level: For home workers\n"), std::string::npos) << text.out;
  std::string sent = ReadFile(agent_ + "/last-report.json");
  EXPECT_EQ(sent.find("70 20 30 40"), std::string::npos) << sent;
  EXPECT_EQ(sent.find("help.example.dk"), std::string::npos) << sent;
}

TEST_F(AgentDaemonTest, ARetiredDeviceStopsReportingUntilEnrolledAgain) {
  auto d = startDaemon();
  ASSERT_TRUE(d->waitFor("delivered 1 report(s)")) << d->log();
  admin("/api/v1/devices/" + device_id_ + "/retire", {"-X", "POST"});
  d->signal(SIGUSR1);
  ASSERT_TRUE(d->waitFor("says this PC is retired")) << d->log();
  ASSERT_TRUE(d->waitFor("full check (requested)")) << d->log();
  bool retired = PollUntil(
      [&] {
        json::Value st = status();  // find() points into it: keep it alive while reading
        const json::Value* r = st.find("retired");
        return r != nullptr && r->asBool();
      },
      5s, 50ms);
  EXPECT_TRUE(retired);
  auto st = RunProcess({kAgent, "status", "--state-dir", agent_, "--config", config_});
  EXPECT_NE(st.out.find("RETIRED"), std::string::npos) << st.out;
  EXPECT_EQ(storedSequences(), std::vector<int64_t>{1});

  // IT enrols it again: a new device id; the daemon picks it up at its next cycle.
  auto e = RunProcess({kAgent, "enroll", "--server", "https://" + devices_, "--secret-file",
                       state_ + "/enroll-secret", "--ca-file", state_ + "/ca.pem", "--state-dir",
                       agent_, "--config", config_});
  ASSERT_EQ(e.exit_code, 0) << e.err;
  std::string new_id =
      json::parse(ReadFile(agent_ + "/enrollment.json"))->find("device_id")->asString();
  EXPECT_NE(new_id, device_id_);
  d->signal(SIGUSR1);
  ASSERT_TRUE(d->waitFor("enrolled again after retirement")) << d->log();
  ASSERT_TRUE(d->waitFor("delivered 1 report(s)", 20s, 2)) << d->log();
  // status.json is written right after the delivery is logged.
  retired = !PollUntil([&] { return !status().find("retired")->asBool(); }, 5s, 50ms);
  EXPECT_FALSE(retired);
}

std::string ipBinary() {
  for (const char* p : {"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"}) {
    if (::access(p, X_OK) == 0) return p;
  }
  return "";
}

// A network namespace of the test's own, removed on destruction.
class Netns {
 public:
  Netns() : name_("hearthd" + std::to_string(::getpid())) {
    ok_ = RunProcess({ipBinary(), "netns", "add", name_}).exit_code == 0 &&
          RunProcess({ipBinary(), "-n", name_, "link", "set", "lo", "up"}).exit_code == 0;
  }
  ~Netns() { RunProcess({ipBinary(), "netns", "del", name_}); }
  bool ok() const { return ok_; }
  // argv run inside the namespace.
  std::vector<std::string> in(std::vector<std::string> argv) const {
    argv.insert(argv.begin(), {ipBinary(), "netns", "exec", name_});
    return argv;
  }
  testing::ProcessOutput ip(std::vector<std::string> args) const {
    args.insert(args.begin(), {ipBinary(), "-n", name_});
    return RunProcess(args);
  }

 private:
  std::string name_;
  bool ok_ = false;
};

// Netlink: a change of links/addresses/routes re-runs only the vpn check, once the network
// settled (debounce), and never the full set. Inside a namespace of its own, with the server too.
TEST(AgentDaemonNetworkTest, ANetworkChangeRerunsOnlyTheVpnCheck) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root: network namespaces";
  if (ipBinary().empty()) GTEST_SKIP() << "needs iproute2 (ip)";
  Netns ns;
  ASSERT_TRUE(ns.ok());
  testing::TempDir dir;
  std::string state = dir.path() + "/server", agent = dir.path() + "/agent";
  std::string policy = dir.write("policy.json", kPolicy);
  testing::TestServer server(state);
  ASSERT_EQ(server.init({"--policy", policy}).exit_code, 0);
  ASSERT_TRUE(server.serve(dir.path() + "/server.log", {.prefix = ns.in({})}))
      << ReadFile(dir.path() + "/server.log");
  std::string conf = dir.write("agent.conf",
                               "proxy = none\ninterval = 1h\nlog_level = debug\n"
                               "network_debounce = 1s\nnotify = false\ncontrol_socket = " +
                                   dir.path() + "/agent.sock\n");
  auto e = RunProcess(ns.in({kAgent, "enroll", "--server", "https://" + server.address("devices"),
                             "--secret-file", state + "/enroll-secret", "--ca-file",
                             state + "/ca.pem", "--state-dir", agent, "--config", conf}));
  ASSERT_EQ(e.exit_code, 0) << e.err;
  Daemon d(ns.in({kAgent, "run", "--state-dir", agent, "--config", conf}),
           dir.path() + "/agent.log");
  ASSERT_TRUE(d.waitFor("delivered 1 report(s)")) << d.log();
  // A burst of changes (a VPN coming up looks like this): one vpn check after they settle.
  auto start = std::chrono::steady_clock::now();
  ASSERT_EQ(ns.ip({"link", "add", "hv0", "type", "veth", "peer", "name", "hv1"}).exit_code, 0);
  ASSERT_EQ(ns.ip({"addr", "add", "10.20.0.2/24", "dev", "hv0"}).exit_code, 0);
  ASSERT_EQ(ns.ip({"link", "set", "hv0", "up"}).exit_code, 0);
  ASSERT_EQ(ns.ip({"link", "set", "hv1", "up"}).exit_code, 0);
  ASSERT_TRUE(d.waitFor("network changed: vpn check", 10s)) << d.log();
  EXPECT_GE(std::chrono::steady_clock::now() - start, 900ms) << "debounced";
  std::this_thread::sleep_for(1500ms);
  std::string log = d.log();
  size_t vpn_runs = 0;
  for (size_t at = log.find("network changed: vpn check"); at != std::string::npos;
       at = log.find("network changed: vpn check", at + 1)) {
    ++vpn_runs;
  }
  size_t changes = 0;
  for (size_t at = log.find("network changed; vpn check in"); at != std::string::npos;
       at = log.find("network changed; vpn check in", at + 1)) {
    ++changes;
  }
  // The burst is one vpn run; the kernel may add a late change on its own (IPv6 duplicate address
  // detection finishing on the new link), which is a second one, never one per event.
  EXPECT_GE(changes, 4u) << log;
  EXPECT_LE(vpn_runs, 2u) << log;
  EXPECT_EQ(log.find("full check (interval)"), std::string::npos) << log;
  // 10.20.0.1 is now on a plain veth link: the vpn verdict changed (no longer "no route"), so a
  // report with the new vpn result and the disk result of the last full run was sent.
  EXPECT_TRUE(d.waitFor("delivered 1 report(s)", 10s, 2)) << log;
  EXPECT_EQ(d.terminate().second, 0);
}

TEST(AgentDaemonCliTest, ABrokenConfigurationStopsTheStartWithExit2) {
  testing::TempDir dir;
  std::string conf = dir.write("agent.conf", "interval = soon\n");
  auto r = RunProcess({kAgent, "run", "--state-dir", dir.path(), "--config", conf});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("agent.conf:1: interval:"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace hearth
